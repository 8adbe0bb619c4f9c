package io.inctrl.serve.inference;

import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import java.util.List;

/**
 * One unit of device work for the batcher. Every forward pass of the server is one of these, so all device work is
 * batched, queued fairly per tenant and bounded by the same admission limits.
 */
public sealed interface ModelJob {

    long submittedNanos();

    /** Encode an image only (inline or registered shots). */
    record Encode(float[] pixels, long submittedNanos) implements ModelJob {}

    /** Encode a query and score it against its own prompts and text prior. */
    record Score(float[] pixels, PromptFeatures prompts, TextPrior prior, long submittedNanos) implements ModelJob {}

    /** Score an already-encoded query (one image; e.g. leave-one-out calibration, template previews). */
    record ScoreEncoded(ImageFeatures query, PromptFeatures prompts, TextPrior prior, long submittedNanos)
            implements ModelJob {
        public ScoreEncoded {
            if (query.count() != 1) {
                throw new IllegalArgumentException("one query per job, got " + query.count());
            }
        }
    }

    /**
     * Encode the two sentence ensembles of a category through the text tower (spec §6). A job like any other, so
     * text encodings queue fairly per tenant and run on whichever device is free.
     */
    record Text(List<String> normal, List<String> anomalous, long submittedNanos) implements ModelJob {}

    static Encode encode(float[] pixels) {
        return new Encode(pixels, System.nanoTime());
    }

    static Score score(float[] pixels, PromptFeatures prompts, TextPrior prior) {
        return new Score(pixels, prompts, prior, System.nanoTime());
    }

    static ScoreEncoded scoreEncoded(ImageFeatures query, PromptFeatures prompts, TextPrior prior) {
        return new ScoreEncoded(query, prompts, prior, System.nanoTime());
    }

    static Text text(List<String> normal, List<String> anomalous) {
        return new Text(List.copyOf(normal), List.copyOf(anomalous), System.nanoTime());
    }
}
