package io.inctrl.serve.security;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/** Per-tenant token bucket (burst = one second's worth). In memory, so the limit applies per replica. */
public final class RateLimiter {

    private static final class Bucket {
        double tokens;
        long last;
    }

    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    /**
     * Takes one token.
     *
     * @return {@link Duration#ZERO} when taken, else how long until the tenant's next token (the retry hint)
     */
    public Duration acquire(String tenantId, double perSecond) {
        Bucket b = buckets.computeIfAbsent(tenantId, k -> {
            Bucket nb = new Bucket();
            nb.tokens = Math.max(1, perSecond);
            nb.last = System.nanoTime();
            return nb;
        });
        synchronized (b) {
            long now = System.nanoTime();
            double burst = Math.max(1, perSecond);
            b.tokens = Math.min(burst, b.tokens + (now - b.last) / 1e9 * perSecond);
            b.last = now;
            if (b.tokens >= 1) {
                b.tokens -= 1;
                return Duration.ZERO;
            }
            double seconds = (1 - b.tokens) / perSecond;
            // never ZERO (that means "taken"): a rate the bucket cannot compute with still refuses, hinting 1 s
            return Double.isFinite(seconds) && seconds > 0
                    ? Duration.ofNanos(Math.max(1, (long) Math.ceil(seconds * 1e9))) : Duration.ofSeconds(1);
        }
    }

    public void forget(String tenantId) {
        buckets.remove(tenantId);
    }
}
