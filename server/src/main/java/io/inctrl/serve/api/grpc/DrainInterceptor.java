package io.inctrl.serve.api.grpc;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.inctrl.serve.lifecycle.Drain;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.spi.Prioritized;
import jakarta.inject.Inject;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Counts every admitted call until it closes, so a draining replica knows when its work is done, and refuses new
 * calls while draining with UNAVAILABLE (reason DRAINING, {@code RetryInfo} and {@code grpc-retry-pushback-ms}, which
 * gRPC's retry policy and our clients take as "try another backend now"). Probes and reflection pass untouched.
 */
@ApplicationScoped
@GlobalInterceptor
public class DrainInterceptor implements ServerInterceptor, Prioritized {

    @Inject
    Drain drain;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (PublicServices.isPublic(call.getMethodDescriptor())) {
            return next.startCall(call, headers);
        }
        if (drain.draining()) {
            GrpcStatuses.close(call, drain.refusal());
            return new ServerCall.Listener<>() {};
        }
        drain.callStarted();
        AtomicBoolean ended = new AtomicBoolean();
        Runnable end = () -> {
            if (ended.compareAndSet(false, true)) {
                drain.callEnded();
            }
        };
        ServerCall<Q, R> counted = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                try {
                    super.close(status, trailers);
                } finally {
                    end.run();
                }
            }
        };
        ServerCall.Listener<Q> listener;
        try {
            listener = next.startCall(counted, headers);
        } catch (RuntimeException e) {
            end.run();
            throw e;
        }
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
            @Override
            public void onCancel() {
                try {
                    super.onCancel();
                } finally {
                    end.run();
                }
            }

            @Override
            public void onComplete() {
                try {
                    super.onComplete();
                } finally {
                    end.run();
                }
            }
        };
    }

    /** Runs before authentication (higher value = earlier in Quarkus): a draining replica touches no store. */
    @Override
    public int getPriority() {
        return 20_000;
    }
}
