package io.inctrl.serve.api.grpc;

import io.grpc.MethodDescriptor;
import io.inctrl.serve.api.inference.GRPCInferenceServiceGrpc;
import java.util.Set;

/**
 * Calls that carry no tenant data and work without a key or a drain check (k8s gRPC probes, grpcurl, the Open
 * Inference Protocol's server health and metadata, which report NOT ready themselves while draining).
 */
public final class PublicServices {

    private static final Set<String> PUBLIC_METHODS = Set.of(
            GRPCInferenceServiceGrpc.getServerLiveMethod().getFullMethodName(),
            GRPCInferenceServiceGrpc.getServerReadyMethod().getFullMethodName(),
            GRPCInferenceServiceGrpc.getServerMetadataMethod().getFullMethodName());

    private PublicServices() {}

    public static boolean isPublic(MethodDescriptor<?, ?> method) {
        return isPublic(method.getServiceName()) || PUBLIC_METHODS.contains(method.getFullMethodName());
    }

    public static boolean isPublic(String service) {
        return service != null && (service.equals("grpc.health.v1.Health") || service.startsWith("grpc.reflection."));
    }
}
