package io.inctrl.serve.security;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.inctrl.serve.registry.RegistryException;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.spi.Prioritized;
import jakarta.inject.Inject;

/**
 * Authenticates every gRPC call from its {@code x-api-key} metadata and puts the caller into
 * {@link TenantContext#CALLER}; otherwise closes the call with UNAUTHENTICATED (or RESOURCE_EXHAUSTED over the
 * tenant's rate). Services never read headers themselves. grpc.health.v1 and reflection need no key.
 */
@ApplicationScoped
@GlobalInterceptor
public class ApiKeyInterceptor implements ServerInterceptor, Prioritized {

    @Inject
    Authenticator authenticator;

    /** Probes and tooling carry no tenant data and must work without a key (k8s gRPC probes, grpcurl). */
    static boolean isPublic(String service) {
        return service != null && (service.equals("grpc.health.v1.Health") || service.startsWith("grpc.reflection."));
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (isPublic(call.getMethodDescriptor().getServiceName())) {
            return next.startCall(call, headers);
        }
        Caller caller;
        try {
            caller = authenticator.authenticate(headers.get(TenantContext.API_KEY));
        } catch (RegistryException e) {
            Status status = e.kind() == RegistryException.Kind.RESOURCE_EXHAUSTED ? Status.RESOURCE_EXHAUSTED : Status.UNAUTHENTICATED;
            call.close(status.withDescription(e.getMessage()), new Metadata());
            return new ServerCall.Listener<>() { };
        }
        return Contexts.interceptCall(Context.current().withValue(TenantContext.CALLER, caller), call, headers, next);
    }

    /** Runs before other interceptors (higher value = earlier in Quarkus): nothing sees an unauthenticated call. */
    @Override
    public int getPriority() {
        return 10_000;
    }
}
