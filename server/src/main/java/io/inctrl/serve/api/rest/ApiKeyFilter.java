package io.inctrl.serve.api.rest;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.security.Caller;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.RoutingContext;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ResourceInfo;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Hands the caller {@link HttpGate} authenticated (from {@code X-API-Key}, or an OIDC bearer token when sign-in with
 * tokens is on, before any body was read) to the JAX-RS resources, with the audit origin (peer address, the client's
 * request id). Resources marked {@link AuthenticatesItself} read the caller themselves.
 */
public class ApiKeyFilter {

    public static final String HEADER = "X-API-Key";

    /** The client's optional request id, recorded with its changes in the audit log. */
    public static final String REQUEST_ID_HEADER = "X-Request-Id";

    @Inject
    CurrentCaller currentCaller;

    @ServerRequestFilter
    public Response authenticate(
            ContainerRequestContext request, ResourceInfo resource, HttpServerRequest http, RoutingContext rc) {
        if (resource != null
                && resource.getResourceClass() != null
                && resource.getResourceClass().isAnnotationPresent(AuthenticatesItself.class)) {
            return null;
        }
        try {
            Caller caller = HttpGate.caller(rc);
            currentCaller.set(caller, caller.origin(remoteAddress(http), request.getHeaderString(REQUEST_ID_HEADER)));
            return null;
        } catch (ServeException e) {
            return Problems.response(e, request.getUriInfo().getPath());
        }
    }

    /**
     * The peer's IP. Behind a proxy it is the proxy's, unless forwarding is enabled with
     * {@code quarkus.http.proxy.proxy-address-forwarding} (+ {@code allow-x-forwarded}, {@code trusted-proxies}):
     * then Quarkus has already replaced it with the forwarded client address, from trusted proxies only.
     */
    public static String remoteAddress(HttpServerRequest http) {
        SocketAddress a = http == null ? null : http.remoteAddress();
        return a == null ? null : a.hostAddress();
    }
}
