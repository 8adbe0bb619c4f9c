package io.inctrl.serve.scoring;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import java.util.Optional;

/** Registered prompt sets, looked up by id for the calling tenant (implemented by the prompt registry). */
public interface PromptSource {

    /** What scoring needs from a registered set. */
    record Resolved(PromptFeatures features, TextPrior prior, Optional<Float> threshold, Inspection inspection) {
        public Resolved(PromptFeatures features, TextPrior prior, Optional<Float> threshold) {
            this(features, prior, threshold, Inspection.CENTER_CROP);
        }
    }

    /**
     * @throws ServeException NOT_FOUND when the set does not exist or belongs to another tenant (indistinguishable)
     */
    Resolved resolve(String tenant, String promptSetId);
}
