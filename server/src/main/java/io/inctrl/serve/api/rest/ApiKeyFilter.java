package io.inctrl.serve.api.rest;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.security.Authenticator;
import io.inctrl.serve.security.Caller;
import io.inctrl.serve.security.TokenAuthenticator;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ResourceInfo;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.util.Optional;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Authenticates every REST call from its {@code X-API-Key} header, or, when OIDC sign-in is on and no key is sent,
 * from an {@code Authorization: Bearer} token; 401 (or 403, 429 over the tenant's rate) as problem+json otherwise. Runs on the endpoint's thread, so the key lookup may touch the store.
 * Management routes outside JAX-RS (/q/health, /q/openapi) carry no tenant data and are not filtered; resources
 * marked {@link AuthenticatesItself} authenticate on their own.
 */
public class ApiKeyFilter {

    public static final String HEADER = "X-API-Key";

    /** The client's optional request id, recorded with its changes in the audit log. */
    public static final String REQUEST_ID_HEADER = "X-Request-Id";

    @Inject
    Authenticator authenticator;

    @Inject
    TokenAuthenticator tokens;

    @Inject
    CurrentCaller currentCaller;

    @ServerRequestFilter
    public Response authenticate(ContainerRequestContext request, ResourceInfo resource, HttpServerRequest http) {
        if (resource != null
                && resource.getResourceClass() != null
                && resource.getResourceClass().isAnnotationPresent(AuthenticatesItself.class)) {
            return null;
        }
        try {
            String key = request.getHeaderString(HEADER);
            Optional<String> token = key == null
                    ? tokens.bearerToken(request.getHeaderString(HttpHeaders.AUTHORIZATION))
                    : Optional.empty();
            Caller caller = token.isPresent() ? tokens.authenticate(token.get()) : authenticator.authenticate(key);
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
