package io.inctrl.serve.api.grpc;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.logging.InternalErrors;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The one translation of failures into gRPC statuses. A {@link ServeException} keeps its code and message and gains
 * {@code google.rpc} details: {@link ErrorInfo} (its reason, domain {@value #DOMAIN}) and, when it has a retry hint,
 * {@link RetryInfo}. A cancellation is CANCELLED (an outcome, not logged); anything else, and INTERNAL failures whose
 * message may carry exception text, reach the caller as an error id whose details are only in the server log.
 */
public final class GrpcStatuses {

    /** {@code ErrorInfo.domain} of every error this server reports. */
    public static final String DOMAIN = "inctrl.io";

    private GrpcStatuses() {}

    /**
     * What the client may see of {@code t}: the ServeException itself, CANCELLED, or INTERNAL with an error id.
     *
     * @param context what failed, for the log only; client-supplied parts must already be LogSafe
     */
    public static ServeException classify(Throwable t, String context) {
        Throwable c = unwrap(t);
        if (c instanceof ServeException se && se.code() != ServeException.Code.INTERNAL) {
            return se;
        }
        if (c instanceof CancellationException) {
            return new ServeException(
                    ServeException.Code.CANCELLED, "CANCELLED", "request was cancelled by the client");
        }
        String errorId = InternalErrors.log(context + " failed", c);
        return new ServeException(ServeException.Code.INTERNAL, "INTERNAL", InternalErrors.clientMessage(errorId));
    }

    /** {@link #classify} as a status with details; a status raised by gRPC code itself passes unchanged. */
    public static StatusRuntimeException toStatus(Throwable t, String context) {
        Throwable c = unwrap(t);
        if (c instanceof StatusRuntimeException sre) {
            return sre;
        }
        return toStatus(classify(c, context));
    }

    /** The status of an error already classified (its INTERNAL message is sent as is). */
    public static StatusRuntimeException toStatus(ServeException e) {
        Status.Code code = Status.Code.valueOf(e.code().name());
        com.google.rpc.Status.Builder s = com.google.rpc.Status.newBuilder()
                .setCode(code.value())
                .setMessage(e.getMessage() == null ? "" : e.getMessage())
                .addDetails(Any.pack(ErrorInfo.newBuilder()
                        .setReason(e.reason())
                        .setDomain(DOMAIN)
                        .build()));
        e.retryAfter()
                .ifPresent(d -> s.addDetails(
                        Any.pack(RetryInfo.newBuilder().setRetryDelay(proto(d)).build())));
        return StatusProto.toStatusRuntimeException(s.build());
    }

    private static com.google.protobuf.Duration proto(Duration d) {
        return com.google.protobuf.Duration.newBuilder()
                .setSeconds(d.getSeconds())
                .setNanos(d.getNano())
                .build();
    }

    private static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }
}
