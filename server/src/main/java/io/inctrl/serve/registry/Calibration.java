package io.inctrl.serve.registry;

import java.util.List;

/**
 * Registration-time diagnostics of a prompt set and the threshold suggested from them.
 *
 * @param shotScores         leave-one-out score of each shot against the other K−1 (empty when K < 2)
 * @param suggestedThreshold decision threshold suggested from those scores, null when K < 2
 * @param outlierShots       indices of shots that look unlike the others
 * @param warnings           human-readable notes (outliers, K too small, ...)
 * @param fp16MaxAbsDiff     max |score_fp16 − score_fp32| over the shots scored against the full set; null for fp32
 * @param method             how the suggestion was derived ({@link TailFit#METHOD}); null in rows stored before
 *                           target false-positive rates existed (refitted on read)
 * @param targetFpr          false-positive rate the suggestion aims at (fraction of normal images flagged)
 * @param tail               fitted normal-score tail; null when K < 2
 * @param inspectionChoice   what {@code auto} inspection chose at registration and why; null when a mode was given
 */
// rows written by a later version with more fields still read here (rolling upgrades share one database)
@com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
public record Calibration(
        List<Float> shotScores,
        Float suggestedThreshold,
        List<Integer> outlierShots,
        List<String> warnings,
        Float fp16MaxAbsDiff,
        String method,
        Float targetFpr,
        TailFit tail,
        io.inctrl.serve.image.InspectionChoice inspectionChoice) {

    /** A fitted calibration without an inspection choice. */
    public Calibration(
            List<Float> shotScores,
            Float suggestedThreshold,
            List<Integer> outlierShots,
            List<String> warnings,
            Float fp16MaxAbsDiff,
            String method,
            Float targetFpr,
            TailFit tail) {
        this(shotScores, suggestedThreshold, outlierShots, warnings, fp16MaxAbsDiff, method, targetFpr, tail, null);
    }

    /** The same calibration recording {@code choice} (kept through retargeting and re-encoding). */
    public Calibration withInspectionChoice(io.inctrl.serve.image.InspectionChoice choice) {
        return new Calibration(
                shotScores,
                suggestedThreshold,
                outlierShots,
                warnings,
                fp16MaxAbsDiff,
                method,
                targetFpr,
                tail,
                choice);
    }

    public Calibration {
        shotScores = List.copyOf(shotScores);
        outlierShots = List.copyOf(outlierShots);
        warnings = List.copyOf(warnings);
    }

    /** Diagnostics without a fitted suggestion (K < 2, or before fitting). */
    public Calibration(
            List<Float> shotScores,
            Float suggestedThreshold,
            List<Integer> outlierShots,
            List<String> warnings,
            Float fp16MaxAbsDiff) {
        this(shotScores, suggestedThreshold, outlierShots, warnings, fp16MaxAbsDiff, null, null, null, null);
    }

    /** The same diagnostics with {@code more} warnings appended (e.g. about single shots' sizes). */
    public Calibration withWarnings(List<String> more) {
        if (more.isEmpty()) {
            return this;
        }
        List<String> all = new java.util.ArrayList<>(warnings);
        all.addAll(more);
        return new Calibration(
                shotScores, suggestedThreshold, outlierShots, all, fp16MaxAbsDiff, method, targetFpr, tail);
    }

    /** Expected false-positive rate of {@code threshold} under the fitted tail; null without a fit or threshold. */
    public Float expectedFprAt(Float threshold) {
        return tail == null || threshold == null ? null : (float) tail.expectedFpr(threshold);
    }
}
