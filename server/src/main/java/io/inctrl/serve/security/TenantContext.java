package io.inctrl.serve.security;

import io.grpc.Context;
import io.grpc.Metadata;

/** gRPC keys: the metadata entry carrying the API key, and the Context entry carrying the authenticated caller. */
public final class TenantContext {

    public static final Metadata.Key<String> API_KEY = Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);

    /** Set by {@link ApiKeyInterceptor} for every call that reaches a service. */
    public static final Context.Key<Caller> CALLER = Context.key("inctrl-caller");

    private TenantContext() {
    }

    /** The calling tenant's id; must be read on the thread the call arrived on (before offloading work). */
    public static String requireTenant() {
        Caller c = CALLER.get();
        if (c == null || c.tenantId() == null) {
            throw new io.inctrl.serve.registry.RegistryException(io.inctrl.serve.registry.RegistryException.Kind.PERMISSION_DENIED,
                    "TENANT_KEY_REQUIRED", Caller.TENANT_KEY_REQUIRED);
        }
        return c.tenantId();
    }
}
