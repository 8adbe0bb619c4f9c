package io.inctrl.serve.scoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The join of one request's batcher jobs: all values in order, or the first failure at once with the rest cancelled. */
class AllOrNothingTest {

    @Test
    void everyPartDone_givesTheValuesInPartOrder() throws Exception {
        CompletableFuture<String> a = new CompletableFuture<>();
        CompletableFuture<String> b = new CompletableFuture<>();
        CompletableFuture<List<String>> whole = AllOrNothing.of(List.of(a, b));
        b.complete("b");
        assertThat(whole).isNotDone();
        a.complete("a");
        assertThat(whole.get(1, TimeUnit.SECONDS)).containsExactly("a", "b");
    }

    @Test
    void theFirstFailure_failsTheWholeAtOnce_andCancelsThePartsStillPending() {
        CompletableFuture<String> done = CompletableFuture.completedFuture("a");
        CompletableFuture<String> failing = new CompletableFuture<>();
        CompletableFuture<String> pending = new CompletableFuture<>();
        CompletableFuture<List<String>> whole = AllOrNothing.of(List.of(done, failing, pending));
        IllegalStateException cause = new IllegalStateException("deadline");
        failing.completeExceptionally(cause);
        assertThat(whole).isCompletedExceptionally();
        assertThatThrownBy(() -> whole.get(1, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isSameAs(cause);
        assertThat(pending).isCancelled();
    }

    @Test
    void cancellingTheWhole_cancelsEveryPart() {
        CompletableFuture<String> a = new CompletableFuture<>();
        CompletableFuture<String> b = new CompletableFuture<>();
        CompletableFuture<List<String>> whole = AllOrNothing.of(List.of(a, b));
        whole.cancel(false);
        assertThat(a).isCancelled();
        assertThat(b).isCancelled();
        assertThatThrownBy(whole::join).isInstanceOf(CancellationException.class);
    }

    @Test
    void noParts_isAnEmptyList() {
        assertThat(AllOrNothing.of(List.<CompletableFuture<String>>of()).join()).isEmpty();
    }
}
