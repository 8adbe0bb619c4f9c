package io.inctrl.serve.security;

import io.github.bucket4j.Bucket;
import java.util.concurrent.ConcurrentHashMap;

/**
 * In-memory buckets (Bucket4j local). Each replica counts on its own, so N replicas admit N quotas: the limiter
 * for the embedded single-node store, and the fallback of {@link SharedRateLimiter} while its database is away.
 */
public final class LocalRateLimiter implements TenantRateLimiter {

    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    @Override
    public java.time.Duration acquire(String tenantId, double requestsPerSecond) {
        String key = RateLimits.key(tenantId, requestsPerSecond);
        Bucket bucket = buckets.get(key);
        if (bucket == null) {
            // a quota change gives a new key: drop the tenant's buckets of other rates so they do not pile up
            buckets.keySet().removeIf(other -> other.startsWith(tenantId + "@") && !other.equals(key));
            bucket = buckets.computeIfAbsent(
                    key,
                    k -> Bucket.builder()
                            .addLimit(RateLimits.perSecond(requestsPerSecond).getBandwidths()[0])
                            .build());
        }
        return RateLimits.waitOf(bucket.tryConsumeAndReturnRemaining(1));
    }
}
