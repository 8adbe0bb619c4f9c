package io.inctrl.serve.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * A failed call or a failed ScoreStream request, typed by its gRPC status code. Catch a subclass
 * ({@link InvalidArgument}, {@link Unauthenticated}, ...) or inspect {@link #code()}; {@link #reason()} is the
 * server's stable reason (docs/errors.md) and {@link #retryAfter()} its retry hint, present exactly when resending the
 * same request may succeed.
 */
public class InctrlException extends RuntimeException {
    private final Status.Code code;
    private final String details;
    private final String requestId;
    private String reason = "";
    private Duration retryAfter;

    public InctrlException(Status.Code code, String details, String requestId, Throwable cause) {
        super(
                code + ": " + details
                        + (requestId == null || requestId.isEmpty() ? "" : " [request_id=" + requestId + "]"),
                cause);
        this.code = code;
        this.details = details;
        this.requestId = requestId == null ? "" : requestId;
    }

    public Status.Code code() {
        return code;
    }

    public String details() {
        return details;
    }
    /** Set for a failed ScoreStream request, empty otherwise. */
    public String requestId() {
        return requestId;
    }

    /** The server's reason (google.rpc.ErrorInfo or the stream item's {@code Error.reason}); empty when none came. */
    public String reason() {
        return reason;
    }

    /**
     * The server's retry hint (google.rpc.RetryInfo or {@code Error.retry_after}): present exactly for reasons where
     * resending the same request may succeed (QUEUE_FULL, RATE_LIMITED, DRAINING, ...).
     */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    private InctrlException withHints(String reason, Duration retryAfter) {
        this.reason = reason == null ? "" : reason;
        this.retryAfter = retryAfter;
        return this;
    }

    public static final class Cancelled extends InctrlException {
        Cancelled(String d, String id, Throwable c) {
            super(Status.Code.CANCELLED, d, id, c);
        }
    }

    public static final class InvalidArgument extends InctrlException {
        InvalidArgument(String d, String id, Throwable c) {
            super(Status.Code.INVALID_ARGUMENT, d, id, c);
        }
    }

    public static final class DeadlineExceeded extends InctrlException {
        DeadlineExceeded(String d, String id, Throwable c) {
            super(Status.Code.DEADLINE_EXCEEDED, d, id, c);
        }
    }

    public static final class NotFound extends InctrlException {
        NotFound(String d, String id, Throwable c) {
            super(Status.Code.NOT_FOUND, d, id, c);
        }
    }

    public static final class AlreadyExists extends InctrlException {
        AlreadyExists(String d, String id, Throwable c) {
            super(Status.Code.ALREADY_EXISTS, d, id, c);
        }
    }

    public static final class PermissionDenied extends InctrlException {
        PermissionDenied(String d, String id, Throwable c) {
            super(Status.Code.PERMISSION_DENIED, d, id, c);
        }
    }

    public static final class ResourceExhausted extends InctrlException {
        ResourceExhausted(String d, String id, Throwable c) {
            super(Status.Code.RESOURCE_EXHAUSTED, d, id, c);
        }
    }

    public static final class FailedPrecondition extends InctrlException {
        FailedPrecondition(String d, String id, Throwable c) {
            super(Status.Code.FAILED_PRECONDITION, d, id, c);
        }
    }

    /**
     * E.g. CONCURRENT_CHANGE: a prompt set's shots changed while AddShots / RemoveShots ran; read the set again and
     * redo the whole operation (the client does not resend writes by itself).
     */
    public static final class Aborted extends InctrlException {
        Aborted(String d, String id, Throwable c) {
            super(Status.Code.ABORTED, d, id, c);
        }
    }

    public static final class Unimplemented extends InctrlException {
        Unimplemented(String d, String id, Throwable c) {
            super(Status.Code.UNIMPLEMENTED, d, id, c);
        }
    }

    public static final class Internal extends InctrlException {
        Internal(String d, String id, Throwable c) {
            super(Status.Code.INTERNAL, d, id, c);
        }
    }

    public static final class Unavailable extends InctrlException {
        Unavailable(String d, String id, Throwable c) {
            super(Status.Code.UNAVAILABLE, d, id, c);
        }
    }

    public static final class Unauthenticated extends InctrlException {
        Unauthenticated(String d, String id, Throwable c) {
            super(Status.Code.UNAUTHENTICATED, d, id, c);
        }
    }

    public static InctrlException of(Status.Code code, String details, String requestId, Throwable cause) {
        return switch (code) {
            case CANCELLED -> new Cancelled(details, requestId, cause);
            case INVALID_ARGUMENT -> new InvalidArgument(details, requestId, cause);
            case DEADLINE_EXCEEDED -> new DeadlineExceeded(details, requestId, cause);
            case NOT_FOUND -> new NotFound(details, requestId, cause);
            case ALREADY_EXISTS -> new AlreadyExists(details, requestId, cause);
            case PERMISSION_DENIED -> new PermissionDenied(details, requestId, cause);
            case RESOURCE_EXHAUSTED -> new ResourceExhausted(details, requestId, cause);
            case FAILED_PRECONDITION -> new FailedPrecondition(details, requestId, cause);
            case ABORTED -> new Aborted(details, requestId, cause);
            case UNIMPLEMENTED -> new Unimplemented(details, requestId, cause);
            case INTERNAL -> new Internal(details, requestId, cause);
            case UNAVAILABLE -> new Unavailable(details, requestId, cause);
            case UNAUTHENTICATED -> new Unauthenticated(details, requestId, cause);
            default -> new InctrlException(code, details, requestId, cause);
        };
    }

    /** Maps the {@code Error} of a failed stream response, with its reason and retry hint. */
    public static InctrlException fromStreamError(io.inctrl.serve.api.v1.Error error, String requestId) {
        return fromCodeName(error.getCode(), error.getMessage(), requestId)
                .withHints(
                        error.getReason(),
                        error.hasRetryAfter()
                                ? Duration.ofSeconds(
                                        error.getRetryAfter().getSeconds(),
                                        error.getRetryAfter().getNanos())
                                : null);
    }

    /** The same failure for another request id (a stream failing its in-flight requests), hints kept. */
    InctrlException forRequest(String requestId) {
        return of(code, details, requestId, this).withHints(reason, retryAfter);
    }

    /** Maps the {@code Error} of a failed stream response; {@code name} is a code name such as "INVALID_ARGUMENT". */
    public static InctrlException fromCodeName(String name, String message, String requestId) {
        Status.Code code;
        try {
            code = Status.Code.valueOf(name == null ? "" : name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            code = Status.Code.UNKNOWN;
        }
        return of(code, message, requestId, null);
    }

    /** Maps anything grpc-java throws (StatusRuntimeException, StatusException, ...) to a typed exception. */
    public static InctrlException from(Throwable t) {
        if (t instanceof InctrlException e) {
            return e;
        }
        Status s = t instanceof StatusRuntimeException sre
                ? sre.getStatus()
                : t instanceof StatusException se ? se.getStatus() : Status.fromThrowable(t);
        InctrlException e = of(
                s.getCode(), s.getDescription() == null ? String.valueOf(t.getMessage()) : s.getDescription(), "", t);
        // the server's google.rpc details (grpc-status-details-bin); absent on failures of the transport itself
        com.google.rpc.Status details = StatusProto.fromThrowable(t);
        if (details != null) {
            String reason = "";
            Duration retry = null;
            for (Any a : details.getDetailsList()) {
                try {
                    if (a.is(ErrorInfo.class)) {
                        reason = a.unpack(ErrorInfo.class).getReason();
                    } else if (a.is(RetryInfo.class)) {
                        com.google.protobuf.Duration d =
                                a.unpack(RetryInfo.class).getRetryDelay();
                        retry = Duration.ofSeconds(d.getSeconds(), d.getNanos());
                    }
                } catch (InvalidProtocolBufferException ignored) {
                    // a detail we cannot read carries no hint
                }
            }
            e.withHints(reason, retry);
        }
        return e;
    }
}
