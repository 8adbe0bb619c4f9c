package io.inctrl.serve.security;

import io.inctrl.serve.error.ServeException;

/**
 * Who is calling: the admin credential (no tenant) or a tenant. Resolved once per call by {@link Authenticator}; each
 * transport keeps it for the call (gRPC: {@code api.grpc.GrpcCaller}, REST: {@code api.rest.CurrentCaller}) and both
 * ask it the same questions.
 */
public record Caller(String tenantId, boolean admin) {

    public static final Caller ADMIN = new Caller(null, true);

    /** Why the admin credential is refused on tenant calls; one text for gRPC and REST. */
    public static final String TENANT_KEY_REQUIRED = "the admin key manages tenants; it does not score or own prompt "
            + "sets: scoring and the tenant API need a tenant API key";

    public static Caller tenant(String tenantId) {
        return new Caller(tenantId, false);
    }

    /** The tenant id, or PERMISSION_DENIED (gRPC) / 403 (REST) for the admin credential. */
    public String requireTenant() {
        if (tenantId == null) {
            throw new ServeException(ServeException.Code.PERMISSION_DENIED, "TENANT_KEY_REQUIRED", TENANT_KEY_REQUIRED);
        }
        return tenantId;
    }

    /** PERMISSION_DENIED unless this is the admin credential. */
    public void requireAdmin() {
        if (!admin) {
            throw new ServeException(
                    ServeException.Code.PERMISSION_DENIED,
                    "ADMIN_KEY_REQUIRED",
                    "tenant management needs the admin key");
        }
    }
}
