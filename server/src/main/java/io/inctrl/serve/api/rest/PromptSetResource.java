package io.inctrl.serve.api.rest;

import io.inctrl.serve.api.rest.Views.PageView;
import io.inctrl.serve.api.rest.Views.PromptSetView;
import io.inctrl.serve.api.rest.Views.ScoreView;
import io.inctrl.serve.api.rest.Views.StorageView;
import io.inctrl.serve.api.rest.Views.ThresholdRequest;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.model.ModelService;
import io.inctrl.serve.registry.ModelPort;
import io.inctrl.serve.registry.PromptSet;
import io.inctrl.serve.registry.PromptSetService;
import io.inctrl.serve.registry.TemplateSet;
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
    ModelService bundle;

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
                            description = "center-crop (default), resize or tiles",
                            schema = @Schema(enumeration = {"center-crop", "resize", "tiles"}))
                    String inspection,
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
        PromptSet p = service.register(caller.origin(), tenant, name, category, templateId, images, half, target, mode);
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
        PromptSet p = service.get(tenant, id);
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
        return view(service.setThreshold(
                caller.origin(), tenant, id, r == null ? null : r.threshold(), r == null ? null : r.targetFpr()));
    }

    /** Re-encodes the stored originals with the loaded bundle and recalibrates. */
    @POST
    @Path("/{id}/re-encode")
    public PromptSetView reencode(@PathParam("id") String id) {
        return view(service.reencode(caller.origin(), caller.tenantId(), id));
    }

    /** Scores one image (multipart part {@code image}) against the set: a console "try it"; rigs use the Scorer. */
    @POST
    @Path("/{id}/score")
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    public ScoreView score(@PathParam("id") String id, @RestForm("image") FileUpload image) {
        String tenant = caller.tenantId();
        if (image == null) {
            throw ServeException.invalid(Reason.EMPTY_IMAGE, "a multipart part named 'image' is required");
        }
        try {
            return ScoreView.of(service.score(tenant, id, Files.readAllBytes(image.uploadedFile())));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
    /** Absent: centre crop; anything but center-crop, resize or tiles is a 400. */
    static Inspection parseInspection(String value) {
        try {
            return Inspection.parse(value);
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

    private PromptSetView view(PromptSet p) {
        return PromptSetView.of(p, model.bundleId(), warnings(p));
    }

    /** A vision-only bundle has no text tower: a chosen template set is stored but changes no score. */
    private List<String> warnings(PromptSet p) {
        if (bundle.manifest().hasTextPrior()
                || p.templateId() == null
                || TemplateSet.BUILT_IN_ID.equals(p.templateId())) {
            return List.of();
        }
        return List.of("text-prompt template set " + p.templateId()
                + " has no effect on bundle " + model.bundleId() + " ("
                + bundle.manifest().modeDescription()
                + "): it has no text encoder, so the category and templates do not change the score.");
    }
}
