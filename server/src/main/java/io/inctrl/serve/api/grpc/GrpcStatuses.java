package io.inctrl.serve.api.grpc;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.inctrl.serve.error.ServeErrors;
import io.inctrl.serve.error.ServeException;
import java.time.Duration;

/**
 * The one rendering of failures as gRPC statuses (what a client may see is decided by {@link ServeErrors#classify}).
 * A {@link ServeException} keeps its code and message and gains {@code google.rpc} details: {@link ErrorInfo} (its
 * reason, domain {@value #DOMAIN}) and, exactly when the reason is retryable, {@link RetryInfo} plus the
 * {@code grpc-retry-pushback-ms} trailer that gRPC's own retry policy honours.
 */
public final class GrpcStatuses {

    /** {@code ErrorInfo.domain} of every error this server reports. */
    public static final String DOMAIN = "inctrl.io";

    static final Metadata.Key<String> RETRY_PUSHBACK =
            Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);

    private GrpcStatuses() {}

    /** {@link ServeErrors#classify} as a status with details; a status raised by gRPC code itself passes unchanged. */
    public static StatusRuntimeException toStatus(Throwable t, String context) {
        Throwable c = ServeErrors.unwrap(t);
        if (c instanceof StatusRuntimeException sre) {
            return sre;
        }
        return toStatus(ServeErrors.classify(c, context));
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
        StatusRuntimeException sre = StatusProto.toStatusRuntimeException(s.build());
        e.retryAfter().ifPresent(d -> sre.getTrailers().put(RETRY_PUSHBACK, Long.toString(d.toMillis())));
        return sre;
    }

    /** Closes {@code call} with the status of {@code e}. */
    public static void close(io.grpc.ServerCall<?, ?> call, ServeException e) {
        StatusRuntimeException s = toStatus(e);
        call.close(s.getStatus(), s.getTrailers() == null ? new Metadata() : s.getTrailers());
    }

    public static com.google.protobuf.Duration proto(Duration d) {
        return com.google.protobuf.Duration.newBuilder()
                .setSeconds(d.getSeconds())
                .setNanos(d.getNano())
                .build();
    }
}
