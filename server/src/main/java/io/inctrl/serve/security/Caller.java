package io.inctrl.serve.security;

/** Who is calling: the admin credential (no tenant) or a tenant. */
public record Caller(String tenantId, boolean admin) {

    public static final Caller ADMIN = new Caller(null, true);

    /** Why the admin credential is refused on tenant calls; one text for gRPC and REST. */
    public static final String TENANT_KEY_REQUIRED = "the admin key manages tenants; it does not score or own prompt "
            + "sets: scoring and the tenant API need a tenant API key";

    public static Caller tenant(String tenantId) {
        return new Caller(tenantId, false);
    }
}
