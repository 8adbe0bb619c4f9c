package io.inctrl.serve.audit;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** {@code inctrl.audit.*}: how long entries are kept, and how often older ones are purged. */
@ConfigMapping(prefix = "inctrl.audit")
public interface AuditConfig {

    /** Entries older than this are deleted by the periodic purge (e.g. 90d, 720h). */
    @WithDefault("90d")
    Duration retention();

    /**
     * How often the purge runs ({@code @Scheduled} every-expression, e.g. 1h; {@code off} disables it). Each replica
     * purges; the delete is idempotent.
     */
    @WithDefault("1h")
    String purgeInterval();
}
