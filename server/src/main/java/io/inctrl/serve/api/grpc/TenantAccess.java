package io.inctrl.serve.api.grpc;

import io.inctrl.serve.security.Caller;
import io.inctrl.serve.security.TenantContext;

/** The calling tenant of the current gRPC call, as authenticated by {@link io.inctrl.serve.security.ApiKeyInterceptor}. */
final class TenantAccess {

    static final String ANONYMOUS = "default";

    private TenantAccess() {
    }

    /**
     * Must be called on the thread the call arrived on (the gRPC Context lives there). Calls without a tenant
     * (security disabled, or the admin key) act as the built-in tenant {@code default}.
     */
    static String current() {
        Caller c = TenantContext.CALLER.get();
        return c == null || c.tenantId() == null ? ANONYMOUS : c.tenantId();
    }
}
