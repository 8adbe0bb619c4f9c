package io.inctrl.serve.registry;

import io.inctrl.serve.logging.LogSafe;

/**
 * Every failure the registry and security layers report. {@link Kind} maps one-to-one onto a gRPC status and an
 * HTTP status; {@code reason} is a stable machine-readable code (e.g. {@code EMPTY_IMAGE}).
 */
public class RegistryException extends RuntimeException {

    public enum Kind {
        INVALID_ARGUMENT(400), UNAUTHENTICATED(401), PERMISSION_DENIED(403), NOT_FOUND(404), ALREADY_EXISTS(409),
        FAILED_PRECONDITION(409), RESOURCE_EXHAUSTED(429), UNAVAILABLE(503);

        public final int httpStatus;

        Kind(int httpStatus) {
            this.httpStatus = httpStatus;
        }
    }

    private final Kind kind;
    private final String reason;

    public RegistryException(Kind kind, String reason, String message) {
        super(message);
        this.kind = kind;
        this.reason = reason;
    }

    public RegistryException(Kind kind, String reason, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.reason = reason;
    }

    public Kind kind() {
        return kind;
    }

    public String reason() {
        return reason;
    }

    public static RegistryException invalid(String reason, String message) {
        return new RegistryException(Kind.INVALID_ARGUMENT, reason, message);
    }

    /**
     * The same message whether the object is missing or belongs to another tenant (no existence oracle). The id is
     * echoed through {@link LogSafe}: a 9,000-character id must not overflow gRPC's 8 KiB trailer limit.
     */
    public static RegistryException notFound(String what, String id) {
        return new RegistryException(Kind.NOT_FOUND, "NOT_FOUND", what + " '" + LogSafe.of(id) + "' not found");
    }

    public static RegistryException quota(String reason, String message) {
        return new RegistryException(Kind.RESOURCE_EXHAUSTED, reason, message);
    }
}
