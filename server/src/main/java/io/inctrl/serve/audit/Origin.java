package io.inctrl.serve.audit;

/**
 * Who made a change and from where, carried into every mutating use case so the core records it whatever the
 * transport. Never holds a secret: a tenant key is named by its id. {@code remoteAddress} is the peer address
 * (REST: after Quarkus' trusted-proxy forwarding when enabled); {@code requestId} is the client's x-request-id, if any.
 */
public record Origin(Actor actor, String actorTenantId, String actorKeyId, String remoteAddress, String requestId) {

    public enum Actor {
        /** The admin key. */
        ADMIN,
        /** A tenant API key ({@code actorTenantId}, {@code actorKeyId}). */
        KEY,
        /** The server itself (e.g. re-encoding a stale prompt set on first use). */
        SYSTEM,
        /** Security disabled: nobody authenticated. */
        ANONYMOUS;

        public String code() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Actor ofCode(String code) {
            return valueOf(code.toUpperCase(java.util.Locale.ROOT));
        }
    }

    public static final Origin SYSTEM = new Origin(Actor.SYSTEM, null, null, null, null);
}
