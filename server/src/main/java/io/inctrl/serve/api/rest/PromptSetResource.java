package io.inctrl.serve.api.rest;

import io.inctrl.serve.api.rest.Views.DriftView;
import io.inctrl.serve.api.rest.Views.PageView;
import io.inctrl.serve.api.rest.Views.PromptSetView;
import io.inctrl.serve.api.rest.Views.RemoveShotsRequest;
import io.inctrl.serve.api.rest.Views.RevisionView;
import io.inctrl.serve.api.rest.Views.RollbackRequest;
import io.inctrl.serve.api.rest.Views.ScoreView;
import io.inctrl.serve.api.rest.Views.StorageView;
import io.inctrl.serve.api.rest.Views.ThresholdRequest;
import io.inctrl.serve.drift.DriftConfig;
import io.inctrl.serve.drift.DriftWatch;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.models.ModelChoice;
import io.inctrl.serve.registry.ModelPort;
import io.inctrl.serve.registry.PromptSet;
import io.inctrl.serve.registry.PromptSetDetails;
import io.inctrl.serve.registry.PromptSetService;
import io.inctrl.serve.registry.TemplateSet;
import io.inctrl.serve.rollout.ComparisonService;
import io.inctrl.serve.rollout.VersionComparison;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.jboss.resteasy.reactive.RestForm;
import org.jboss.resteasy.reactive.multipart.FileUpload;

/** The tenant's prompt sets. Another tenant's id answers 404 exactly like an unknown id. */
@Path("/v1/prompt-sets")
@Produces(MediaType.APPLICATION_JSON)
public class PromptSetResource {

    @Inject
    PromptSetService service;

    @Inject
    CurrentCaller caller;

    @Inject
    ModelPort model;

    @Inject
    ComparisonService comparisons;

    @Inject
    DriftWatch drift;

    @Inject
    DriftConfig driftConfig;

