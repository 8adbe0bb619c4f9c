package io.inctrl.serve.registry;

import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;

/**
 * Computes one encoding of a set's shots by one model version: the shots' features (stored at the set's storage
 * precision), the text prior of its category, and the leave-one-out calibration. No store access: callers decide where
 * the result goes (a registration, a claim, a re-encoding).
 */
@ApplicationScoped
public class PromptSetEncoder {

    @Inject
    Calibrator calibrator;

    @Inject
    RegistryCounters counters;

    /** Features as stored, features as read back, and the calibration computed with the latter. */
    public record Encoded(List<FeatureCodec.Part> parts, PromptFeatures stored, Calibration calibration) {}

    public Encoded encode(
            ModelVersionPort model,
            List<byte[]> shots,
            Inspection inspection,
            TemplateSet template,
            String category,
            Precision storage,
            float targetFpr) {
        ModelVersionPort.EncodedShots views = model.encodeShots(shots, inspection);
        EncodedImages raw = views.encoded();
        counters.shotImagesEncoded.addAndGet(shots.size());
        PromptFeatures full = raw.pool();
        List<FeatureCodec.Part> parts = FeatureCodec.encode(full, storage);
        // What later reads will see: fp16-rounded when stored as fp16, so scores survive a restart unchanged.
        PromptFeatures stored = storage == Precision.FP32 ? full : FeatureCodec.decode(parts, full.shots());
        TextPrior prior = model.textPrior(template.templates(), category);
        Calibration cal = calibrator
                .calibrate(model, raw, views.shotOfView(), full, stored, prior, storage, targetFpr)
                .withWarnings(views.warnings());
        return new Encoded(parts, stored, cal);
    }
}
