package io.inctrl.serve.security;

/** Who is calling: the admin credential (no tenant) or a tenant. */
public record Caller(String tenantId, boolean admin) {

    public static final Caller ADMIN = new Caller(null, true);

    public static Caller tenant(String tenantId) {
        return new Caller(tenantId, false);
    }
}
