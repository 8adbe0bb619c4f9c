package io.inctrl.serve.api.grpc;

import io.grpc.Context;
import io.grpc.Metadata;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.security.Caller;

/** gRPC keys: the metadata entry carrying the API key, and the Context entry carrying the authenticated caller. */
public final class GrpcCaller {

    public static final Metadata.Key<String> API_KEY = Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);

    /** The client's optional request id, recorded with its changes in the audit log. */
    public static final Metadata.Key<String> REQUEST_ID =
            Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);

    /** Set by {@link ApiKeyInterceptor} for every call that reaches a service. */
    static final Context.Key<Caller> CALLER = Context.key("inctrl-caller");

    /** Set with {@link #CALLER}: the caller with the call's peer address, for the audit log. */
    static final Context.Key<Origin> ORIGIN = Context.key("inctrl-origin");

    private GrpcCaller() {}

    /**
     * The caller of the current call; must be read on the thread the call arrived on (the gRPC Context lives there).
     * Ask it {@link Caller#requireTenant()} for the tenant id.
     */
    public static Caller current() {
        Caller c = CALLER.get();
        if (c == null) { // only public services skip the interceptor, and they do not ask
            throw new ServeException(Reason.MISSING_API_KEY, "no authenticated caller");
        }
        return c;
    }

    /** Who made the current call and from where; read on the call's thread, like {@link #current()}. */
    public static Origin origin() {
        Origin o = ORIGIN.get();
        if (o == null) {
            throw new ServeException(Reason.MISSING_API_KEY, "no authenticated caller");
        }
        return o;
    }
}
