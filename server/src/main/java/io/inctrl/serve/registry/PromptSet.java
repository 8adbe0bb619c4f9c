package io.inctrl.serve.registry;

import io.inctrl.serve.image.Inspection;
import java.time.Instant;
import java.util.Optional;

/**
 * Metadata of a registered prompt set (features and images are stored beside it).
 *
 * @param templateId        template set id, or {@link TemplateSet#BUILT_IN_ID}
 * @param templateVersion   version of that template set used for the calibration
 * @param bundleId          bundle the shots were encoded with
 * @param version           increases on every change of features or threshold (feature-cache key)
 * @param thresholdOverride operator threshold, null when the suggestion is in force
 */
public record PromptSet(
        String id,
        String tenantId,
        String name,
        String category,
        String templateId,
        long templateVersion,
        int shotCount,
        Precision precision,
        String bundleId,
        long version,
        Calibration calibration,
        Float thresholdOverride,
        Instant createdAt,
        Instant updatedAt,
        Inspection inspection) {

    public PromptSet {
        inspection = inspection == null ? Inspection.CENTER_CROP : inspection;
    }

    /** A centre-crop set (the official preprocessing). */
    public PromptSet(
            String id,
            String tenantId,
            String name,
            String category,
            String templateId,
            long templateVersion,
            int shotCount,
            Precision precision,
            String bundleId,
            long version,
            Calibration calibration,
            Float thresholdOverride,
            Instant createdAt,
            Instant updatedAt) {
        this(
                id,
                tenantId,
                name,
                category,
                templateId,
                templateVersion,
                shotCount,
                precision,
                bundleId,
                version,
                calibration,
                thresholdOverride,
                createdAt,
                updatedAt,
                Inspection.CENTER_CROP);
    }

    /** Threshold in force: the override, else the suggestion; empty when neither exists. */
    public Optional<Float> threshold() {
        return Optional.ofNullable(thresholdOverride != null ? thresholdOverride : calibration.suggestedThreshold());
    }

    public boolean isStale(String currentBundleId) {
        return !bundleId.equals(currentBundleId);
    }
}
