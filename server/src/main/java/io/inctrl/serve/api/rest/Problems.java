package io.inctrl.serve.api.rest;

import io.inctrl.serve.registry.RegistryException;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Renders registry errors as RFC 7807 problem details ({@code application/problem+json}). */
public class Problems {

    public static final String MEDIA_TYPE = "application/problem+json";

    /**
     * RFC 7807 body. {@code reason} is a stable machine-readable code such as {@code EMPTY_IMAGE}.
     */
    public record Problem(String type, String title, int status, String detail, String instance, String reason) {
    }

    public static Response response(RegistryException e, String instance) {
        int status = e.kind().httpStatus;
        Problem p = new Problem("urn:inctrl:problem:" + e.reason().toLowerCase(java.util.Locale.ROOT).replace('_', '-'),
                e.kind().name(), status, e.getMessage(), instance, e.reason());
        Response.ResponseBuilder b = Response.status(status).type(MEDIA_TYPE).entity(p);
        if (status == 429) {
            b.header("Retry-After", "1");
        }
        if (status == 401) {
            b.header("WWW-Authenticate", "ApiKey header=\"X-API-Key\"");
        }
        return b.build();
    }

    @ServerExceptionMapper
    public Response map(RegistryException e, jakarta.ws.rs.core.UriInfo uri) {
        return response(e, uri.getPath());
    }
}
