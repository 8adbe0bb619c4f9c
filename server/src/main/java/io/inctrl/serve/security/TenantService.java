package io.inctrl.serve.security;

import io.inctrl.serve.audit.AuditAction;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.registry.ApiKeyInfo;
import io.inctrl.serve.registry.AuditTrail;
import io.inctrl.serve.registry.Quotas;
import io.inctrl.serve.registry.Store;
import io.inctrl.serve.registry.Tenant;
import io.inctrl.serve.registry.TenantDeleted;
import io.inctrl.serve.registry.TenantRepository;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;

/**
 * Tenant and API-key management. A key's secret leaves the server exactly once, in the {@link IssuedKey}. Every
 * change is recorded in the audit log with its {@link Origin}, in the change's transaction.
 */
@ApplicationScoped
public class TenantService {

    /** Id of the tenant used when security is disabled or a bootstrap key is configured. */
    public static final String DEFAULT_TENANT_ID = "default";

    @Inject
    Store store;

    @Inject
    TenantRepository tenants;

    @Inject
    SecurityConfig config;

    @Inject
    Authenticator authenticator;

    @Inject
    Event<TenantDeleted> tenantDeleted;

    @Inject
    AuditTrail audit;

    /** A newly issued key: {@code secret} is shown once and never stored. */
    public record IssuedKey(ApiKeyInfo info, String secret) {}

    public record CreatedTenant(Tenant tenant, IssuedKey key) {}

    public CreatedTenant create(Origin origin, String name, Quotas quotas) {
        String id = UUID.randomUUID().toString();
        // a refused creation names no tenant: none was made
        return audit.attempt(origin, AuditAction.TENANT_CREATE, null, null, () -> {
            String n = name == null ? "" : name.strip();
            if (n.isEmpty() || n.length() > 128) {
                throw ServeException.invalid(Reason.INVALID_NAME, "tenant name must be 1-128 characters");
            }
            Tenant t = new Tenant(id, n, quotas != null ? checked(quotas) : defaultQuotas(), Store.now());
            return store.tx(c -> {
                if (tenants.findByName(c, n).isPresent()) {
                    throw new ServeException(Reason.DUPLICATE_NAME, "a tenant named '" + n + "' already exists");
                }
                tenants.insert(c, t);
                IssuedKey key = issue(c, t.id(), ApiKeys.generate());
                audit.recordChange(c, origin, AuditAction.TENANT_CREATE, t.id(), t.id());
                return new CreatedTenant(t, key);
            });
        });
    }

    /** {@code inctrl.security.default-quotas}, held to the same limits as quotas sent by the admin. */
    public Quotas defaultQuotas() {
        SecurityConfig.Quotas q = config.defaultQuotas();
        return checked(new Quotas(q.maxPromptSets(), q.maxShotsPerSet(), q.requestsPerSecond()));
    }

    public List<Tenant> list() {
        return store.tx(tenants::list);
    }

    public Tenant get(String id) {
        return store.tx(c -> find(c, id));
    }

    /** Replaces the quotas; the tenant's request-rate state starts afresh under the new rate. */
    public Tenant updateQuotas(Origin origin, String id, Quotas quotas) {
        Tenant t = audit.attempt(origin, AuditAction.TENANT_QUOTAS, id, id, () -> {
            Quotas q = checked(quotas);
            return store.tx(c -> {
                if (!tenants.updateQuotas(c, id, q)) {
                    throw ServeException.notFound("tenant", id);
                }
                audit.recordChange(c, origin, AuditAction.TENANT_QUOTAS, id, id);
                return find(c, id);
            });
        });
        authenticator.quotasChanged(id);
        return t;
    }

    /**
     * 400 INVALID_QUOTAS unless every value is finite and within {@code inctrl.security.quota-limits}: NaN would lock
     * the tenant out, Infinity would lift its rate limit, and a rate below what a 32-bit float column keeps would be
     * stored as 0.
     */
    Quotas checked(Quotas q) {
        SecurityConfig.QuotaLimits l = config.quotaLimits();
        double rps = q.requestsPerSecond();
        if (q.maxPromptSets() < 0
                || q.maxPromptSets() > l.maxPromptSets()
                || q.maxShotsPerSet() < 1
                || q.maxShotsPerSet() > l.maxShotsPerSet()
                || !Double.isFinite(rps)
                || rps < l.minRequestsPerSecond()
                || rps > l.maxRequestsPerSecond()) {
            throw ServeException.invalid(
                    Reason.INVALID_QUOTAS,
                    "quotas need 0 <= maxPromptSets <= " + l.maxPromptSets()
                            + ", 1 <= maxShotsPerSet <= " + l.maxShotsPerSet() + " and a finite requestsPerSecond in ["
                            + l.minRequestsPerSecond() + ", " + l.maxRequestsPerSecond()
                            + "] (inctrl.security.quota-limits)");
        }
        return q;
    }

