package io.inctrl.serve.security;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.registry.ApiKeyInfo;
import io.inctrl.serve.registry.Store;
import io.inctrl.serve.registry.Tenant;
import io.inctrl.serve.registry.TenantRepository;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Turns a presented key into a {@link Caller} and applies the tenant's request rate. Shared by the gRPC
 * interceptor and the REST filter so both transports behave identically.
 */
@ApplicationScoped
public class Authenticator {

    private static final Logger LOG = Logger.getLogger(Authenticator.class);

    @Inject
    SecurityConfig config;

    @Inject
    Store store;

    @Inject
    TenantRepository tenants;

    @Inject
    io.inctrl.serve.registry.RegistryConfig registryConfig;

    @Inject
    TenantRateLimiter rateLimiter;

    /** A key's (or a token-named tenant's) lookup: keyId is null for token sign-ins. */
    private record Found(Tenant tenant, String keyId) {}

    private record Cached(Found found, long readAtNanos, long expiresAtNanos) {}

    /** key hash -> tenant and key id; short-lived so revocations on other replicas take effect within key-cache-seconds. */
    private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();

    void onStart(@Observes StartupEvent e) {
        if (!config.enabled()) {
            LOG.warn("inctrl.security.enabled=false: every call acts as tenant 'default' without authentication");
        } else if (config.adminKey().isEmpty()) {
            LOG.warn("inctrl.security.admin-key is not set: tenant management is unavailable");
        }
    }

    /**
     * @param key the presented X-API-Key / x-api-key value, may be null
     * @throws ServeException UNAUTHENTICATED (missing/invalid key) or RESOURCE_EXHAUSTED (rate, with a retry hint)
     */
    public Caller authenticate(String key) {
        if (!config.enabled()) {
            return Caller.anonymous(TenantService.DEFAULT_TENANT_ID);
        }
        if (key == null || key.isBlank()) {
            throw unauthenticated(
                    Reason.MISSING_API_KEY, "missing API key: send it in the x-api-key metadata / X-API-Key header");
        }
        Optional<String> admin = config.adminKey().filter(a -> !a.isEmpty());
        if (admin.isPresent() && ApiKeys.matches(key, admin.get())) {
            return Caller.ADMIN;
        }
        String hash = ApiKeys.hash(key);
        Found found = lookup(hash, conn -> {
            Optional<ApiKeyInfo> k = tenants.activeKey(conn, hash);
            if (k.isEmpty()) {
                return null;
            }
            Tenant t = tenants.find(conn, k.get().tenantId()).orElse(null);
            return t == null ? null : new Found(t, k.get().id());
        });
        if (found == null) {
            throw unauthenticated(Reason.INVALID_API_KEY, "invalid or revoked API key");
        }
        return admit(found.tenant(), found.keyId());
    }

    /**
     * A tenant named by a verified sign-in token (OIDC) rather than a key: the tenant must exist, and its request rate
     * applies as for its keys.
     *
     * @throws ServeException PERMISSION_DENIED (no such tenant) or RESOURCE_EXHAUSTED (rate, with a retry hint)
     */
    public Caller tenant(String tenantId) {
        Found found = lookup(
                "tenant:" + tenantId,
                conn -> tenants.find(conn, tenantId)
                        .map(t -> new Found(t, null))
                        .orElse(null));
        if (found == null) {
            throw new ServeException(Reason.UNKNOWN_TENANT, "the sign-in token names a tenant that does not exist");
        }
        return admit(found.tenant(), null);
    }

    private Caller admit(Tenant t, String keyId) {
        double rate = t.quotas().requestsPerSecond();
        if (!(rate > 0) || Double.isInfinite(rate)) {
            // only an older version could store this (input is validated now): refuse until an admin sets a quota
            throw new ServeException(
                    Reason.QUOTA_MISCONFIGURED,
                    "the tenant's stored request-rate quota is invalid (" + rate
                            + "); an administrator must set it again");
        }
        java.time.Duration wait = rateLimiter.acquire(t.id(), rate);
        if (!wait.isZero()) {
            throw ServeException.retryLater(
                    Reason.RATE_LIMITED, "request rate above the tenant's quota of " + rate + " requests/s", wait);
        }
        return Caller.tenant(t.id(), keyId);
    }

    /** Drops cached key lookups (after revocation, rotation, quota change, tenant deletion). */
    public void forgetAll() {
        cache.clear();
    }

    /**
     * After a quota change cached lookups carry the old quotas: drop them. The rate limiter needs no reset: its
     * buckets are keyed by tenant and rate, so a new rate starts a fresh bucket (also after a NaN stored by an older
     * version).
     */
    public void quotasChanged(String tenantId) {
        forgetAll();
    }

    /** @param cacheKey a key hash, or {@code tenant:<id>} for token sign-ins (hashes never contain ':') */
    private Found lookup(String cacheKey, Store.Work<Found> query) {
        long now = System.nanoTime();
        Cached c = cache.get(cacheKey);
        if (c != null && c.expiresAtNanos - now > 0) {
            return c.found;
        }
        Found found;
        try {
            found = store.tx(query);
        } catch (ServeException e) {
            // store outage: a key verified recently enough keeps working (bounded by inctrl.registry.outage-grace);
            // an unknown one is UNAVAILABLE, never UNAUTHENTICATED, since nothing says it is invalid
            if (e.code() == ServeException.Code.UNAVAILABLE
                    && c != null
                    && now - c.readAtNanos < registryConfig.outageGrace().toNanos()) {
                return c.found;
            }
            throw e;
        }
        if (found == null) {
            cache.remove(cacheKey);
            return null;
        }
        cache.put(cacheKey, new Cached(found, now, now + config.keyCacheSeconds() * 1_000_000_000L));
        return found;
    }

    private static ServeException unauthenticated(Reason reason, String message) {
        return new ServeException(reason, message);
    }
}
