package io.inctrl.serve.api.rest;

import io.inctrl.serve.api.rest.Views.PageView;
import io.inctrl.serve.api.rest.Views.PromptSetView;
import io.inctrl.serve.api.rest.Views.ScoreView;
import io.inctrl.serve.api.rest.Views.StorageView;
import io.inctrl.serve.api.rest.Views.ThresholdRequest;
import io.inctrl.serve.registry.ModelPort;
import io.inctrl.serve.registry.PromptSet;
import io.inctrl.serve.registry.PromptSetService;
import io.inctrl.serve.registry.RegistryException;
import io.inctrl.serve.security.CurrentCaller;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.RestForm;
import org.jboss.resteasy.reactive.multipart.FileUpload;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

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

    /**
     * Registers a prompt set from a multipart form: {@code name}, {@code category}, optional {@code templateId}
     * and {@code fp16}, and K ≥ 1 files in parts named {@code shots}. Encodes once, stores atomically, calibrates.
     */
    @POST
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    public Response create(@RestForm("name") String name, @RestForm("category") String category,
                           @RestForm("templateId") String templateId, @RestForm("fp16") @DefaultValue("false") boolean fp16,
                           @RestForm("shots") List<FileUpload> shots) {
        String tenant = caller.tenantId();
        List<byte[]> images = new ArrayList<>();
        for (FileUpload f : shots == null ? List.<FileUpload>of() : shots) {
            try {
                images.add(Files.readAllBytes(f.uploadedFile()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        PromptSet p = service.register(tenant, name, category, templateId, images, fp16);
        return Response.status(201).entity(view(p)).build();
    }

    @GET
    public PageView list(@QueryParam("pageSize") @DefaultValue("50") int pageSize, @QueryParam("pageToken") String pageToken) {
        PromptSetService.Page page = service.list(caller.tenantId(), pageSize, pageToken);
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

    /** Overrides the decision threshold; {"threshold": null} returns to the suggested one. */
    @PUT
    @Path("/{id}/threshold")
    @Consumes(MediaType.APPLICATION_JSON)
    public PromptSetView threshold(@PathParam("id") String id, ThresholdRequest r) {
        String tenant = caller.tenantId();
        return view(service.setThreshold(tenant, id, r == null ? null : r.threshold()));
    }

    /** Re-encodes the stored originals with the loaded bundle and recalibrates. */
    @POST
    @Path("/{id}/re-encode")
    public PromptSetView reencode(@PathParam("id") String id) {
        return view(service.reencode(caller.tenantId(), id));
    }

    /** Scores one image (multipart part {@code image}) against the set: a console "try it"; rigs use the Scorer. */
    @POST
    @Path("/{id}/score")
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    public ScoreView score(@PathParam("id") String id, @RestForm("image") FileUpload image) {
        String tenant = caller.tenantId();
        if (image == null) {
            throw RegistryException.invalid("EMPTY_IMAGE", "a multipart part named 'image' is required");
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
        service.delete(caller.tenantId(), id);
        return Response.noContent().build();
    }

    private PromptSetView view(PromptSet p) {
        return PromptSetView.of(p, model.bundleId());
    }
}
