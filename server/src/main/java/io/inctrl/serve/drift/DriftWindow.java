package io.inctrl.serve.drift;

import java.util.Arrays;
import java.util.Locale;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.special.Beta;

/**
 * The recent scores of one prompt set on this replica (at most {@code capacity}, none older than {@code maxAge}) and
 * the two tests against the set's {@link Baseline}:
 *
 * <ul>
 *   <li><b>Exceedances.</b> x of the n recent scores are at or over the threshold. Under "no drift" x is at most
 *       Binomial(n, p_tol) with p_tol = max(factor · expected FPR, floor): the exact one-sided tail P(X ≥ x) =
 *       I_{p_tol}(x, n − x + 1) (regularised incomplete beta) below alpha signals.</li>
 *   <li><b>Scores.</b> A one-sided Mann–Whitney test of the recent scores against the calibration's leave-one-out
 *       shot scores (a two-sample test, so the uncertainty of a K-shot calibration is in it; a test against the
 *       fitted tail would treat the fit as exact and fire on its estimation error alone). U counts pairs (recent,
 *       shot) with recent &gt; shot (ties ½); normal approximation with tie and continuity corrections. It also
 *       catches a shift that stays under the threshold. Leave-one-out scores run slightly high (K − 1 references),
 *       which errs against false signals.</li>
 * </ul>
 *
 * Both are evaluated after every score, so alpha is small. A new baseline version (re-encode, new shots, threshold
 * change) empties the window: earlier scores say nothing about the new calibration. Not thread-safe: the owner
 * ({@link DriftWatch}) synchronises on the instance.
 */
public final class DriftWindow {

    /** Test settings (from {@link DriftConfig}). */
    public record Params(int minSamples, double alpha, double fprToleranceFactor, double minToleratedFpr) {}

    /** Whether the recent traffic still matches the calibration. */
    public enum State {
        /** fewer than min-samples recent scores */
        INSUFFICIENT,
        /** the set has neither a threshold with an expected FPR nor two shot scores: nothing to compare with */
        NO_BASELINE,
        OK,
        DRIFT
    }

    private static final NormalDistribution NORMAL = new NormalDistribution(null, 0, 1);

    private final int capacity;
    private final long maxAgeMillis;
    private final float[] scores;
    private final long[] atMillis;
    private int head; // next write position
    private int size;
    private long observed;
    private Baseline baseline;

    public DriftWindow(int capacity, long maxAgeMillis) {
        if (capacity < 1) {
            throw new IllegalArgumentException("drift window must hold at least one score");
        }
        this.capacity = capacity;
        this.maxAgeMillis = maxAgeMillis;
        this.scores = new float[capacity];
        this.atMillis = new long[capacity];
    }

    /** Adds one score against {@code b}; a baseline of another version starts a new window. */
    public void observe(Baseline b, float score, long nowMillis) {
        if (baseline == null || baseline.version() != b.version()) {
            baseline = b;
            head = 0;
            size = 0;
            observed = 0;
        }
        scores[head] = score;
        atMillis[head] = nowMillis;
        head = (head + 1) % capacity;
        size = Math.min(size + 1, capacity);
        observed++;
    }

    public Baseline baseline() {
        return baseline;
    }

    /** The recent scores, oldest first, without those older than max-age at {@code nowMillis}. */
    float[] recent(long nowMillis) {
        float[] out = new float[size];
        int n = 0;
        for (int i = 0; i < size; i++) {
            int at = Math.floorMod(head - size + i, capacity);
            if (nowMillis - atMillis[at] <= maxAgeMillis) {
                out[n++] = scores[at];
            }
        }
        return Arrays.copyOf(out, n);
    }

    public DriftReport evaluate(Params p, long nowMillis) {
        if (baseline == null) {
            return null;
        }
        float[] recent = recent(nowMillis);
        int n = recent.length;
        Baseline b = baseline;
        // exceedances
        Integer over = null;
        Double share = null;
        Double tolerated = null;
        Double exceedP = null;
        if (b.hasThreshold()) {
            int x = 0;
            for (float s : recent) {
                if (s >= b.threshold()) { // the Scorer's rule: is_anomalous = score >= threshold
                    x++;
                }
            }
            over = x;
            share = n == 0 ? null : (double) x / n;
            if (b.hasExpectedFpr() && n > 0) {
                tolerated = Math.min(0.5, Math.max(p.fprToleranceFactor() * b.expectedFpr(), p.minToleratedFpr()));
                exceedP = binomialUpperTail(x, n, tolerated);
            }
        }
        boolean exceedSignal = exceedP != null && n >= p.minSamples() && exceedP < p.alpha();
        // score shift
        float[] shots = b.shotScores();
        Double above = null;
        Double scoreP = null;
        if (shots.length >= 2 && n > 0) {
            double[] u = mannWhitney(recent, shots);
            above = u[0];
            scoreP = u[1];
        }
        boolean scoreSignal = scoreP != null && n >= p.minSamples() && scoreP < p.alpha();
        State state;
        if (exceedP == null && scoreP == null && n > 0) {
            state = State.NO_BASELINE;
        } else if (n < p.minSamples()) {
            state = State.INSUFFICIENT;
        } else {
            state = exceedSignal || scoreSignal ? State.DRIFT : State.OK;
        }
        float[] sorted = recent.clone();
        Arrays.sort(sorted);
        return new DriftReport(
                b.version(),
                n,
                capacity,
                observed,
                b.hasThreshold() ? b.threshold() : null,
                b.hasExpectedFpr() ? b.expectedFpr() : null,
                tolerated,
                over,
                share,
                exceedP,
                exceedSignal,
                shots.length,
                shots.length == 0 ? null : quantile(shots, 0.5),
                n == 0 ? null : quantile(sorted, 0.5),
                n == 0 ? null : quantile(sorted, 0.9),
                above,
                scoreP,
                scoreSignal,
                state,
                reason(state, n, p, b, over, share, tolerated, exceedP, exceedSignal, above, scoreP, scoreSignal));
    }

