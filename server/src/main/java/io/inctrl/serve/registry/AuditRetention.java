package io.inctrl.serve.registry;

import io.inctrl.serve.audit.AuditConfig;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import org.jboss.logging.Logger;

/** Deletes audit entries older than {@code inctrl.audit.retention}, every {@code inctrl.audit.purge-interval}. */
@ApplicationScoped
public class AuditRetention {

    private static final Logger LOG = Logger.getLogger(AuditRetention.class);

    @Inject
    AuditTrail trail;

    @Inject
    AuditConfig config;

    /** Blocking store work: Quarkus runs non-reactive scheduled methods on a worker thread. */
    @Scheduled(
            identity = "audit-retention",
            every = "${inctrl.audit.purge-interval:1h}",
            delayed = "1m",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void scheduledPurge() {
        try {
            purge(Instant.now());
        } catch (RuntimeException e) { // a store outage: the next run catches up
            LOG.warnf("audit retention purge failed: %s", e.getMessage());
        }
    }

    /** Purges as of {@code now}; returns how many entries were deleted. */
    public int purge(Instant now) {
        return trail.purge(now, config.retention());
    }
}
