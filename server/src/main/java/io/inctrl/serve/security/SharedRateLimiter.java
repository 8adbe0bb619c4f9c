package io.inctrl.serve.security;

import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.jdbc.PrimaryKeyMapper;
import io.github.bucket4j.postgresql.Bucket4jPostgreSQL;
import io.github.bucket4j.postgresql.PostgreSQLSelectForUpdateBasedProxyManager;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Buckets kept in the PostgreSQL registry database (Bucket4j, {@code SELECT … FOR UPDATE} per call), so every
 * replica draws on one bucket per tenant and N replicas admit a tenant's quota once, not N times.
 * <p>
 * Fails open: while the database cannot be reached, calls fall back to this replica's in-memory buckets (scoring
 * of cached prompt sets goes on) and only one call per {@code outageRetry} probes the database again. An outage
 * is logged once when it starts and once when it ends.
 */
public final class SharedRateLimiter implements TenantRateLimiter {

    private static final Logger LOG = Logger.getLogger(SharedRateLimiter.class);

    /** Table created by the PostgreSQL-only migration {@code db/postgresql/V1_1__rate_limit_buckets.sql}. */
    public static final String TABLE = "rate_limit_buckets";

    private static final long CLEANUP_INTERVAL_NANOS = Duration.ofMinutes(1).toNanos();

    private final PostgreSQLSelectForUpdateBasedProxyManager<String> buckets;
    private final LocalRateLimiter fallback = new LocalRateLimiter();
    private final long outageRetryNanos;

    private volatile boolean down;
    private volatile long retryAtNanos;
    private final AtomicBoolean probing = new AtomicBoolean();
    private final AtomicLong nextCleanupNanos = new AtomicLong(System.nanoTime() + CLEANUP_INTERVAL_NANOS);

    public SharedRateLimiter(DataSource dataSource, Duration outageRetry) {
        this.outageRetryNanos = outageRetry.toNanos();
        this.buckets = Bucket4jPostgreSQL.selectForUpdateBasedBuilder(dataSource)
                .primaryKeyMapper(PrimaryKeyMapper.STRING)
                .table(TABLE)
                // a row is worthless once its bucket would be full again: mark it expired then, cleanup deletes it
                .expirationAfterWrite(
                        ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ofSeconds(10)))
                .build();
    }

    @Override
    public java.time.Duration acquire(String tenantId, double requestsPerSecond) {
        boolean probe = false;
        if (down) {
            if (System.nanoTime() - retryAtNanos < 0 || !probing.compareAndSet(false, true)) {
                return fallback.acquire(tenantId, requestsPerSecond);
            }
            probe = true;
        }
        try {
            java.time.Duration admitted = RateLimits.waitOf(buckets.builder()
                    .build(RateLimits.key(tenantId, requestsPerSecond), () -> RateLimits.perSecond(requestsPerSecond))
                    .tryConsumeAndReturnRemaining(1));
            if (down) {
                back();
            }
            cleanupNowAndThen();
            return admitted;
        } catch (RuntimeException e) {
            lost(e);
            return fallback.acquire(tenantId, requestsPerSecond);
        } finally {
            if (probe) {
                probing.set(false);
            }
        }
    }

    /** True while calls fall back to the in-memory buckets. */
    public boolean failingOpen() {
        return down;
    }

    private synchronized void lost(RuntimeException e) {
        retryAtNanos = System.nanoTime() + outageRetryNanos;
        if (!down) {
            down = true;
            LOG.warnf(
                    "rate-limit store unreachable, failing open to per-replica buckets until it is back: %s",
                    e.getCause() != null ? e.getCause() : e);
        }
    }

    private synchronized void back() {
        if (down) {
            down = false;
            LOG.info("rate-limit store reachable again: tenant buckets are shared by the replicas again");
        }
    }

    private void cleanupNowAndThen() {
        long next = nextCleanupNanos.get();
        if (System.nanoTime() - next >= 0 && nextCleanupNanos.compareAndSet(next, next + CLEANUP_INTERVAL_NANOS)) {
            buckets.removeExpired(1000);
        }
    }
}
