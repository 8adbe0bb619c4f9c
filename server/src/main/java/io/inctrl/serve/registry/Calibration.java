package io.inctrl.serve.registry;

import java.util.List;

/**
 * Registration-time diagnostics of a prompt set.
 *
 * @param shotScores         leave-one-out score of each shot against the other K−1 (empty when K < 2)
 * @param suggestedThreshold decision threshold suggested from those scores, null when K < 2
 * @param outlierShots       indices of shots that look unlike the others
 * @param warnings           human-readable notes (outliers, K too small, ...)
 * @param fp16MaxAbsDiff     max |score_fp16 − score_fp32| over the shots scored against the full set; null for fp32
 */
public record Calibration(
        List<Float> shotScores,
        Float suggestedThreshold,
        List<Integer> outlierShots,
        List<String> warnings,
        Float fp16MaxAbsDiff) {

    public Calibration {
        shotScores = List.copyOf(shotScores);
        outlierShots = List.copyOf(outlierShots);
        warnings = List.copyOf(warnings);
    }
}
