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

    /** Quotas given to tenants created without explicit ones. */
    interface Quotas {
        @WithDefault("100")
        int maxPromptSets();

        @WithDefault("16")
        int maxShotsPerSet();

        @WithDefault("50")
        double requestsPerSecond();
    }
}
