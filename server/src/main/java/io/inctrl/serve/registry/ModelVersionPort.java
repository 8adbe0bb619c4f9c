package io.inctrl.serve.registry;

import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.models.ModelRef;
import io.inctrl.serve.text.PromptTemplates;
import java.util.List;

/** One loaded model version as the registry uses it: encoding shots and scoring them through its batcher. */
public interface ModelVersionPort {

    ModelRef ref();

    /** The same version submitting its work in batcher lane {@code lane} (e.g. background encodings). */
    default ModelVersionPort inLane(String lane) {
        return this;
    }

    String bundleId();

    /** What its encodings are keyed by: bundle id and compute precision (see {@code LoadedModel#encoderId}). */
    String encoderId();

    /** {@code fp32}, {@code bf16} or {@code int8}. */
    String precision();

    /** The side S of the version's square input (tiles are S x S). */
    int inputSize();

    /** False for vision-only bundles: categories and templates then change no score. */
    boolean hasTextPrior();

    /** What the bundle computes, in words (e.g. "generic patch residual ... — not InCTRL"). */
    String modeDescription();

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

    /**
     * Decodes, preprocesses and encodes images with the views of {@code mode}; every view of every shot joins the
     * prompt pool.
     *
     * @throws io.inctrl.serve.error.ServeException INVALID_ARGUMENT naming the bad image
     */
    EncodedShots encodeShots(List<byte[]> images, Inspection mode);

    /** Centre-crop encodings of images (raw per-image features plus ψ(g)). */
    default EncodedImages encodeImages(List<byte[]> images) {
        return encodeShots(images, Inspection.CENTER_CROP).encoded();
    }

    /** The text prior of a category under {@code templates}; cached per version. Blocking. */
    TextPrior textPrior(PromptTemplates templates, String category);

    /** Scores query i against prompts i, all with one prior, through the batcher. Blocking. */
    List<InctrlScores> scoreEach(ImageFeatures queries, List<PromptFeatures> prompts, TextPrior prior);

    default InctrlScores score(ImageFeatures query, PromptFeatures prompts, TextPrior prior) {
        return scoreEach(query, List.of(prompts), prior).get(0);
    }
}
