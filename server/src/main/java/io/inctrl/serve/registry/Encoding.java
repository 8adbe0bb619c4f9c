package io.inctrl.serve.registry;

import java.time.Instant;
import java.util.Optional;

/**
 * One encoding of one revision of a prompt set by one encoder (a model version: bundle id and compute precision),
 * with its own calibration, threshold override and version. Several encodings of one set live side by side.
 *
 * @param model        name of the model version that produced it; null for encodings stored before models existed
 * @param modelVersion its version; 0 when unknown
 * @param owner        replica holding the claim while {@code state} is ENCODING
 * @param calibration  null until READY
 * @param version      increases on every change of this encoding (the feature-cache key)
 * @param error        why the last attempt failed (FAILED only)
 */
public record Encoding(
        String promptSetId,
        long revision,
        String encoder,
        String model,
        long modelVersion,
        String bundleId,
        String computePrecision,
        State state,
        String owner,
        Instant leaseUntil,
        long templateVersion,
        Calibration calibration,
        Float thresholdOverride,
        long version,
        String error,
        Instant createdAt,
        Instant updatedAt) {

    public enum State {
        /** Claimed: a replica is computing it. */
        ENCODING,
        /** Features and calibration stored: it can serve. */
        READY,
        /** The last attempt failed; tried again later. */
        FAILED
    }

    public boolean ready() {
        return state == State.READY;
    }

    /** Threshold in force: the override, else the suggestion; empty when neither exists (or not READY). */
    public Optional<Float> threshold() {
        if (thresholdOverride != null) {
            return Optional.of(thresholdOverride);
        }
        return calibration == null ? Optional.empty() : Optional.ofNullable(calibration.suggestedThreshold());
    }

    /** {@code model:version}, or the bundle id for encodings stored before models existed. */
    public String producedBy() {
        return model == null ? bundleId : model + ":" + modelVersion;
    }

    public Encoding withCalibration(Calibration c) {
        return new Encoding(
                promptSetId,
                revision,
                encoder,
                model,
                modelVersion,
                bundleId,
                computePrecision,
                state,
                owner,
                leaseUntil,
                templateVersion,
                c,
                thresholdOverride,
                version,
                error,
                createdAt,
                updatedAt);
    }
}
