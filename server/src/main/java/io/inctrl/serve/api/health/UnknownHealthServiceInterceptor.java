package io.inctrl.serve.api.health;

import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.inctrl.serve.logging.LogSafe;
import io.quarkus.grpc.GlobalInterceptor;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * The grpc.health.v1 protocol for a service name the server does not know: {@code Check} answers NOT_FOUND and
 * {@code Watch} streams SERVICE_UNKNOWN (and keeps the stream open, as the protocol says). Quarkus' health endpoint
 * answers both with an OK status UNKNOWN, which a probe cannot tell from a known service that is not ready yet.
 */
@ApplicationScoped
@GlobalInterceptor
public class UnknownHealthServiceInterceptor implements ServerInterceptor {

    /** grpc.health.v1's SERVICE_UNKNOWN; the copy of health.proto bundled with Quarkus predates the constant. */
    static final int SERVICE_UNKNOWN = 3;

    @Inject
    GrpcHealthStorage storage;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        if (method.equals(HealthGrpc.getCheckMethod().getFullMethodName())) {
            return check(call, headers, next);
        }
        if (method.equals(HealthGrpc.getWatchMethod().getFullMethodName())) {
            return watch(call, headers, next);
        }
        return next.startCall(call, headers);
    }

    private boolean known(Object request) {
        return request instanceof HealthCheckRequest r && storage.getStatuses().containsKey(r.getService());
    }

    private <Q, R> ServerCall.Listener<Q> check(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
            private boolean refused;

            @Override
            public void onMessage(Q message) {
                if (!known(message)) {
                    refused = true;
                    String name = message instanceof HealthCheckRequest r ? r.getService() : "";
                    call.close(
                            Status.NOT_FOUND.withDescription("unknown service '" + LogSafe.of(name) + "'"),
                            new Metadata());
                    return;
                }
                super.onMessage(message);
            }

            @Override
            public void onHalfClose() {
                if (!refused) {
                    super.onHalfClose();
                }
            }
        };
    }

    private <Q, R> ServerCall.Listener<Q> watch(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        boolean[] unknown = {false};
        ServerCall<Q, R> rewriting = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            @SuppressWarnings("unchecked")
            public void sendMessage(R message) {
                if (unknown[0] && message instanceof HealthCheckResponse r && r.getStatus() == ServingStatus.UNKNOWN) {
                    message = (R) HealthCheckResponse.newBuilder()
                            .setStatusValue(SERVICE_UNKNOWN)
                            .build();
                }
                super.sendMessage(message);
            }
        };
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
                next.startCall(rewriting, headers)) {
            @Override
            public void onMessage(Q message) {
                unknown[0] = !known(message);
                super.onMessage(message);
            }
        };
    }
}
