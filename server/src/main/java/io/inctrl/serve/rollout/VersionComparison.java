package io.inctrl.serve.rollout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How two versions of a model score one prompt set: on the set's own shots (each version's leave-one-out scores) and
 * on live traffic (shadow samples). A verdict flips when one version's score is at or above its own threshold and the
 * other's is not: each version is judged by its own calibration, since scores of two models are not comparable.
 *
 * @param baselineThreshold  threshold in force on the baseline version (null: none)
 * @param candidateThreshold threshold in force on the candidate version (null: none)
 */
public record VersionComparison(
        String promptSetId,
        String model,
        long baselineVersion,
        long candidateVersion,
        Float baselineThreshold,
        Float candidateThreshold,
        Agreement shots,
        Agreement traffic) {

    /**
     * Agreement of {@code n} paired scores.
     *
     * @param pearson            linear correlation (null for fewer than 2 pairs or no spread)
     * @param spearman           rank correlation (null likewise)
     * @param meanAbsDiff        mean |candidate − baseline| (null without pairs)
     * @param flipsToAnomalous   pairs anomalous on the candidate but not on the baseline
     * @param flipsToNormal      pairs anomalous on the baseline but not on the candidate
     */
    public record Agreement(
            int n, Double pearson, Double spearman, Double meanAbsDiff, int flipsToAnomalous, int flipsToNormal) {

        static Agreement of(List<float[]> pairs, Float baselineThreshold, Float candidateThreshold) {
            int n = pairs.size();
            double[] a = new double[n];
            double[] b = new double[n];
            double diff = 0;
            int up = 0;
            int down = 0;
            for (int i = 0; i < n; i++) {
                a[i] = pairs.get(i)[0];
                b[i] = pairs.get(i)[1];
                diff += Math.abs(a[i] - b[i]);
                if (baselineThreshold != null && candidateThreshold != null) {
                    boolean before = a[i] >= baselineThreshold;
                    boolean after = b[i] >= candidateThreshold;
                    up += !before && after ? 1 : 0;
                    down += before && !after ? 1 : 0;
                }
            }
            return new Agreement(n, pearson(a, b), pearson(ranks(a), ranks(b)), n == 0 ? null : diff / n, up, down);
        }

        private static Double pearson(double[] a, double[] b) {
            int n = a.length;
            if (n < 2) {
                return null;
            }
            double ma = Arrays.stream(a).average().orElse(0);
            double mb = Arrays.stream(b).average().orElse(0);
            double sab = 0;
            double saa = 0;
            double sbb = 0;
            for (int i = 0; i < n; i++) {
                sab += (a[i] - ma) * (b[i] - mb);
                saa += (a[i] - ma) * (a[i] - ma);
                sbb += (b[i] - mb) * (b[i] - mb);
            }
            return saa == 0 || sbb == 0 ? null : sab / Math.sqrt(saa * sbb);
        }

        /** Average ranks (ties share their mean rank), for Spearman's coefficient. */
        private static double[] ranks(double[] v) {
            Integer[] order = new Integer[v.length];
            for (int i = 0; i < v.length; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (x, y) -> Double.compare(v[x], v[y]));
            double[] r = new double[v.length];
            int i = 0;
            while (i < v.length) {
                int j = i;
                while (j + 1 < v.length && v[order[j + 1]] == v[order[i]]) {
                    j++;
                }
                double mean = (i + j) / 2.0 + 1;
                for (int k = i; k <= j; k++) {
                    r[order[k]] = mean;
                }
                i = j + 1;
            }
            return r;
        }
    }

    /** Pairs (baseline[i], candidate[i]) of two equally long score lists. */
    static List<float[]> zip(List<Float> baseline, List<Float> candidate) {
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < Math.min(baseline.size(), candidate.size()); i++) {
            out.add(new float[] {baseline.get(i), candidate.get(i)});
        }
        return out;
    }
}
