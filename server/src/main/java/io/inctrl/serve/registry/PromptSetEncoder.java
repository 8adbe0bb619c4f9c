package io.inctrl.serve.registry;

import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.image.InspectionChoice;
import io.inctrl.serve.model.Coreset;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;

/**
 * Computes one encoding of a set's shots by one model version: the shots' memory bank (exact up to
 * {@code inctrl.registry.memory-bank.max-tokens} rows per tap, a coreset above; stored at the set's storage
 * precision), the text prior of its category, and the leave-one-out calibration against what the set will serve. No
 * store access: callers decide where the result goes (a registration, a claim, a re-encoding, a new revision).
 */
@ApplicationScoped
public class PromptSetEncoder {

    @Inject
    Calibrator calibrator;

    @Inject
    RegistryCounters counters;

    @Inject
    RegistryConfig config;

    /** Features as stored, features as read back, and the calibration computed with the latter. */
    public record Encoded(List<FeatureCodec.Part> parts, PromptFeatures stored, Calibration calibration) {}

    /**
     * @param choice how {@code auto} inspection chose the set's mode (kept in the calibration), or null
     */
    public Encoded encode(
            ModelVersionPort model,
            List<byte[]> shots,
            Inspection inspection,
            TemplateSet template,
            String category,
            Precision storage,
            float targetFpr,
            InspectionChoice choice) {
        ModelVersionPort.EncodedShots views = model.encodeShots(shots, inspection);
        EncodedImages raw = views.encoded();
        counters.shotImagesEncoded.addAndGet(shots.size());
        Coreset.Reduction reduction =
                Coreset.reduceTracked(raw.pool(), config.memoryBank().maxTokens());
        PromptFeatures bank = reduction.bank();
        List<FeatureCodec.Part> parts = FeatureCodec.encode(bank, storage);
        // What later reads will see: fp16-rounded when stored as fp16, so scores survive a restart unchanged.
        PromptFeatures stored = storage == Precision.FP32 ? bank : FeatureCodec.decode(parts, bank.shots());
        TextPrior prior = model.textPrior(template.templates(), category);
        boolean reduced = java.util.Arrays.stream(reduction.kept()).anyMatch(k -> k != null);
        Calibration cal = calibrator
                .calibrate(
                        model,
                        raw,
                        views.shotOfView(),
                        bank,
                        stored,
                        prior,
                        storage,
                        targetFpr,
                        reduced ? reduction : null)
                .withWarnings(views.warnings());
        return new Encoded(parts, stored, choice == null ? cal : cal.withInspectionChoice(choice));
    }
}
