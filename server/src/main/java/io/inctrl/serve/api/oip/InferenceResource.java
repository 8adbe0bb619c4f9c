package io.inctrl.serve.api.oip;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.inctrl.serve.api.rest.ApiKeyFilter;
import io.inctrl.serve.api.rest.AuthenticatesItself;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.lifecycle.FatalErrors;
import io.inctrl.serve.logging.InternalErrors;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.security.Authenticator;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * REST front of the Open Inference Protocol ({@code /v2}). Errors are the protocol's {@code {"error": message}}
 * (plus our {@code reason}) with the HTTP status of our error model, so tritonclient.http reports them. Server
 * health and metadata need no key; model metadata and readiness any valid key; infer a tenant key.
 */
@Path("/v2")
@AuthenticatesItself
public class InferenceResource {

    static final String HEADER_LENGTH = "Inference-Header-Content-Length";

    /** The protocol's error body, with our stable reason beside its message. */
    public record OipError(String error, String reason) {}

    /** ModelMetadata as JSON; {@code parameters} (optional in the protocol) carries the kind and the precision. */
    public record ModelMetadata(
            String name,
            List<String> versions,
            String platform,
            List<OipModel.TensorSpec> inputs,
            List<OipModel.TensorSpec> outputs,
            Map<String, Object> parameters) {}

    @Inject
    OipInference inference;

    @Inject
    OipModel model;

    @Inject
    OipServer server;

    @Inject
    FatalErrors fatalErrors;

    @Inject
    Authenticator authenticator;

    @Inject
    ObjectMapper mapper;

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public Map<String, Object> serverMetadata() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", server.name());
        m.put("version", server.version());
        m.put("extensions", server.extensions());
        return m;
    }

    @GET
    @Path("health/live")
    public Response live() {
        return Response.status(fatalErrors.first() == null ? 200 : 503).build();
    }

    @GET
    @Path("health/ready")
    public Response ready() {
        return Response.status(model.ready() ? 200 : 503).build();
    }

    @GET
    @Path("models/{name}")
    @Produces(MediaType.APPLICATION_JSON)
    public ModelMetadata modelMetadata(@PathParam("name") String name, @HeaderParam(ApiKeyFilter.HEADER) String key) {
        return versionMetadata(name, "", key);
    }

    @GET
    @Path("models/{name}/versions/{version}")
    @Produces(MediaType.APPLICATION_JSON)
    public ModelMetadata versionMetadata(
            @PathParam("name") String name,
            @PathParam("version") String version,
            @HeaderParam(ApiKeyFilter.HEADER) String key) {
        authenticator.authenticate(key);
        model.require(name, version);
        return new ModelMetadata(
                model.name(),
                List.of(OipModel.VERSION),
                model.platform(),
                model.inputs(),
                model.outputs(),
                model.parameters());
    }

    @GET
    @Path("models/{name}/ready")
    public Response modelReady(@PathParam("name") String name, @HeaderParam(ApiKeyFilter.HEADER) String key) {
        return versionReady(name, "", key);
    }

    @GET
    @Path("models/{name}/versions/{version}/ready")
    public Response versionReady(
            @PathParam("name") String name,
            @PathParam("version") String version,
            @HeaderParam(ApiKeyFilter.HEADER) String key) {
        authenticator.authenticate(key);
        model.require(name, version);
        return Response.status(model.ready() ? 200 : 503).build();
    }

    @POST
    @Path("models/{name}/infer")
    @Consumes(MediaType.WILDCARD)
    @Blocking
    public CompletionStage<Response> infer(
            @PathParam("name") String name,
            @HeaderParam(ApiKeyFilter.HEADER) String key,
            @HeaderParam(HEADER_LENGTH) String headerLength,
            byte[] body,
            UriInfo uri) {
        return versionInfer(name, "", key, headerLength, body, uri);
    }

    /** Decodes on this worker thread, then answers when the batcher has scored every image. */
    @POST
    @Path("models/{name}/versions/{version}/infer")
    @Consumes(MediaType.WILDCARD)
    @Blocking
    public CompletionStage<Response> versionInfer(
            @PathParam("name") String name,
            @PathParam("version") String version,
            @HeaderParam(ApiKeyFilter.HEADER) String key,
            @HeaderParam(HEADER_LENGTH) String headerLength,
            byte[] body,
            UriInfo uri) {
        String tenant = authenticator.authenticate(key).requireTenant();
        model.require(name, version);
        RestInferBody.Parsed parsed =
                RestInferBody.read(mapper, name, version, body == null ? new byte[0] : body, headerLength);
        return inference.infer(parsed.request(), tenant, null).handle((result, error) -> {
            if (error != null) {
                return error(error, uri);
            }
            RestInferBody.Encoded e = RestInferBody.write(mapper, result, parsed);
            Response.ResponseBuilder b = Response.ok(e.body());
            if (e.headerLength() == null) {
                return b.type(MediaType.APPLICATION_JSON).build();
            }
            return b.type(MediaType.APPLICATION_OCTET_STREAM)
                    .header(HEADER_LENGTH, e.headerLength())
                    .build();
        });
    }

    @ServerExceptionMapper
    public Response map(ServeException e, UriInfo uri) {
        return error(e, uri);
    }

    /** Our error model's status and retry hint; INTERNAL failures reach the client as an error id only. */
    static Response error(Throwable t, UriInfo uri) {
        Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        ServeException e;
        if (c instanceof ServeException se && se.code() != ServeException.Code.INTERNAL) {
            e = se;
        } else if (c instanceof CancellationException) {
            e = ServeException.cancelled();
        } else {
            String errorId = InternalErrors.log("REST " + LogSafe.of(uri.getPath(), 200) + " failed", c);
            e = new ServeException(ServeException.Code.INTERNAL, "INTERNAL", InternalErrors.clientMessage(errorId));
        }
        Response.ResponseBuilder b = Response.status(e.code().httpStatus)
                .type(MediaType.APPLICATION_JSON)
                .entity(new OipError(e.getMessage(), e.reason()));
        e.retryAfter().ifPresent(d -> b.header("Retry-After", Math.max(1, (d.toMillis() + 999) / 1000)));
        if (e.code() == ServeException.Code.UNAUTHENTICATED) {
            b.header("WWW-Authenticate", "ApiKey header=\"" + ApiKeyFilter.HEADER + "\"");
        }
        return b.build();
    }
}
