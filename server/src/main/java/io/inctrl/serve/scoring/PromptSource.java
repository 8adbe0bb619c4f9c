package io.inctrl.serve.scoring;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import java.util.Optional;

/** Registered prompt sets, looked up by id for the calling tenant (implemented by the prompt registry). */
public interface PromptSource {

    /**
     * What scoring needs from a registered set; {@code drift} is what its calibration expects of normal traffic (null:
     * the set is not watched for drift).
     */
    record Resolved(
            PromptFeatures features,
            TextPrior prior,
            Optional<Float> threshold,
            Inspection inspection,
            io.inctrl.serve.drift.Baseline drift) {
        public Resolved(PromptFeatures features, TextPrior prior, Optional<Float> threshold) {
            this(features, prior, threshold, Inspection.CENTER_CROP);
        }

        public Resolved(PromptFeatures features, TextPrior prior, Optional<Float> threshold, Inspection inspection) {
            this(features, prior, threshold, inspection, null);
        }
    }

    /**
     * @throws ServeException NOT_FOUND when the set does not exist or belongs to another tenant (indistinguishable)
     */
    Resolved resolve(String tenant, String promptSetId);
}
