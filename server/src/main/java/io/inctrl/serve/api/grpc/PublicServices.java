package io.inctrl.serve.api.grpc;

/** Services that carry no tenant data and work without a key or a drain check (k8s gRPC probes, grpcurl). */
public final class PublicServices {

    private PublicServices() {}

    public static boolean isPublic(String service) {
        return service != null && (service.equals("grpc.health.v1.Health") || service.startsWith("grpc.reflection."));
    }
}
