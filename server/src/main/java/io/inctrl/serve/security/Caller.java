package io.inctrl.serve.security;

import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.logging.LogSafe;

/**
 * Who is calling: the admin credential (no tenant) or a tenant. Resolved once per call by {@link Authenticator}; each
 * transport keeps it for the call (gRPC: {@code api.grpc.GrpcCaller}, REST: {@code api.rest.CurrentCaller}) and both
 * ask it the same questions. {@code keyId} names the tenant key used (never its secret), for the audit log.
 */
public record Caller(String tenantId, boolean admin, String keyId) {

    public static final Caller ADMIN = new Caller(null, true, null);

    /** Security disabled: every call acts as the default tenant with admin rights, authenticated by nothing. */
    public static Caller anonymous(String tenantId) {
        return new Caller(tenantId, true, null);
    }

    /** Why the admin credential is refused on tenant calls; one text for gRPC and REST. */
    public static final String TENANT_KEY_REQUIRED = "the admin key manages tenants; it does not score or own prompt "
            + "sets: scoring and the tenant API need a tenant API key";

    public static Caller tenant(String tenantId, String keyId) {
        return new Caller(tenantId, false, keyId);
    }

    /**
     * This caller as the audit log's actor, calling from {@code remoteAddress}. {@code requestId} is the client's
     * (optional) x-request-id: escaped and capped like anything a client sends.
     */
    public Origin origin(String remoteAddress, String clientRequestId) {
        String requestId = clientRequestId == null || clientRequestId.isEmpty() ? null : LogSafe.of(clientRequestId);
        if (!admin) {
            return new Origin(Origin.Actor.KEY, tenantId, keyId, remoteAddress, requestId);
        }
        Origin.Actor actor = tenantId == null ? Origin.Actor.ADMIN : Origin.Actor.ANONYMOUS;
        return new Origin(actor, null, null, remoteAddress, requestId);
    }

    /** The tenant id, or PERMISSION_DENIED (gRPC) / 403 (REST) for the admin credential. */
    public String requireTenant() {
        if (tenantId == null) {
            throw new ServeException(Reason.TENANT_KEY_REQUIRED, TENANT_KEY_REQUIRED);
        }
        return tenantId;
    }

    /** PERMISSION_DENIED unless this is the admin credential. */
    public void requireAdmin() {
        requireAdmin("tenant management");
    }

    /** PERMISSION_DENIED unless this is the admin credential; the message says that {@code what} needs it. */
    public void requireAdmin(String what) {
        if (!admin) {
            throw new ServeException(Reason.ADMIN_KEY_REQUIRED, what + " needs the admin key");
        }
    }
}
