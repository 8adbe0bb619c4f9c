package io.inctrl.serve.error;

import io.inctrl.serve.logging.LogSafe;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Every failure the server reports to a client, whatever the package or transport: a catalogued {@link Reason}
 * (which fixes the gRPC code and the HTTP status), a message for humans, and, for retryable reasons only, when the
 * same request may pass. {@link ServeErrors#classify} turns any throwable into one; each transport renders it in one
 * place ({@code api.grpc.GrpcStatuses}, {@code api.rest.Problems}, {@code api.oip.InferenceResource}).
 */
public class ServeException extends RuntimeException {

    /** The gRPC status codes the server uses, each with the HTTP status its reasons answer with by default. */
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
        UNIMPLEMENTED(501),
        DEADLINE_EXCEEDED(504),
        UNAVAILABLE(503),
        CANCELLED(499),
        INTERNAL(500);

        public final int httpStatus;

        Code(int httpStatus) {
            this.httpStatus = httpStatus;
        }
    }

    private final Reason reason;
    private final Duration retryAfter;

    public ServeException(Reason reason, String message) {
        this(reason, message, null, null);
    }

    public ServeException(Reason reason, String message, Throwable cause) {
        this(reason, message, null, cause);
    }

    /**
     * @param retryAfter when the same request may pass; only for {@link Reason#retryable() retryable} reasons, which
     *     get their {@link Reason#defaultRetryAfter() default} when it is null
     */
    public ServeException(Reason reason, String message, Duration retryAfter, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason);
        if (retryAfter != null && !reason.retryable()) {
            throw new IllegalArgumentException(reason + " is not retryable: it carries no retry hint");
        }
        this.retryAfter = reason.retryable()
                ? (retryAfter == null || retryAfter.isNegative() ? reason.defaultRetryAfter() : retryAfter)
                : null;
    }

    /** The status code, fixed by the reason. */
    public Code code() {
        return reason.code();
    }

    /** The catalogued reason; see {@link Reason}. */
    public Reason reasonCode() {
        return reason;
    }

    /** The reason as sent on the wire (its name). */
    public String reason() {
        return reason.name();
    }

    /** When the same request may pass: present exactly for retryable reasons. */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    /** The same failure with a message that says which part of a request it is about. */
    public ServeException withMessage(String message) {
        return new ServeException(reason, message, retryAfter, this);
    }

    public static ServeException invalid(Reason reason, String message) {
        return new ServeException(reason, message);
    }

    /**
     * The same message whether the object is missing or belongs to another tenant (no existence oracle). The id is
     * echoed through {@link LogSafe}: a 9,000-character id must not overflow gRPC's 8 KiB trailer limit.
     */
    public static ServeException notFound(String what, String id) {
        return new ServeException(Reason.NOT_FOUND, what + " '" + LogSafe.of(id) + "' not found");
    }

    /** A rate or capacity limit that passes after {@code retryAfter}. */
    public static ServeException retryLater(Reason reason, String message, Duration retryAfter) {
        return new ServeException(reason, message, retryAfter, null);
    }

    public static ServeException cancelled() {
        return new ServeException(Reason.CANCELLED, "request was cancelled");
    }
}
