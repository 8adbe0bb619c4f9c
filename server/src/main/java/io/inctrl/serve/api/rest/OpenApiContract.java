package io.inctrl.serve.api.rest;

import io.quarkus.smallrye.openapi.OpenApiFilter;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.openapi.OASFactory;
import org.eclipse.microprofile.openapi.OASFilter;
import org.eclipse.microprofile.openapi.models.OpenAPI;
import org.eclipse.microprofile.openapi.models.Operation;
import org.eclipse.microprofile.openapi.models.PathItem;
import org.eclipse.microprofile.openapi.models.media.Schema;
import org.eclipse.microprofile.openapi.models.responses.APIResponse;
import org.eclipse.microprofile.openapi.models.security.SecurityScheme;

/**
 * Adds to the generated OpenAPI document what the annotations cannot say once for all endpoints: every
 * {@code /v1/**} operation takes the {@code X-API-Key} header ({@link ApiKeyFilter}) and fails with an RFC 7807
 * problem ({@link Problems}). Runs at build time: the document is static.
 */
@OpenApiFilter(OpenApiFilter.RunStage.BUILD)
public class OpenApiContract implements OASFilter {

    static final String SCHEME = "ApiKey";
    static final String PROBLEM_SCHEMA = "Problem";

    /** Statuses every authenticated operation can answer, in document order (a stable document across builds). */
    private static final List<Map.Entry<String, String>> COMMON = List.of(
            Map.entry("400", "Invalid request (reason names the field, e.g. EMPTY_IMAGE, INVALID_PARAMETER)"),
            Map.entry("401", "Missing or unknown API key"),
            Map.entry("403", "The key may not do this (e.g. the admin key on a tenant endpoint: TENANT_KEY_REQUIRED)"),
            Map.entry("429", "Tenant over its rate or quota, or the queue is full; see Retry-After"),
            Map.entry("500", "Unexpected failure; the detail carries an error id found in the server log"),
            Map.entry("503", "Draining or the registry store is unreachable; retry (on another replica)"));

    @Override
    public void filterOpenAPI(OpenAPI api) {
        if (api.getComponents() == null) {
            api.setComponents(OASFactory.createComponents());
        }
        api.getComponents()
                .addSecurityScheme(
                        SCHEME,
                        OASFactory.createSecurityScheme()
                                .type(SecurityScheme.Type.APIKEY)
                                .in(SecurityScheme.In.HEADER)
                                .name("X-API-Key")
                                .description("A tenant API key, or the admin credential for /v1/admin/**"));
        api.getComponents().addSchema(PROBLEM_SCHEMA, problemSchema());
        if (api.getPaths() == null || api.getPaths().getPathItems() == null) {
            return;
        }
        for (Map.Entry<String, PathItem> path : api.getPaths().getPathItems().entrySet()) {
            if (!path.getKey().startsWith("/v1/")) {
                continue;
            }
            for (Map.Entry<PathItem.HttpMethod, Operation> op :
                    path.getValue().getOperations().entrySet()) {
                declare(op.getValue(), path.getKey().contains("{"), op.getKey() != PathItem.HttpMethod.GET);
            }
        }
    }

    private static void declare(Operation op, boolean hasPathId, boolean changes) {
        op.setSecurity(List.of(OASFactory.createSecurityRequirement().addScheme(SCHEME)));
        if (op.getResponses() == null) {
            op.setResponses(OASFactory.createAPIResponses());
        }
        COMMON.forEach(e -> addProblem(op, e.getKey(), e.getValue()));
        if (hasPathId) {
            addProblem(op, "404", "No such object for this tenant (another tenant's id answers the same)");
        }
        if (changes) {
            addProblem(op, "409", "Conflicts with the current state (e.g. a name in use, NO_TEXT_ENCODER)");
        }
    }

    private static void addProblem(Operation op, String status, String description) {
        APIResponse r = op.getResponses().getAPIResponse(status);
        if (r == null) {
            r = OASFactory.createAPIResponse().description(description);
        }
        // a generated entry (e.g. smallrye's bare "400 Bad Request") keeps its text and gains the body it really has
        if (r.getContent() == null) {
            r.setContent(OASFactory.createContent());
        }
        r.getContent()
                .addMediaType(
                        Problems.MEDIA_TYPE,
                        OASFactory.createMediaType()
                                .schema(OASFactory.createSchema().ref("#/components/schemas/" + PROBLEM_SCHEMA)));
        if (status.equals("429") || status.equals("503")) {
            r.addHeader(
                    "Retry-After",
                    OASFactory.createHeader()
                            .description("Seconds to wait before retrying, when waiting helps")
                            .schema(OASFactory.createSchema().addType(Schema.SchemaType.INTEGER)));
        }
        op.getResponses().addAPIResponse(status, r);
    }

    private static Schema problemSchema() {
        Schema text = OASFactory.createSchema().addType(Schema.SchemaType.STRING);
        return OASFactory.createSchema()
                .addType(Schema.SchemaType.OBJECT)
                .description("RFC 7807 problem details, served as " + Problems.MEDIA_TYPE)
                .addProperty("type", text)
                .addProperty("title", text)
                .addProperty("status", OASFactory.createSchema().addType(Schema.SchemaType.INTEGER))
                .addProperty("detail", text)
                .addProperty("instance", text)
                .addProperty(
                        "reason",
                        OASFactory.createSchema()
                                .addType(Schema.SchemaType.STRING)
                                .description("Stable machine-readable code, e.g. EMPTY_IMAGE or QUEUE_FULL"))
                .required(List.of("title", "status", "reason"));
    }
}
