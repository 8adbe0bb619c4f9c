package io.inctrl.serve.security;

import java.util.concurrent.ConcurrentHashMap;

/** Per-tenant token bucket (burst = one second's worth). In memory, so the limit applies per replica. */
public final class RateLimiter {

    private static final class Bucket {
        double tokens;
        long last;
    }

    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    /** Takes one token; false when the tenant is over its rate. */
    public boolean tryAcquire(String tenantId, double perSecond) {
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
                return true;
            }
            return false;
        }
    }

    public void forget(String tenantId) {
        buckets.remove(tenantId);
    }
}
