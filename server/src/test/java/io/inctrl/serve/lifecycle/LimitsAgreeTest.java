package io.inctrl.serve.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inctrl.serve.config.InctrlConfig;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 20 item 5: with the documented limits a tiles-mode request submitted up to 1,056 jobs against a per-tenant
 * queue bound of 256, and failed with QUEUE_FULL forever. The defaults must agree, and a configuration that does not
 * is refused at start.
 */
class LimitsAgreeTest {

    private static InctrlConfig config(Map<String, String> overrides) {
        SmallRyeConfig c = new SmallRyeConfigBuilder()
                .withMapping(InctrlConfig.class)
                // Quarkus' duration syntax ("5ms") for the batching delay
                .withConverter(java.time.Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withDefaultValues(overrides)
                .build();
        return c.getConfigMapping(InctrlConfig.class);
    }

    @Test
    void the_largest_tiles_request_of_the_default_limits_fits_the_default_queue_bound() {
        InctrlConfig defaults = config(Map.of());
        // S = 240 (InCTRL bundles, the tiny test bundle): 33 images x 32 tiles; S = 299 (the default bundle): the
        // pixel budget allows fewer tiles
        assertThat(LimitsAgree.worstCaseJobs(32, 32, 64_000_000, 240)).isEqualTo(1056);
        assertThat(LimitsAgree.worstCaseJobs(32, 32, 64_000_000, 299)).isEqualTo(715);
        assertThat(defaults.batching().maxQueuedPerTenant()).isGreaterThanOrEqualTo(1056);
        assertThatCode(() -> LimitsAgree.check(defaults, 240)).doesNotThrowAnyException();
        assertThatCode(() -> LimitsAgree.check(defaults, 299)).doesNotThrowAnyException();
    }

    @Test
    void a_configuration_where_one_request_exceeds_the_queue_bound_is_refused_naming_the_keys() {
        InctrlConfig old = config(
                Map.of("inctrl.batching.max-queued-per-tenant", "256", "inctrl.batching.max-queue-size", "1024"));
        assertThatThrownBy(() -> LimitsAgree.check(old, 240))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("1056")
                .hasMessageContaining("inctrl.batching.max-queued-per-tenant is 256")
                .hasMessageContaining("inctrl.inspection.max-tiles");
        // lowering the tile limit instead makes the same queue bound consistent: 33 x 7 = 231 jobs
        assertThatCode(() -> LimitsAgree.check(
                        config(Map.of(
                                "inctrl.batching.max-queued-per-tenant", "256",
                                "inctrl.batching.max-queue-size", "1024",
                                "inctrl.inspection.max-tiles", "7")),
                        240))
                .doesNotThrowAnyException();
    }

    @Test
    void without_tiles_a_request_is_one_job_per_image() {
        assertThat(LimitsAgree.worstCaseJobs(32, 1, 64_000_000, 240)).isEqualTo(33);
        assertThat(LimitsAgree.worstCaseJobs(32, 32, 1_000, 240)).isEqualTo(33);
    }
}
