package io.inctrl.serve.api.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.StatusRuntimeException;
import io.inctrl.serve.api.inference.GRPCInferenceServiceGrpc;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.security.Authenticator;
import io.inctrl.serve.security.Caller;
import io.quarkus.grpc.GlobalInterceptor;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.spi.Prioritized;
import jakarta.inject.Inject;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Authenticates every gRPC call from its {@code x-api-key} metadata and puts the caller into
 * {@link GrpcCaller#current()}; otherwise closes the call with UNAUTHENTICATED (or RESOURCE_EXHAUSTED over the
 * tenant's rate, UNAVAILABLE when the store cannot answer). The lookup may query the registry store, so it runs on
 * a worker thread while the transport's events wait in a {@link DeferredListener}: the event loop never blocks.
 * grpc.health.v1, reflection and the Open Inference Protocol's server health and metadata need no key. The admin
 * credential manages tenants over REST only: on gRPC it may read the models (model info and list, the OIP model
 * metadata, configuration, statistics and repository index, as it may GET /v1/models) and load and unload them through
 * the OIP repository extension, and gets PERMISSION_DENIED for everything else, the same rule as the REST filter's
 * 403.
 */
@ApplicationScoped
@GlobalInterceptor
public class ApiKeyInterceptor implements ServerInterceptor, Prioritized {

    @Inject
    Authenticator authenticator;

    /**
     * The only tenant-less methods: the admin key may call them (REST: GET /v1/model, /v1/models, /v2/models/{name},
     * /v2/repository/**). Repository load and unload check for the admin key themselves.
     */
    private static final Set<String> ADMIN_METHODS = Set.of(
            ScorerGrpc.getGetModelInfoMethod().getFullMethodName(),
            ScorerGrpc.getListModelsMethod().getFullMethodName(),
            GRPCInferenceServiceGrpc.getModelMetadataMethod().getFullMethodName(),
            GRPCInferenceServiceGrpc.getModelReadyMethod().getFullMethodName(),
            GRPCInferenceServiceGrpc.getModelConfigMethod().getFullMethodName(),
            GRPCInferenceServiceGrpc.getModelStatisticsMethod().getFullMethodName(),
            GRPCInferenceServiceGrpc.getRepositoryIndexMethod().getFullMethodName(),
            GRPCInferenceServiceGrpc.getRepositoryModelLoadMethod().getFullMethodName(),
            GRPCInferenceServiceGrpc.getRepositoryModelUnloadMethod().getFullMethodName());

    private final Executor workers = Infrastructure.getDefaultWorkerPool();

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (PublicServices.isPublic(call.getMethodDescriptor())) {
            return next.startCall(call, headers);
        }
        String key = headers.get(GrpcCaller.API_KEY);
        Context context = Context.current();
        DeferredListener<Q> deferred = new DeferredListener<>();
        try {
            workers.execute(() -> {
                Caller caller;
                try {
                    caller = authenticator.authenticate(key);
                    if (!ADMIN_METHODS.contains(call.getMethodDescriptor().getFullMethodName())) {
                        caller.requireTenant();
                    }
                } catch (RuntimeException e) {
                    deferred.drop();
                    close(call, GrpcStatuses.toStatus(e, "authentication"));
                    return;
                }
                Origin origin = caller.origin(peerAddress(call), headers.get(GrpcCaller.REQUEST_ID));
                Context authenticated = context.withValues(GrpcCaller.CALLER, caller, GrpcCaller.ORIGIN, origin);
                ServerCall.Listener<Q> listener;
                try {
                    listener = Contexts.interceptCall(authenticated, call, headers, next);
                } catch (RuntimeException e) {
                    deferred.drop();
                    close(
                            call,
                            GrpcStatuses.toStatus(
                                    e, "starting " + call.getMethodDescriptor().getFullMethodName()));
                    return;
                }
                deferred.start(listener);
            });
        } catch (RejectedExecutionException e) {
            close(call, GrpcStatuses.toStatus(new ServeException(Reason.OVERLOADED, "server overloaded: retry later")));
            return new ServerCall.Listener<>() {};
        }
        return deferred;
    }

    /** The peer's IP from the transport attributes (grpc-java's Netty server sets them); null if unknown. */
    static String peerAddress(ServerCall<?, ?> call) {
        SocketAddress a = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        if (a instanceof InetSocketAddress inet) {
            return inet.getAddress() != null ? inet.getAddress().getHostAddress() : inet.getHostString();
        }
        return a == null ? null : a.toString();
    }

    private static void close(ServerCall<?, ?> call, StatusRuntimeException s) {
        call.close(s.getStatus(), s.getTrailers() == null ? new Metadata() : s.getTrailers());
    }

    /** Runs before other interceptors except the drain gate (higher value = earlier in Quarkus). */
    @Override
    public int getPriority() {
        return 10_000;
    }
}
