package io.inctrl.serve.scoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inctrl.serve.error.ServeException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The per-tenant decoded-pixel token bucket, on a hand-driven clock. */
class TenantPixelRateTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    @Test
    void overItsRate_aTenantGetsResourceExhaustedWithARetryHint_untilTheBucketRefills() {
        TenantPixelRate rate = new TenantPixelRate(1_000_000, 2_000_000, now::get);
        rate.charge("a", 1_500_000);
        assertThatThrownBy(() -> rate.charge("a", 1_000_000)).isInstanceOfSatisfying(ServeException.class, e -> {
            assertThat(e.code()).isEqualTo(ServeException.Code.RESOURCE_EXHAUSTED);
            assertThat(e.getMessage()).contains("1000000 pixels/s").contains("retry after 500 ms");
        });
        now.addAndGet(500_000_000L); // half a second refills 500 000 pixels
        rate.charge("a", 1_000_000);
    }

    @Test
    void tenantsHaveBucketsOfTheirOwn() {
        TenantPixelRate rate = new TenantPixelRate(1_000_000, 2_000_000, now::get);
        rate.charge("a", 2_000_000);
        rate.charge("b", 2_000_000);
        assertThatThrownBy(() -> rate.charge("a", 1)).isInstanceOf(ServeException.class);
    }

    @Test
    void aZeroRateTurnsTheLimitOff() {
        TenantPixelRate rate = new TenantPixelRate(0, 0, now::get);
        for (int i = 0; i < 100; i++) {
            rate.charge("a", 64_000_000);
        }
    }
}
