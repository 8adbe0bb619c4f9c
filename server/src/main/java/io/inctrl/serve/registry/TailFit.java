package io.inctrl.serve.registry;

import java.util.List;

/**
 * Upper tail of the normal-image score distribution of a prompt set, fitted from its K leave-one-out shot scores.
 *
 * <p>Method {@value #METHOD}: scores live in [0, 1] and are skewed near the bounds, so logit(score) is modelled as
 * normal. Its mean is the shots' mean; its variance is shrunk towards a prior spread ({@code priorScale}, worth
 * {@code priorDof} pseudo-observations): (priorDof·priorScale² + Σ(x − mean)²) / (priorDof + K − 1). With K = 2 or
 * identical scores the prior keeps the spread from collapsing to 0 (a threshold right at the shots); with many shots
 * the data dominate. The threshold for a target rate α is the plug-in (1 − α) quantile. A predictive (Student-t)
 * bound was measured too conservative here: each leave-one-out score compares a shot with only K − 1 references,
 * so it runs higher than a normal image scored against all K, which already errs towards fewer false positives.
 *
 * @param location mean of logit(score) over the shots
 * @param scale    shrunk standard deviation of logit(score)
 */
public record TailFit(double location, double scale) {

    public static final String METHOD = "logit-normal";

    /** Scores are clamped to [EPS, 1 − EPS] before the logit so that 0 and 1 stay finite. */
    static final double EPS = 1e-6;

    /** Fits the tail; {@code scores} needs at least 2 values; {@code priorScale > 0}, {@code priorDof > 0}. */
    public static TailFit fit(List<Float> scores, double priorScale, double priorDof) {
        int k = scores.size();
        if (k < 2) {
            throw new IllegalArgumentException("a tail fit needs at least 2 scores");
        }
        double mean = 0;
        for (float s : scores) {
            mean += logit(s);
        }
        mean /= k;
        double ss = 0;
        for (float s : scores) {
            double d = logit(s) - mean;
            ss += d * d;
        }
        double variance = (priorDof * priorScale * priorScale + ss) / (priorDof + k - 1);
        return new TailFit(mean, Math.sqrt(variance));
    }

    /** The score above which a fraction {@code fpr} of normal images is expected to fall. */
    public double threshold(double fpr) {
        return sigmoid(location + scale * normalQuantile(1 - fpr));
    }

    /** Expected fraction of normal images scoring at or above {@code threshold} (the decision rule is score ≥ t). */
    public double expectedFpr(double threshold) {
        if (!(threshold > 0)) {
            return 1.0;
        }
        if (threshold >= 1) {
            return 0.0; // scores are capped at 1; only a clamped score reaches a threshold of 1
        }
        return normalUpperTail((logit(threshold) - location) / scale);
    }

    static double logit(double p) {
        double q = Math.min(1 - EPS, Math.max(EPS, p));
        return Math.log(q / (1 - q));
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    /** P(Z ≥ z) for a standard normal Z, via erfc. */
    static double normalUpperTail(double z) {
        return 0.5 * erfc(z / Math.sqrt(2));
    }

    /** Inverse of the standard normal cdf by bisection: monotone by construction, precise to ~1e-12. */
    static double normalQuantile(double p) {
        double lo = -40;
        double hi = 40;
        for (int i = 0; i < 200 && hi - lo > 1e-12; i++) {
            double mid = 0.5 * (lo + hi);
            if (1 - normalUpperTail(mid) < p) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return 0.5 * (lo + hi);
    }

    /** Complementary error function: the Chebyshev fit of Numerical Recipes (relative error below 1.2e-7). */
    static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double poly = -z * z
                - 1.26551223
                + t
                        * (1.00002368
                                + t
                                        * (0.37409196
                                                + t
                                                        * (0.09678418
                                                                + t
                                                                        * (-0.18628806
                                                                                + t
                                                                                        * (0.27886807
                                                                                                + t
                                                                                                        * (-1.13520398
                                                                                                                + t
                                                                                                                        * (1.48851587
                                                                                                                                + t
                                                                                                                                        * (-0.82215223
                                                                                                                                                + t
                                                                                                                                                        * 0.17087277))))))));
        double r = t * Math.exp(poly);
        return x >= 0 ? r : 2 - r;
    }
}
