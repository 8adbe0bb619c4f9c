package io.inctrl.serve.security;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** {@code inctrl.rate-limit.*}: where tenants' request-rate buckets live. */
@ConfigMapping(prefix = "inctrl.rate-limit")
public interface RateLimitConfig {

    /**
     * {@code auto}: shared through PostgreSQL when the {@code pg} datasource is active, else in memory;
     * {@code local}: in memory on each replica (each admits the full quota); {@code shared}: PostgreSQL, required.
     */
    @WithDefault("auto")
    Store store();

    /** During a database outage, how long calls use the in-memory fallback before one call tries the database. */
    @WithDefault("5s")
    Duration outageRetry();

    enum Store {
        AUTO,
        LOCAL,
        SHARED
    }
}
