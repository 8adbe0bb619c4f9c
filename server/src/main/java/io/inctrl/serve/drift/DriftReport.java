package io.inctrl.serve.drift;

/**
 * The drift view of one prompt set on this replica (REST {@code GET /v1/prompt-sets/{id}/drift}, the console).
 * Nullable fields are absent when their test cannot be made (no threshold, no expected FPR, fewer than 2 shot scores,
 * an empty window).
 *
 * @param version          set version the baseline (threshold, calibration) belongs to
 * @param samples          scores in the window (most recent, at most {@code window}, none older than max-age)
 * @param window           window capacity
 * @param observed         scores seen since this baseline (on this replica)
 * @param exceedances      recent scores at or over the threshold
 * @param exceedanceShare  exceedances / samples
 * @param toleratedFpr     the rate the exceedance test is against (factor · expected FPR, floored)
 * @param exceedancePValue P(at least this many exceedances | tolerated rate), exact binomial tail
 * @param probAboveShots   share of (recent, shot) pairs where the recent score is higher (0.5 = alike)
 * @param scorePValue      one-sided Mann–Whitney p-value of "recent scores exceed the shots' leave-one-out scores"
 * @param needsNewShots    the set drifts: its threshold no longer means what it meant at calibration
 * @param reason           one sentence on why
 */
public record DriftReport(
        long version,
        int samples,
        int window,
        long observed,
        Float threshold,
        Float expectedFpr,
        Double toleratedFpr,
        Integer exceedances,
        Double exceedanceShare,
        Double exceedancePValue,
        boolean exceedanceSignal,
        int shotScoreCount,
        Float shotScoreMedian,
        Float recentMedian,
        Float recentP90,
        Double probAboveShots,
        Double scorePValue,
        boolean scoreSignal,
        DriftWindow.State state,
        String reason) {

    public boolean needsNewShots() {
        return state == DriftWindow.State.DRIFT;
    }
}