    /** Deletes the tenant with all its keys, templates and prompt sets (cascade). */
    public void delete(Origin origin, String id) {
        audit.attempt(
                origin,
                AuditAction.TENANT_DELETE,
                id,
                id,
                () -> store.tx(c -> {
                    if (!tenants.delete(c, id)) {
                        throw ServeException.notFound("tenant", id);
                    }
                    audit.recordChange(c, origin, AuditAction.TENANT_DELETE, id, id);
                    return null;
                }));
        authenticator.forgetAll();
        tenantDeleted.fire(new TenantDeleted(id)); // the registry's caches drop the tenant's prompt features
    }

    public List<ApiKeyInfo> keys(String tenantId) {
        return store.tx(c -> {
            find(c, tenantId);
            return tenants.keys(c, tenantId);
        });
    }

    public IssuedKey createKey(Origin origin, String tenantId) {
        return audit.attempt(
                origin,
                AuditAction.KEY_CREATE,
                tenantId,
                null,
                () -> store.tx(c -> {
                    find(c, tenantId);
                    IssuedKey k = issue(c, tenantId, ApiKeys.generate());
                    audit.recordChange(
                            c,
                            origin,
                            AuditAction.KEY_CREATE,
                            tenantId,
                            k.info().id());
                    return k;
                }));
    }

    public void revokeKey(Origin origin, String tenantId, String keyId) {
        audit.attempt(
                origin,
                AuditAction.KEY_REVOKE,
                tenantId,
                keyId,
                () -> store.tx(c -> {
                    if (!tenants.revokeKey(c, tenantId, keyId, Store.now())) {
                        throw ServeException.notFound("API key", keyId);
                    }
                    audit.recordChange(c, origin, AuditAction.KEY_REVOKE, tenantId, keyId);
                    return null;
                }));
        authenticator.forgetAll();
    }

    /** Revokes a key and issues its replacement in one transaction; the entry's target is the revoked key. */
    public IssuedKey rotateKey(Origin origin, String tenantId, String keyId) {
        IssuedKey k = audit.attempt(
                origin,
                AuditAction.KEY_ROTATE,
                tenantId,
                keyId,
                () -> store.tx(c -> {
                    if (!tenants.revokeKey(c, tenantId, keyId, Store.now())) {
                        throw ServeException.notFound("API key", keyId);
                    }
                    audit.recordChange(c, origin, AuditAction.KEY_ROTATE, tenantId, keyId);
                    return issue(c, tenantId, ApiKeys.generate());
                }));
        authenticator.forgetAll();
        return k;
    }

    /** The bootstrap tenant needs the database: created once it is reached and migrated, never at start. */
    void onStoreReady(@Observes io.inctrl.serve.registry.StoreReady e) {
        if (!config.enabled() || config.bootstrapTenantKey().isPresent()) {
            ensureDefaultTenant(config.bootstrapTenantKey().orElse(null));
        }
    }

    /** Creates the built-in tenant if missing and, when given, registers {@code key} for it. Idempotent. */
    public void ensureDefaultTenant(String key) {
        store.tx(c -> {
            if (tenants.find(c, DEFAULT_TENANT_ID).isEmpty()) {
                tenants.insert(c, new Tenant(DEFAULT_TENANT_ID, DEFAULT_TENANT_ID, defaultQuotas(), Store.now()));
            }
            if (key != null && tenants.tenantOfKey(c, ApiKeys.hash(key)).isEmpty()) {
                issue(c, DEFAULT_TENANT_ID, key);
            }
            return null;
        });
    }

    private IssuedKey issue(Connection c, String tenantId, String secret) throws SQLException {
        ApiKeyInfo info = new ApiKeyInfo(
                UUID.randomUUID().toString(), tenantId, ApiKeys.displayPrefix(secret), Store.now(), null);
        tenants.insertKey(c, info, ApiKeys.hash(secret));
        return new IssuedKey(info, secret);
    }

    private Tenant find(Connection c, String id) throws SQLException {
        return tenants.find(c, id).orElseThrow(() -> ServeException.notFound("tenant", id));
    }
}
