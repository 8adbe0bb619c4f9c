package io.inctrl.serve.api.oip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.inctrl.serve.api.inference.ModelStatistics;
import io.inctrl.serve.api.inference.StatisticDuration;
import io.inctrl.serve.api.rest.ApiKeyFilter;
import io.inctrl.serve.api.rest.AuthenticatesItself;
import io.inctrl.serve.api.rest.HttpGate;
import io.inctrl.serve.api.rest.Problems;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeErrors;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.lifecycle.FatalErrors;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.security.Caller;
import io.smallrye.common.annotation.Blocking;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * REST front of the Open Inference Protocol ({@code /v2}). Errors are the protocol's {@code {"error": message}}
 * (plus our {@code reason}) with the HTTP status of our error model, so tritonclient.http reports them. Server
 * health and metadata need no key; model metadata, readiness, configuration, statistics and the repository index any
 * valid key; repository load and unload the admin key; infer a tenant key. The caller is authenticated by
 * {@link HttpGate} from the headers before any of the body is read. The extensions' JSON is Triton's, as
 * tritonclient.http reads it.
 */
@Path("/v2")
@AuthenticatesItself
public class InferenceResource {

    static final String HEADER_LENGTH = "Inference-Header-Content-Length";

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
    ObjectMapper mapper;

    @Inject
    OipExtensions extensions;

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
    public ModelMetadata modelMetadata(@PathParam("name") String name, RoutingContext rc) {
        return versionMetadata(name, "", rc);
    }

    @GET
    @Path("models/{name}/versions/{version}")
    @Produces(MediaType.APPLICATION_JSON)
    public ModelMetadata versionMetadata(
            @PathParam("name") String name, @PathParam("version") String version, RoutingContext rc) {
        HttpGate.caller(rc);
        io.inctrl.serve.models.LoadedModel m = model.resolve(name, version);
        return new ModelMetadata(
                m.name(),
                model.versions(m.name()),
                OipModel.platform(m),
                model.inputs(),
                OipModel.outputs(m),
                OipModel.parameters(m));
    }

    @GET
    @Path("models/{name}/ready")
    public Response modelReady(@PathParam("name") String name, RoutingContext rc) {
        return versionReady(name, "", rc);
    }

    @GET
    @Path("models/{name}/versions/{version}/ready")
    public Response versionReady(
            @PathParam("name") String name, @PathParam("version") String version, RoutingContext rc) {
        HttpGate.caller(rc);
        model.choice(name, version);
        return Response.status(model.ready() ? 200 : 503).build();
    }

    @POST
    @Path("models/{name}/infer")
    @Consumes(MediaType.WILDCARD)
    @Blocking
    public CompletionStage<Response> infer(
            @PathParam("name") String name,
            RoutingContext rc,
            @HeaderParam(HEADER_LENGTH) String headerLength,
            byte[] body,
            UriInfo uri) {
        return versionInfer(name, "", rc, headerLength, body, uri);
    }

