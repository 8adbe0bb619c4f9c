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

    /** Encoded views of shots: one per shot, or one per tile in tiles mode. */
    record EncodedShots(EncodedImages encoded, int[] shotOfView) {}

    /** As {@link #encodeImages} with the views of {@code mode}; every view of every shot joins the prompt pool. */
    default EncodedShots encodeShots(List<byte[]> images, io.inctrl.serve.image.Inspection mode) {
        if (mode != io.inctrl.serve.image.Inspection.CENTER_CROP) {
            throw new UnsupportedOperationException("this model port only centre-crops");
        }
        return new EncodedShots(
                encodeImages(images),
                java.util.stream.IntStream.range(0, images.size()).toArray());
    }

    /**
     * Width and height of an encoded image from its header (no decoding).
     *
     * @throws ServeException INVALID_ARGUMENT (UNDECODABLE_IMAGE) naming {@code what}
     */
    default int[] imageSize(byte[] image, String what) {
        try (javax.imageio.stream.ImageInputStream in =
                javax.imageio.ImageIO.createImageInputStream(new java.io.ByteArrayInputStream(image))) {
            java.util.Iterator<javax.imageio.ImageReader> readers = javax.imageio.ImageIO.getImageReaders(in);
            if (readers.hasNext()) {
                javax.imageio.ImageReader r = readers.next();
                try {
                    r.setInput(in);
                    return new int[] {r.getWidth(0), r.getHeight(0)};
                } finally {
                    r.dispose();
                }
            }
        } catch (java.io.IOException e) {
            // fall through to the refusal below
        }
        throw ServeException.invalid("UNDECODABLE_IMAGE", what + " cannot be decoded (no readable image header)");
    }

    /** The model's input side S (tiles are S x S). */
    default int inputSize() {
        return 240;
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
