package io.inctrl.serve.api.rest;

import io.inctrl.serve.model.BundleManifest;
import io.inctrl.serve.model.ModelService;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.List;

/**
 * The loaded bundle, as gRPC {@code Scorer.GetModelInfo} reports it (without the verbatim manifest). Any valid key
 * may read it: the console's banner shows the bundle id and warns while the weights are random.
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
            String precision) {}

    @Inject
    ModelService model;

    @GET
    public ModelInfoView get() {
        BundleManifest m = model.manifest();
        return new ModelInfoView(
                m.bundleId(),
                m.kind(),
                m.arch(),
                m.modeDescription(),
                m.bundleKind() == io.inctrl.serve.model.BundleKind.INCTRL,
                m.weights().random(),
                m.weightsDescription(),
                m.image().size(),
                m.vision().grid()[0],
                m.vision().grid()[1],
                m.vision().tappedBlocks(),
                model.devices(),
                model.precision().wireName());
    }
}
