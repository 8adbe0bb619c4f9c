package io.inctrl.serve.security;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.registry.RegistryException;
import io.quarkus.grpc.GlobalInterceptor;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.spi.Prioritized;
import jakarta.inject.Inject;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Authenticates every gRPC call from its {@code x-api-key} metadata and puts the caller into
 * {@link TenantContext#CALLER}; otherwise closes the call with UNAUTHENTICATED (or RESOURCE_EXHAUSTED over the
 * tenant's rate, UNAVAILABLE when the store cannot answer). The lookup may query the registry store, so it runs on
 * a worker thread while the transport's events wait in a {@link DeferredListener}: the event loop never blocks.
 * grpc.health.v1 and reflection need no key. The admin credential manages tenants over REST only: on gRPC it may
 * read the model info (as it may GET /v1/model) and gets PERMISSION_DENIED for everything else, the same rule as
 * the REST filter's 403.
 */
@ApplicationScoped
@GlobalInterceptor
public class ApiKeyInterceptor implements ServerInterceptor, Prioritized {

    @Inject
    Authenticator authenticator;

    /** The only tenant-less methods: the admin key may call them (REST: GET /v1/model). */
    private static final Set<String> ADMIN_METHODS = Set.of(ScorerGrpc.getGetModelInfoMethod().getFullMethodName());

    private final Executor workers = Infrastructure.getDefaultWorkerPool();

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (PublicServices.isPublic(call.getMethodDescriptor().getServiceName())) {
            return next.startCall(call, headers);
        }
        String key = headers.get(TenantContext.API_KEY);
        Context context = Context.current();
        DeferredListener<Q> deferred = new DeferredListener<>();
        try {
            workers.execute(() -> {
                Caller caller;
                try {
                    caller = authenticator.authenticate(key);
                } catch (RegistryException e) {
                    deferred.drop();
                    call.close(status(e), new Metadata());
                    return;
                }
                if (caller.tenantId() == null && !ADMIN_METHODS.contains(call.getMethodDescriptor().getFullMethodName())) {
                    deferred.drop();
                    call.close(Status.PERMISSION_DENIED.withDescription(Caller.TENANT_KEY_REQUIRED), new Metadata());
                    return;
                }
                Context authenticated = context.withValue(TenantContext.CALLER, caller);
                ServerCall.Listener<Q> listener;
                try {
                    listener = Contexts.interceptCall(authenticated, call, headers, next);
                } catch (RuntimeException e) {
                    deferred.drop();
                    call.close(Status.INTERNAL.withDescription("call could not be started"), new Metadata());
                    return;
                }
                deferred.start(listener);
            });
        } catch (RejectedExecutionException e) {
            call.close(Status.UNAVAILABLE.withDescription("server overloaded: retry later"), new Metadata());
            return new ServerCall.Listener<>() { };
        }
        return deferred;
    }

    private static Status status(RegistryException e) {
        Status s = switch (e.kind()) {
            case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
            case UNAVAILABLE -> Status.UNAVAILABLE;
            case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
            default -> Status.UNAUTHENTICATED;
        };
        return s.withDescription(e.getMessage());
    }

    /** Runs before other interceptors except the drain gate (higher value = earlier in Quarkus). */
    @Override
    public int getPriority() {
        return 10_000;
    }
}