    /**
     * Registers a prompt set from a multipart form: {@code name}, {@code category}, optional {@code templateId},
     * {@code fp16} and {@code targetFpr} (in (0, 0.5); absent = server default), and K ≥ 1 files in parts named
     * {@code shots}. Encodes once, stores atomically, calibrates.
     */
    @POST
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    public Response create(
            @RestForm("name") String name,
            @RestForm("category") String category,
            @RestForm("templateId") String templateId,
            @RestForm("fp16") @Parameter(schema = @Schema(type = SchemaType.BOOLEAN)) String fp16,
            @RestForm("targetFpr") @Parameter(schema = @Schema(type = SchemaType.NUMBER)) String targetFpr,
            @RestForm("inspection")
                    @Parameter(
                            description = "auto (default: chosen from the shots, see docs/registry.md), center-crop,"
                                    + " resize or tiles",
                            schema = @Schema(enumeration = {"auto", "center-crop", "resize", "tiles"}))
                    String inspection,
            @RestForm("model") @Parameter(description = "the model the set belongs to; absent = the default model")
                    String modelName,
            @RestForm("shots") List<FileUpload> shots) {
        String tenant = caller.tenantId();
        boolean half = parseBoolean("fp16", fp16);
        Float target = parseFloat("targetFpr", targetFpr);
        Inspection mode = parseInspection(inspection);
        List<byte[]> images = new ArrayList<>();
        for (FileUpload f : shots == null ? List.<FileUpload>of() : shots) {
            try {
                images.add(Files.readAllBytes(f.uploadedFile()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        PromptSetDetails p = service.register(
                caller.origin(),
                tenant,
                new PromptSetService.NewPromptSet(name, category, templateId, images, half, target, mode, modelName));
        return Response.status(201).entity(view(p)).build();
    }

    @GET
    public PageView list(
            @QueryParam("pageSize")
                    @Parameter(schema = @Schema(type = SchemaType.INTEGER, defaultValue = "50", maximum = "500"))
                    String pageSize,
            @QueryParam("pageToken") String pageToken) {
        String tenant = caller.tenantId();
        PromptSetService.Page page = service.list(tenant, parsePageSize(pageSize), pageToken);
        return new PageView(page.items().stream().map(this::view).toList(), page.nextPageToken());
    }

    @GET
    @Path("/{id}")
    public PromptSetView get(@PathParam("id") String id) {
        return view(service.get(caller.tenantId(), id));
    }

    /** Bytes stored for the set (features and original images). */
    @GET
    @Path("/{id}/storage")
    public StorageView storage(@PathParam("id") String id) {
        String tenant = caller.tenantId();
        PromptSet p = service.get(tenant, id).set();
        long[] b = service.storedBytes(tenant, id);
        return new StorageView(b[0], b[1], p.shotCount(), b[0] / p.shotCount());
    }

    /**
     * Overrides the decision threshold; {"threshold": null} (or absent) returns to the suggested one. An optional
     * {@code targetFpr} changes the set's target false-positive rate (the suggestion is refitted).
     */
    @PUT
    @Path("/{id}/threshold")
    @Consumes(MediaType.APPLICATION_JSON)
    public PromptSetView threshold(@PathParam("id") String id, ThresholdRequest r) {
        String tenant = caller.tenantId();
        long version = r == null || r.modelVersion() == null ? 0 : r.modelVersion();
        return view(service.setThreshold(
                caller.origin(),
                tenant,
                id,
                r == null ? null : r.threshold(),
                r == null ? null : r.targetFpr(),
                modelVersion(version)));
    }

    /**
     * Re-encodes the stored originals with one loaded version of the set's model ({@code modelVersion}; absent = the
     * serving version) and recalibrates that version's encoding.
     */
    @POST
    @Path("/{id}/re-encode")
    public PromptSetView reencode(
            @PathParam("id") String id,
            @QueryParam("modelVersion") @Parameter(schema = @Schema(type = SchemaType.INTEGER)) String version) {
        return view(service.reencode(caller.origin(), caller.tenantId(), id, modelVersion(parseVersion(version))));
    }

    /** Scores one image (multipart part {@code image}) against the set: a console "try it"; rigs use the Scorer. */
    @POST
    @Path("/{id}/score")
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    public ScoreView score(
            @PathParam("id") String id,
            @RestForm("image") FileUpload image,
            @RestForm("modelVersion") @Parameter(schema = @Schema(type = SchemaType.INTEGER)) String version) {
        String tenant = caller.tenantId();
        if (image == null) {
            throw ServeException.invalid(Reason.EMPTY_IMAGE, "a multipart part named 'image' is required");
        }
        try {
            return ScoreView.of(service.score(
                    tenant, id, Files.readAllBytes(image.uploadedFile()), modelVersion(parseVersion(version))));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Whether the set's recent traffic on this replica still matches the calibration of the version that serves it:
     * share of queries over the threshold vs the expected false-positive rate, and recent scores vs the shots'
     * leave-one-out scores.
     */
    @GET
    @Path("/{id}/drift")
    public DriftView drift(@PathParam("id") String id) {
        String tenant = caller.tenantId();
        PromptSetDetails d = service.get(tenant, id); // 404 for unknown and foreign ids alike
        if (!driftConfig.enabled()) {
            return DriftView.empty(id, "disabled", d.version(), "the drift watch is off (inctrl.drift.enabled)");
        }
        long expected = d.primary()
                .map(e -> io.inctrl.serve.registry.RegistryPromptSource.baselineVersion(d.set(), e))
                .orElse(Long.MIN_VALUE);
        return drift.report(tenant, id)
                .filter(r -> r.version() == expected)
                .map(r -> DriftView.of(id, r))
                .orElseGet(() -> DriftView.empty(
                        id,
                        "no-data",
                        d.version(),
                        "no query has been scored against the set's serving encoding on this replica yet"));
    }

    /**
     * How two versions of the set's model score it: on its own shots (each version's leave-one-out scores) and on
     * live traffic (shadow samples); score correlation and how many verdicts would flip at each version's own
     * threshold. {@code baseline} absent = the serving version; {@code candidate} absent = the shadow, canary or newest
     * other loaded version.
     */
    @GET
    @Path("/{id}/comparison")
    public VersionComparison comparison(
            @PathParam("id") String id,
            @QueryParam("baseline") @Parameter(schema = @Schema(type = SchemaType.INTEGER)) String baseline,
            @QueryParam("candidate") @Parameter(schema = @Schema(type = SchemaType.INTEGER)) String candidate) {
        return comparisons.compare(caller.tenantId(), id, parseVersion(baseline), parseVersion(candidate));
    }

    /**
     * Adds shots (a new revision of the set's shots, encoded and recalibrated now): files in parts named {@code shots}
     * and/or {@code queryId} parts naming queries scored against the set recently (the {@code queryId} of a score),
     * confirmed as normal without a second upload.
     */
    @POST
    @Path("/{id}/shots")
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    public PromptSetView addShots(
            @PathParam("id") String id,
            @RestForm("shots") List<FileUpload> shots,
            @RestForm("queryId") List<String> queryIds) {
        List<byte[]> images = new ArrayList<>();
        for (FileUpload f : shots == null ? List.<FileUpload>of() : shots) {
            try {
                images.add(Files.readAllBytes(f.uploadedFile()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return view(service.addShots(
                caller.origin(), caller.tenantId(), id, images, queryIds == null ? List.of() : queryIds));
    }

    /** Removes shots: {@code {"shots": [0-based positions]}}; a new revision, as adding. */
    @POST
    @Path("/{id}/shots/remove")
    @Consumes(MediaType.APPLICATION_JSON)
    public PromptSetView removeShots(@PathParam("id") String id, RemoveShotsRequest r) {
        return view(service.removeShots(caller.origin(), caller.tenantId(), id, r == null ? null : r.shots()));
    }

    /** The revisions of the set's shots, oldest first. */
    @GET
    @Path("/{id}/revisions")
    public List<RevisionView> revisions(@PathParam("id") String id) {
        String tenant = caller.tenantId();
        long current = service.get(tenant, id).set().revision();
        return service.revisions(tenant, id).stream()
                .map(r -> new RevisionView(
                        r.revision(), r.shotCount(), r.reason(), r.createdAt(), r.revision() == current))
                .toList();
    }

    /** Points the set at another revision of its shots: {@code {"revision": n}}; it scores as it did then. */
    @POST
    @Path("/{id}/rollback")
    @Consumes(MediaType.APPLICATION_JSON)
    public PromptSetView rollback(@PathParam("id") String id, RollbackRequest r) {
        if (r == null || r.revision() == null) {
            throw ServeException.invalid(Reason.MISSING_BODY, "a JSON body {\"revision\": n} is required");
        }
        return view(service.rollback(caller.origin(), caller.tenantId(), id, r.revision()));
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        service.delete(caller.origin(), caller.tenantId(), id);
        return Response.noContent().build();
    }

    /**
     * Parameters are taken as text and parsed here: JAX-RS would answer an unparsable query parameter with an empty
     * 404 and read any form value other than "true" as false.
     */
    static boolean parseBoolean(String name, String value) {
        if (value == null || value.isBlank()) {
            return false;
        }
        return switch (value.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default ->
                throw ServeException.invalid(
                        Reason.INVALID_PARAMETER, name + " must be true or false, not '" + LogSafe.of(value, 40) + "'");
        };
    }

    /** Absent or blank: null; otherwise a number (range checks are the service's). */
    /** Absent: auto; anything but auto, center-crop, resize or tiles is a 400. */
    static Inspection parseInspection(String value) {
        try {
            return Inspection.parse(value, Inspection.AUTO);
        } catch (IllegalArgumentException e) {
            throw ServeException.invalid(Reason.INVALID_INSPECTION, LogSafe.of(e.getMessage(), 120));
        }
    }

    static Float parseFloat(String name, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Float.parseFloat(value.strip());
        } catch (NumberFormatException e) {
            throw ServeException.invalid(
                    Reason.INVALID_PARAMETER, name + " must be a number, not '" + LogSafe.of(value, 40) + "'");
        }
    }

    /** 0 or absent: the default page size; the service caps it at {@value PromptSetService#MAX_PAGE_SIZE}. */
    static int parsePageSize(String value) {
        if (value == null || value.isBlank()) {
            return 0;
        }
        try {
            int n = Integer.parseInt(value.strip());
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw ServeException.invalid(
                    Reason.INVALID_PARAMETER,
                    "pageSize must be a whole number from 0 to " + PromptSetService.MAX_PAGE_SIZE + ", not '"
                            + LogSafe.of(value, 40) + "'");
        }
    }

    private PromptSetView view(PromptSetDetails d) {
        return PromptSetView.of(d, warnings(d.set()));
    }

    /** A version without a text tower: a chosen template set is stored but changes no score there. */
    private List<String> warnings(PromptSet p) {
        if (p.templateId() == null || TemplateSet.BUILT_IN_ID.equals(p.templateId())) {
            return List.of();
        }
        return model.serving(p.model() == null ? model.defaultModel() : p.model())
                .filter(v -> !v.hasTextPrior())
                .map(v -> List.of("text-prompt template set " + p.templateId() + " has no effect on " + v.ref()
                        + " (" + v.modeDescription()
                        + "): it has no text encoder, so the category and templates do not change the score."))
                .orElse(List.of());
    }

    /** A version of the set's own model; 0 = the serving one. */
    private static ModelChoice modelVersion(long version) {
        if (version < 0) {
            throw ServeException.invalid(
                    Reason.INVALID_MODEL_VERSION, "modelVersion must be a positive version number, or absent");
        }
        return ModelChoice.of("", version);
    }

    static long parseVersion(String value) {
        if (value == null || value.isBlank()) {
            return 0;
        }
        try {
            return Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            throw ServeException.invalid(
                    Reason.INVALID_PARAMETER,
                    "modelVersion must be a whole number, not '" + LogSafe.of(value, 40) + "'");
        }
    }
}
