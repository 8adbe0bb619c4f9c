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
 */
public record Calibration(
        List<Float> shotScores,
        Float suggestedThreshold,
        List<Integer> outlierShots,
        List<String> warnings,
        Float fp16MaxAbsDiff,
        String method,
        Float targetFpr,
        TailFit tail) {

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
        this(shotScores, suggestedThreshold, outlierShots, warnings, fp16MaxAbsDiff, null, null, null);
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
