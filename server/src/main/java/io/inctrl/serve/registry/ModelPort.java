package io.inctrl.serve.registry;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.text.PromptTemplates;
import java.util.List;

/**
 * What the registry needs from the model core. Kept as a port so the registry (and its tests) do not depend on
 * DJL; the production adapter delegates to {@code io.inctrl.serve.model.ModelService}.
 */
public interface ModelPort {

    /** Id of the loaded bundle; prompt sets encoded with another id are stale. */
    String bundleId();

    /**
     * Decodes, preprocesses and encodes images (raw per-image features plus ψ(g)); {@link EncodedImages#pool()}
     * turns shots into prompt features.
     *
     * @throws ServeException of kind INVALID_ARGUMENT (reason UNDECODABLE_IMAGE, ...) naming the bad image
     */
    EncodedImages encodeImages(List<byte[]> images);

    /**
     * Encoded views of shots: one per shot, or one per tile in tiles mode; {@code warnings} about single shots
     * (e.g. too small to show detail) join the set's calibration warnings.
     */
    record EncodedShots(EncodedImages encoded, int[] shotOfView, List<String> warnings) {
        public EncodedShots {
            warnings = List.copyOf(warnings);
        }

        public EncodedShots(EncodedImages encoded, int[] shotOfView) {
            this(encoded, shotOfView, List.of());
        }
    }

    /** As {@link #encodeImages} with the views of {@code mode}; every view of every shot joins the prompt pool. */
    default EncodedShots encodeShots(List<byte[]> images, io.inctrl.serve.image.Inspection mode) {
        if (mode != io.inctrl.serve.image.Inspection.CENTER_CROP) {
            throw new UnsupportedOperationException("this model port only centre-crops");
        }
        return new EncodedShots(
                encodeImages(images),
                java.util.stream.IntStream.range(0, images.size()).toArray());
    }

    /** Encodes the sentence ensembles of a category (expensive: callers cache the result). */
    TextPrior textPrior(PromptTemplates templates, String category);

    /** Scores one encoded query image. */
    InctrlScores score(ImageFeatures query, PromptFeatures prompts, TextPrior prior);

    /** Scores query i against prompts i, all with one prior: one batched call (calibration scores K at once). */
    default List<InctrlScores> scoreEach(ImageFeatures queries, List<PromptFeatures> prompts, TextPrior prior) {
        java.util.ArrayList<InctrlScores> out = new java.util.ArrayList<>(queries.count());
        for (int i = 0; i < queries.count(); i++) {
            out.add(score(queries.slice(i), prompts.get(i), prior));
        }
        return out;
    }

    /**
     * Scores one query image against a registered set as a Score request of {@code tenant} would be scored (same
     * validation, budgets, batcher and metrics); {@code resolved} is the set as the registry just read it.
     */
    default InctrlScores scoreQuery(String tenant, String promptSetId, byte[] image, ResolvedPromptSet resolved) {
        return score(encodeImages(List.of(image)).features(), resolved.features(), resolved.prior());
    }

    /** Token count of a sentence including SOT/EOT (CLIP's context is 77). */
    int maxTokens(String sentence);
}
