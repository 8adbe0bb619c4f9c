package io.inctrl.serve.api.grpc;

/** The calling tenant of the current gRPC call (set by the security interceptor once authentication lands). */
final class TenantAccess {

    static final String ANONYMOUS = "default";

    private TenantAccess() {
    }

    static String current() {
        return ANONYMOUS;
    }
}
