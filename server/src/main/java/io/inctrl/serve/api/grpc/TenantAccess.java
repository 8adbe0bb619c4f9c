package io.inctrl.serve.api.grpc;

import io.inctrl.serve.security.Caller;
import io.inctrl.serve.security.TenantContext;

/** The calling tenant of the current gRPC call, as authenticated by {@link io.inctrl.serve.security.ApiKeyInterceptor}. */
final class TenantAccess {

    static final String ANONYMOUS = "default";

    private TenantAccess() {
    }

    /**
     * Must be called on the thread the call arrived on (the gRPC Context lives there). With security disabled every
     * call acts as the built-in tenant {@code default}; the admin key never gets here (the interceptor refuses it).
     */
    static String current() {
        Caller c = TenantContext.CALLER.get();
        return c == null || c.tenantId() == null ? ANONYMOUS : c.tenantId();
    }
}
