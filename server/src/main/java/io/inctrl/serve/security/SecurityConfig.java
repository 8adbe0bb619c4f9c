package io.inctrl.serve.security;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Optional;

/** {@code inctrl.security.*}. */
@ConfigMapping(prefix = "inctrl.security")
public interface SecurityConfig {

    /** When false every call acts as the built-in tenant {@code default} (local experiments only). */
    @WithDefault("true")
    boolean enabled();

    /** Credential for tenant management (X-API-Key); set it from the environment (INCTRL_SECURITY_ADMIN_KEY). */
    Optional<String> adminKey();

    /**
     * Optional fixed key of the built-in tenant {@code default}, created at startup when set (single-tenant
     * deployments, tests of other components). Treat it like the admin key.
     */
    Optional<String> bootstrapTenantKey();

    /** How long a successful key lookup is trusted before the store is asked again (revocation delay on replicas). */
    @WithDefault("10")
    int keyCacheSeconds();

    Quotas defaultQuotas();

    /** Optional OIDC sign-in on the REST API and console (machines and gRPC keep API keys). */
    Oidc oidc();

    /** The range quotas must fall in when a tenant is created or its quotas are changed (else 400 INVALID_QUOTAS). */
    QuotaLimits quotaLimits();

    /**
     * Quotas given to tenants created without explicit ones. They cap a tenant below the server-wide limits: K of a
     * prompt set is at most min({@code inctrl.limits.max-shots}, the tenant's maxShotsPerSet).
     */
    interface Quotas {
        @WithDefault("100")
        int maxPromptSets();

        @WithDefault("16")
        int maxShotsPerSet();

        @WithDefault("50")
        double requestsPerSecond();
    }

    /** Bounds of accepted quota values; every value must also be finite (no NaN or Infinity). */
    interface QuotaLimits {
        /** Largest maxPromptSets a tenant may be given (0 is allowed: the tenant cannot register sets). */
        @WithDefault("1000000")
        int maxPromptSets();

        /** Largest maxShotsPerSet that may be stored (the server-wide inctrl.limits.max-shots still applies on top). */
        @WithDefault("10000")
        int maxShotsPerSet();

        /** Smallest requestsPerSecond: one request per 1000 s. Stored as a 32-bit float, so not much smaller. */
        @WithDefault("0.001")
        double minRequestsPerSecond();

        @WithDefault("1000000")
        double maxRequestsPerSecond();
    }

    /**
     * {@code inctrl.security.oidc.*}. The provider itself is Quarkus' {@code quarkus.oidc.*} (auth-server-url, roles
     * claim path); these keys map a verified token's roles and claims to an InCTRL caller.
     */
    interface Oidc {
        /** Accept {@code Authorization: Bearer} tokens from {@code quarkus.oidc.auth-server-url} on REST calls. */
        @WithDefault("false")
        boolean enabled();

        /** Role (from {@code quarkus.oidc.roles.role-claim-path}, default {@code groups}) that makes an admin. */
        @WithDefault("inctrl-admin")
        String adminRole();

        /** A role {@code <prefix><tenant id>} makes the caller that tenant. */
        @WithDefault("inctrl-tenant:")
        String tenantRolePrefix();

        /** A string claim naming the caller's tenant id (checked before the tenant roles). */
        @WithDefault("inctrl_tenant")
        String tenantClaim();
    }
}
