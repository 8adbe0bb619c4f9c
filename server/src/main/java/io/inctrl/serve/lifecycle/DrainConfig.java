package io.inctrl.serve.lifecycle;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** {@code inctrl.drain.*}: how a stopping replica finishes its work. */
@ConfigMapping(prefix = "inctrl.drain")
public interface DrainConfig {

    /**
     * Longest time a SIGTERM waits for in-flight calls and open ScoreStreams to be answered before the transports
     * close. Keep the pod's terminationGracePeriodSeconds above preStop + this.
     */
    @WithDefault("30s")
    Duration timeout();

    /** Hint sent with UNAVAILABLE while draining (grpc-retry-pushback-ms, HTTP Retry-After): retry elsewhere now. */
    @WithDefault("0ms")
    Duration retryAfter();
}
