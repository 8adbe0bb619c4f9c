package io.inctrl.serve.security;

/**
 * Per-tenant request rate: a token bucket of {@code requestsPerSecond} with a burst of one second's worth.
 * Implementations are plain blocking calls (the shared one does a database round trip): call them off the
 * Vert.x event loop.
 */
public interface TenantRateLimiter {

    /** Takes one request from the tenant's bucket: zero when admitted, else how long until one would be. */
    java.time.Duration acquire(String tenantId, double requestsPerSecond);

    /** {@link #acquire} as a yes/no. */
    default boolean tryAcquire(String tenantId, double requestsPerSecond) {
        return acquire(tenantId, requestsPerSecond).isZero();
    }
}
