package io.inctrl.serve.security;

/**
 * Per-tenant request rate: a token bucket of {@code requestsPerSecond} with a burst of one second's worth.
 * Implementations are plain blocking calls (the shared one does a database round trip): call them off the
 * Vert.x event loop.
 */
public interface TenantRateLimiter {

    /** Takes one request from the tenant's bucket; false when the tenant is over its rate. */
    boolean tryAcquire(String tenantId, double requestsPerSecond);
}
