package io.inctrl.serve.api.rest;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.security.Authenticator;
import io.inctrl.serve.security.TokenAuthenticator;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.util.Optional;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Authenticates every REST call from its {@code X-API-Key} header, or, when OIDC sign-in is on and no key is sent,
 * from an {@code Authorization: Bearer} token; 401 (or 403, 429 over the tenant's rate) as problem+json otherwise. Runs on the endpoint's thread, so the key lookup may touch the store.
 * Management routes outside JAX-RS (/q/health, /q/openapi) carry no tenant data and are not filtered.
 */
public class ApiKeyFilter {

    public static final String HEADER = "X-API-Key";

    @Inject
    Authenticator authenticator;

    @Inject
    TokenAuthenticator tokens;

    @Inject
    CurrentCaller currentCaller;

    @ServerRequestFilter
    public Response authenticate(ContainerRequestContext request) {
        try {
            String key = request.getHeaderString(HEADER);
            Optional<String> token = key == null
                    ? tokens.bearerToken(request.getHeaderString(HttpHeaders.AUTHORIZATION))
                    : Optional.empty();
            currentCaller.set(token.isPresent() ? tokens.authenticate(token.get()) : authenticator.authenticate(key));
            return null;
        } catch (ServeException e) {
            return Problems.response(e, request.getUriInfo().getPath());
        }
    }
}
