package io.inctrl.serve.inference;

import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;

/**
 * One image for the batcher: encode only (prompts null; e.g. inline or registered shots) or encode and score
 * against its own prompts and prior.
 */
public record ModelJob(float[] pixels, PromptFeatures prompts, TextPrior prior, long submittedNanos) {

    public static ModelJob encode(float[] pixels) {
        return new ModelJob(pixels, null, null, System.nanoTime());
    }

    public static ModelJob score(float[] pixels, PromptFeatures prompts, TextPrior prior) {
        return new ModelJob(pixels, prompts, prior, System.nanoTime());
    }
}