    /** P(X ≥ x) for X ~ Binomial(n, p): the regularised incomplete beta I_p(x, n − x + 1), exact in the tail. */
    static double binomialUpperTail(int x, int n, double p) {
        if (x <= 0) {
            return 1.0;
        }
        if (x > n) {
            return 0.0;
        }
        return Beta.regularizedBeta(p, x, n - x + 1.0);
    }

    /**
     * One-sided Mann–Whitney test that {@code recent} scores stochastically exceed {@code shots}: {U / (n·K),
     * p-value}. U/(n·K) estimates P(recent &gt; shot); the p-value is the normal approximation with tie and
     * continuity corrections (1 when every value ties).
     */
    static double[] mannWhitney(float[] recent, float[] shots) {
        int n = recent.length;
        int k = shots.length;
        int total = n + k;
        float[] all = new float[total];
        boolean[] isRecent = new boolean[total];
        Integer[] idx = new Integer[total];
        for (int i = 0; i < total; i++) {
            idx[i] = i;
            all[i] = i < n ? recent[i] : shots[i - n];
            isRecent[i] = i < n;
        }
        Arrays.sort(idx, (a, c) -> Float.compare(all[a], all[c]));
        double rankSumRecent = 0;
        double tieTerm = 0;
        for (int i = 0; i < total; ) {
            int j = i;
            while (j + 1 < total && all[idx[j + 1]] == all[idx[i]]) {
                j++;
            }
            double rank = (i + j) / 2.0 + 1; // mid-rank
            int t = j - i + 1;
            tieTerm += (double) t * t * t - t;
            for (int m = i; m <= j; m++) {
                if (isRecent[idx[m]]) {
                    rankSumRecent += rank;
                }
            }
            i = j + 1;
        }
        double u = rankSumRecent - n * (n + 1) / 2.0;
        double mean = n * (double) k / 2;
        double var = n * (double) k / 12 * ((total + 1) - tieTerm / ((double) total * (total - 1)));
        double p = var <= 0 ? 1.0 : NORMAL.cumulativeProbability(-(u - mean - 0.5) / Math.sqrt(var));
        return new double[] {u / ((double) n * k), Math.min(1.0, p)};
    }

    static float quantile(float[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return (float) (sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]));
    }

    private static String reason(
            State state,
            int n,
            Params p,
            Baseline b,
            Integer over,
            Double share,
            Double tolerated,
            Double exceedP,
            boolean exceedSignal,
            Double above,
            Double scoreP,
            boolean scoreSignal) {
        return switch (state) {
            case NO_BASELINE -> "the set has no calibrated threshold or shot scores to compare recent scores with";
            case INSUFFICIENT ->
                String.format(
                        Locale.ROOT,
                        "%d recent scores; at least %d are needed before drift is judged",
                        n,
                        p.minSamples());
            case OK ->
                String.format(
                        Locale.ROOT,
                        "recent traffic matches the calibration (%d scores%s)",
                        n,
                        share == null ? "" : String.format(Locale.ROOT, ", %.1f %% over the threshold", 100 * share));
            case DRIFT -> {
                StringBuilder s = new StringBuilder();
                if (exceedSignal) {
                    s.append(String.format(
                            Locale.ROOT,
                            "%d of the last %d queries (%.1f %%) scored over the threshold %.4f; the calibration expects"
                                    + " %.1f %% (%.1f %% tolerated), p = %.1e",
                            over,
                            n,
                            100 * share,
                            b.threshold(),
                            100 * b.expectedFpr(),
                            100 * tolerated,
                            exceedP));
                }
                if (scoreSignal) {
                    s.append(s.length() == 0 ? "" : "; ")
                            .append(String.format(
                                    Locale.ROOT,
                                    "recent scores exceed the shots' leave-one-out scores in %.0f %% of pairs, p = %.1e",
                                    100 * above,
                                    scoreP));
                }
                yield s.append(": the images may have changed (camera, lighting, product) or the line produces more"
                                + " defects; check recent images and add new normal shots")
                        .toString();
            }
        };
    }
}
