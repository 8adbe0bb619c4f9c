package io.inctrl.serve.api.rest;

import io.inctrl.serve.model.BundleKind;
import io.inctrl.serve.model.BundleManifest;
import io.inctrl.serve.models.LoadedModel;
import io.inctrl.serve.models.ModelCatalog;
import io.inctrl.serve.models.ModelChoice;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;

/**
 * The bundle of one loaded model version (default: the default model's serving version), for the console and tools;
 * any valid key may read it.
 */
@Path("/v1/model")
@Produces(MediaType.APPLICATION_JSON)
public class ModelInfoResource {

    /**
     * See ModelInfo in scoring.proto. {@code inctrl} is false for vision-only patch-residual bundles: their score is
     * s_p alone and text-prompt templates have no effect. {@code precision} is "fp32", "bf16" or "int8": the arithmetic
     * of the vision (and text) tower (inctrl.model.precision; docs/bundle-format.md, "Precision variants").
     */
    public record ModelInfoView(
            String bundleId,
            String kind,
            String arch,
            String mode,
            boolean inctrl,
            boolean randomWeights,
            String weightsDescription,
            int imageSize,
            int mapHeight,
            int mapWidth,
            List<Integer> tappedBlocks,
            List<String> devices,
            String model,
            long modelVersion,
            String precision,
            boolean textPrior) {}

    @Inject
    ModelCatalog models;

    @GET
    public ModelInfoView get(
            @QueryParam("model") String model,
            @QueryParam("version") @Parameter(schema = @Schema(type = SchemaType.INTEGER)) String version) {
        LoadedModel v = models.describe(ModelChoice.of(model, PromptSetResource.parseVersion(version)));
        BundleManifest m = v.manifest();
        return new ModelInfoView(
                m.bundleId(),
                m.kind(),
                m.arch(),
                m.modeDescription(),
                m.bundleKind() == BundleKind.INCTRL,
                m.weights().random(),
                m.weightsDescription(),
                m.image().size(),
                m.vision().grid()[0],
                m.vision().grid()[1],
                m.vision().tappedBlocks(),
                v.devices(),
                v.name(),
                v.version(),
                v.precision(),
                m.hasTextPrior());
    }
}
