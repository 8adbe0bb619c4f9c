package io.inctrl.serve.api.rest;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.security.Authenticator;
import jakarta.inject.Inject;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ResourceInfo;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Authenticates every REST call from its {@code X-API-Key} header; 401 (or 429 over the tenant's rate) as
 * problem+json otherwise. Runs on the endpoint's thread, so the key lookup may touch the store.
 * Management routes outside JAX-RS (/q/health, /q/openapi) carry no tenant data and are not filtered; resources
 * marked {@link AuthenticatesItself} authenticate on their own.
 */
public class ApiKeyFilter {

    public static final String HEADER = "X-API-Key";

    @Inject
    Authenticator authenticator;

    @Inject
    CurrentCaller currentCaller;

    @ServerRequestFilter
    public Response authenticate(ContainerRequestContext request, ResourceInfo resource) {
        if (resource != null
                && resource.getResourceClass() != null
                && resource.getResourceClass().isAnnotationPresent(AuthenticatesItself.class)) {
            return null;
        }
        try {
            currentCaller.set(authenticator.authenticate(request.getHeaderString(HEADER)));
            return null;
        } catch (ServeException e) {
            return Problems.response(e, request.getUriInfo().getPath());
        }
    }
}