    /** Decodes on this worker thread, then answers when the batcher has scored every image. */
    @POST
    @Path("models/{name}/versions/{version}/infer")
    @Consumes(MediaType.WILDCARD)
    @Blocking
    public CompletionStage<Response> versionInfer(
            @PathParam("name") String name,
            @PathParam("version") String version,
            RoutingContext rc,
            @HeaderParam(HEADER_LENGTH) String headerLength,
            byte[] body,
            UriInfo uri) {
        String tenant = HttpGate.caller(rc).requireTenant();
        model.choice(name, version);
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

    /** Repository index: body {@code {"ready": true}} (optional) lists READY versions only. */
    @POST
    @Path("repository/index")
    @Consumes(MediaType.WILDCARD)
    @Produces(MediaType.APPLICATION_JSON)
    public List<OipExtensions.IndexEntry> repositoryIndex(RoutingContext rc, byte[] body) {
        HttpGate.caller(rc);
        JsonNode b = json(body);
        return extensions.index(b.path("ready").asBoolean(false));
    }

    /** Loads or reloads a model by its version policy (admin key); answers 200 with an empty body, as Triton does. */
    @POST
    @Path("repository/models/{name}/load")
    @Consumes(MediaType.WILDCARD)
    public Response repositoryLoad(
            @PathParam("name") String name,
            RoutingContext rc,
            @HeaderParam(ApiKeyFilter.REQUEST_ID_HEADER) String requestId,
            @Context HttpServerRequest http,
            byte[] body) {
        Caller caller = admin(rc, "loading a model");
        List<String> parameters = new ArrayList<>();
        json(body).path("parameters").fieldNames().forEachRemaining(parameters::add);
        extensions.load(caller.origin(ApiKeyFilter.remoteAddress(http), requestId), name, parameters);
        return Response.ok().build();
    }

    /** Unloads every loaded version of a model (admin key); parameters ({@code unload_dependents}) are ignored. */
    @POST
    @Path("repository/models/{name}/unload")
    @Consumes(MediaType.WILDCARD)
    public Response repositoryUnload(
            @PathParam("name") String name,
            RoutingContext rc,
            @HeaderParam(ApiKeyFilter.REQUEST_ID_HEADER) String requestId,
            @Context HttpServerRequest http,
            byte[] body) {
        Caller caller = admin(rc, "unloading a model");
        json(body);
        extensions.unload(caller.origin(ApiKeyFilter.remoteAddress(http), requestId), name);
        return Response.ok().build();
    }

    @GET
    @Path("models/{name}/config")
    @Produces(MediaType.APPLICATION_JSON)
    public Response modelConfig(@PathParam("name") String name, RoutingContext rc) {
        return versionConfig(name, "", rc);
    }

    /** Triton's ModelConfig printed as Triton prints it (proto field names, 64-bit integers as strings). */
    @GET
    @Path("models/{name}/versions/{version}/config")
    @Produces(MediaType.APPLICATION_JSON)
    public Response versionConfig(
            @PathParam("name") String name, @PathParam("version") String version, RoutingContext rc) {
        HttpGate.caller(rc);
        try {
            String json = JsonFormat.printer()
                    .preservingProtoFieldNames()
                    .alwaysPrintFieldsWithNoPresence()
                    .print(extensions.config(name, version));
            return Response.ok(json, MediaType.APPLICATION_JSON).build();
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("model configuration not printable", e);
        }
    }

    @GET
    @Path("models/stats")
    @Produces(MediaType.APPLICATION_JSON)
    public Map<String, Object> allStatistics(RoutingContext rc) {
        return versionStatistics("", "", rc);
    }

    @GET
    @Path("models/{name}/stats")
    @Produces(MediaType.APPLICATION_JSON)
    public Map<String, Object> modelStatistics(@PathParam("name") String name, RoutingContext rc) {
        return versionStatistics(name, "", rc);
    }

    /**
     * Triton's statistics JSON: counts and nanoseconds as numbers; compute_input and compute_output are not measured
     * per model here (decoding and resizing run before the batcher) and read 0, as on gRPC.
     */
    @GET
    @Path("models/{name}/versions/{version}/stats")
    @Produces(MediaType.APPLICATION_JSON)
    public Map<String, Object> versionStatistics(
            @PathParam("name") String name, @PathParam("version") String version, RoutingContext rc) {
        HttpGate.caller(rc);
        List<Map<String, Object>> stats = new ArrayList<>();
        for (ModelStatistics s : extensions.statistics(name, version)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", s.getName());
            m.put("version", s.getVersion());
            m.put("last_inference", s.getLastInference());
            m.put("inference_count", s.getInferenceCount());
            m.put("execution_count", s.getExecutionCount());
            Map<String, Object> inference = new LinkedHashMap<>();
            inference.put("success", duration(s.getInferenceStats().getSuccess()));
            inference.put("fail", duration(s.getInferenceStats().getFail()));
            inference.put("queue", duration(s.getInferenceStats().getQueue()));
            inference.put("compute_input", duration(StatisticDuration.getDefaultInstance()));
            inference.put("compute_infer", duration(s.getInferenceStats().getComputeInfer()));
            inference.put("compute_output", duration(StatisticDuration.getDefaultInstance()));
            m.put("inference_stats", inference);
            List<Map<String, Object>> batches = new ArrayList<>();
            s.getBatchStatsList().forEach(b -> {
                Map<String, Object> bm = new LinkedHashMap<>();
                bm.put("batch_size", b.getBatchSize());
                bm.put("compute_input", duration(StatisticDuration.getDefaultInstance()));
                bm.put("compute_infer", duration(b.getComputeInfer()));
                bm.put("compute_output", duration(StatisticDuration.getDefaultInstance()));
                batches.add(bm);
            });
            m.put("batch_stats", batches);
            stats.add(m);
        }
        return Map.of("model_stats", stats);
    }

    private static Map<String, Object> duration(StatisticDuration d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", d.getCount());
        m.put("ns", d.getNs());
        return m;
    }

    private static Caller admin(RoutingContext rc, String what) {
        Caller caller = HttpGate.caller(rc);
        caller.requireAdmin(what);
        return caller;
    }

    /** An optional JSON object body (tritonclient sends none, {} or {"parameters": ...}). */
    private JsonNode json(byte[] body) {
        if (body == null || body.length == 0) {
            return mapper.createObjectNode();
        }
        try {
            JsonNode n = mapper.readTree(body);
            if (n == null || n.isMissingNode() || n.isNull()) {
                return mapper.createObjectNode();
            }
            if (!n.isObject()) {
                throw ServeException.invalid(Reason.MALFORMED_BODY, "the request body must be a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw ServeException.invalid(Reason.MALFORMED_BODY, "the request body is not valid JSON");
        }
    }

    @ServerExceptionMapper
    public Response map(ServeException e, UriInfo uri) {
        return error(e, uri);
    }

    /** Our error model's status and retry hint (one classifier, one reason catalogue); the body is the protocol's. */
    static Response error(Throwable t, UriInfo uri) {
        ServeException e = ServeErrors.classify(t, "REST " + LogSafe.of(uri.getPath(), 200));
        Response.ResponseBuilder b = Response.status(e.reasonCode().httpStatus())
                .type(MediaType.APPLICATION_JSON)
                .entity(body(e));
        Problems.headers(e).forEach(b::header);
        return b.build();
    }

    /** The protocol's error body of an already classified error. */
    public static Problems.OipError body(ServeException e) {
        return Problems.oipError(e);
    }
}
