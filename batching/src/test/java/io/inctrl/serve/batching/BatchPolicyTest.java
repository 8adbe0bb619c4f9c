package io.inctrl.serve.batching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class BatchPolicyTest {

    private static final Duration D = Duration.ofMillis(5);

    @Test
    void preferredSizes_areSortedAndDeduplicated() {
        BatchPolicy p = new BatchPolicy(8, D, List.of(8, 2, 4, 2), 100, 10);
        assertThat(p.preferredBatchSizes()).containsExactly(2, 4, 8);
        assertThat(p.largestPreferredAtMost(7)).isEqualTo(4);
        assertThat(p.largestPreferredAtMost(1)).isZero();
    }

    @Test
    void invalidValues_areRefusedWithTheFieldName() {
        assertThatThrownBy(() -> new BatchPolicy(0, D, List.of(), 100, 10))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxBatchSize");
        assertThatThrownBy(() -> new BatchPolicy(8, Duration.ofMillis(-1), List.of(), 100, 10))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxQueueDelay");
        assertThatThrownBy(() -> new BatchPolicy(8, null, List.of(), 100, 10))
                .isInstanceOf(NullPointerException.class)
                .hasMessageContaining("maxQueueDelay");
        assertThatThrownBy(() -> new BatchPolicy(8, D, List.of(9), 100, 10))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("preferred batch size");
        assertThatThrownBy(() -> new BatchPolicy(8, D, List.of(), 0, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxQueueSize");
        assertThatThrownBy(() -> new BatchPolicy(8, D, List.of(), 100, 101))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxQueuedPerTenant");
    }

    @Test
    void defaults_matchTheTuningStartingPoint() {
        BatchPolicy p = BatchPolicy.defaults();
        assertThat(p.maxBatchSize()).isEqualTo(8);
        assertThat(p.maxQueueDelay()).isEqualTo(Duration.ofMillis(5));
        assertThat(p.preferredBatchSizes()).isEmpty();
    }
}
