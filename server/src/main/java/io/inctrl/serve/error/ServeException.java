package io.inctrl.serve.error;

import io.inctrl.serve.logging.LogSafe;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Every failure the server reports to a client, whatever the package or transport. The {@link Code} picks the gRPC
 * status and the HTTP status, {@code reason} is a stable machine-readable code (e.g. {@code EMPTY_IMAGE}), the
 * message is for humans, and {@code retryAfter} says when a refused request may pass (rate limits, a full queue).
 * Each transport maps it in one place: {@code api.grpc.GrpcStatuses} and {@code api.rest.Problems}.
 */
public class ServeException extends RuntimeException {

    /** The gRPC status codes the server uses, each with the HTTP status REST answers with. */
    public enum Code {
        INVALID_ARGUMENT(400),
        UNAUTHENTICATED(401),
        PERMISSION_DENIED(403),
        NOT_FOUND(404),
        ALREADY_EXISTS(409),
        FAILED_PRECONDITION(409),
        /** A concurrent change got in between (retry the whole operation). */
        ABORTED(409),
        RESOURCE_EXHAUSTED(429),
        DEADLINE_EXCEEDED(504),
        UNAVAILABLE(503),
        CANCELLED(499),
        INTERNAL(500);

        public final int httpStatus;

        Code(int httpStatus) {
            this.httpStatus = httpStatus;
        }
    }

    private final Code code;
    private final String reason;
    private final Duration retryAfter;

    public ServeException(Code code, String reason, String message) {
        this(code, reason, message, null, null);
    }

    public ServeException(Code code, String reason, String message, Throwable cause) {
        this(code, reason, message, null, cause);
    }

    public ServeException(Code code, String reason, String message, Duration retryAfter, Throwable cause) {
        super(message, cause);
        this.code = Objects.requireNonNull(code);
        this.reason = Objects.requireNonNull(reason);
        this.retryAfter = retryAfter;
    }

    public Code code() {
        return code;
    }

    public String reason() {
        return reason;
    }

    /** When the same request may pass; present on rate limits and a full queue. */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    public static ServeException invalid(String reason, String message) {
        return new ServeException(Code.INVALID_ARGUMENT, reason, message);
    }

    /**
     * The same message whether the object is missing or belongs to another tenant (no existence oracle). The id is
     * echoed through {@link LogSafe}: a 9,000-character id must not overflow gRPC's 8 KiB trailer limit.
     */
    public static ServeException notFound(String what, String id) {
        return new ServeException(Code.NOT_FOUND, "NOT_FOUND", what + " '" + LogSafe.of(id) + "' not found");
    }

    /** A quota or size cap: RESOURCE_EXHAUSTED that waiting does not cure (no retry hint). */
    public static ServeException quota(String reason, String message) {
        return new ServeException(Code.RESOURCE_EXHAUSTED, reason, message);
    }

    /** A rate or capacity limit: RESOURCE_EXHAUSTED that passes after {@code retryAfter}. */
    public static ServeException retryLater(String reason, String message, Duration retryAfter) {
        return new ServeException(Code.RESOURCE_EXHAUSTED, reason, message, retryAfter, null);
    }

    public static ServeException cancelled() {
        return new ServeException(Code.CANCELLED, "CANCELLED", "request was cancelled");
    }
}
