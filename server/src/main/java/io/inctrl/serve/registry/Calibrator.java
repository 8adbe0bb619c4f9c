package io.inctrl.serve.registry;

import io.inctrl.serve.image.ImageNotes;
import io.inctrl.serve.model.Coreset;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Registration-time calibration: each shot scored against the other K−1 (leave-one-out) gives a sample of scores
 * of normal images under this very prompt set. A tail fitted to that sample ({@link TailFit}) gives the threshold
 * whose expected false-positive rate is the set's target; outlier shots are flagged.
 */
public final class Calibrator {

    /** Accepted target false-positive rates: the open interval (0, MAX_TARGET_FPR). */
    public static final double MAX_TARGET_FPR = 0.5;

    private final RegistryConfig.Calibration cfg;

    public Calibrator(RegistryConfig.Calibration cfg) {
        this.cfg = cfg;
        if (!validTargetFpr(cfg.targetFpr())) {
            throw new IllegalArgumentException(
                    "inctrl.registry.calibration.target-fpr must be in (0, 0.5), got " + cfg.targetFpr());
        }
        if (!(cfg.priorLogitScale() > 0)
                || !(cfg.priorDof() > 0)
                || Double.isInfinite(cfg.priorLogitScale())
                || Double.isInfinite(cfg.priorDof())) {
            throw new IllegalArgumentException(
                    "inctrl.registry.calibration.prior-logit-scale and prior-dof must be finite and > 0");
        }
    }

    /** The target false-positive rate of sets registered without one (and of sets stored before targets existed). */
    public float defaultTargetFpr() {
        return (float) cfg.targetFpr();
    }

    public static boolean validTargetFpr(double t) {
        return t > 0 && t < MAX_TARGET_FPR; // false for NaN
    }

    /**
     * The suggestion of {@code c} for another target (or refitted with the current prior): shot scores, outliers
     * and warnings are kept, only the fit and the threshold change. No model call.
     */
    public Calibration retarget(Calibration c, float targetFpr) {
        TailFit tail =
                c.shotScores().size() < 2 ? null : TailFit.fit(c.shotScores(), cfg.priorLogitScale(), cfg.priorDof());
        Float suggested = tail == null ? null : (float) tail.threshold(targetFpr);
        return new Calibration(
                c.shotScores(),
                suggested,
                c.outlierShots(),
                c.warnings(),
                c.fp16MaxAbsDiff(),
                TailFit.METHOD,
                targetFpr,
                tail,
                c.inspectionChoice());
    }

    /**
     * @param shots     raw features of the K shots
     * @param stored    the pooled features exactly as they will be read back (fp16-rounded when stored as fp16)
     * @param precision storage precision; for FP16 the scores against fp32 and fp16 features are compared
     */
    public Calibration calibrate(
            ModelVersionPort model,
            EncodedImages encoded,
            PromptFeatures fp32,
            PromptFeatures stored,
            TextPrior prior,
            Precision precision,
            float targetFpr) {
        return calibrate(model, encoded, null, fp32, stored, prior, precision, targetFpr);
    }

    /**
     * As above for shots encoded as several views (tiles): {@code shotOfView[v]} is the shot view v belongs to, null
     * for one view per shot. A shot's leave-one-out score is the max over its views against the other shots' views.
     */
    public Calibration calibrate(
            ModelVersionPort model,
            EncodedImages encoded,
            int[] shotOfView,
            PromptFeatures fp32,
            PromptFeatures stored,
            TextPrior prior,
            Precision precision,
            float targetFpr) {
        return calibrate(model, encoded, shotOfView, fp32, stored, prior, precision, targetFpr, null);
    }

    /**
     * As above for a set served from a coreset ({@code reduction} of the shots' full bank; null: exact): a shot's
     * leave-one-out score is taken against the coreset without that shot's rows ({@link Coreset#withoutShot}), which
     * is what the set serves and keeps calibration cost bounded at any K.
     */
    public Calibration calibrate(
            ModelVersionPort model,
            EncodedImages encoded,
            int[] shotOfView,
            PromptFeatures fp32,
            PromptFeatures stored,
            TextPrior prior,
            Precision precision,
            float targetFpr,
            Coreset.Reduction reduction) {
        ImageFeatures shots = encoded.features();
        int views = shots.count();
        int[] shotOf = shotOfView != null
                ? shotOfView
                : java.util.stream.IntStream.range(0, views).toArray();
        int k = Arrays.stream(shotOf).max().orElse(-1) + 1;
        List<String> warnings = new ArrayList<>();
        List<Float> scores = new ArrayList<>(k);
        List<Integer> outliers = new ArrayList<>();
        if (k < 2) {
            warnings.add("calibration needs at least 2 shots: no threshold suggested");
        } else {
            for (float b : leaveOneOut(model, encoded, shotOf, prior, reduction)) {
                scores.add(b);
            }
            float[] sorted = new float[k];
            for (int i = 0; i < k; i++) {
                sorted[i] = scores.get(i);
            }
            Arrays.sort(sorted);
            float median = quantile(sorted, 0.5);
            float[] dev = new float[k];
            for (int i = 0; i < k; i++) {
                dev[i] = Math.abs(sorted[i] - median);
            }
            Arrays.sort(dev);
            double spread = Math.max(1.4826 * quantile(dev, 0.5), cfg.outlierMinSpread());
            for (int i = 0; i < k; i++) {
                double z = (scores.get(i) - median) / spread;
                if (z > cfg.outlierMadFactor()) {
                    outliers.add(i);
                    warnings.add(String.format(
                            Locale.ROOT,
                            "%s looks unlike the others (leave-one-out score %.4f, median %.4f)",
                            ImageNotes.shot(i),
                            scores.get(i),
                            median));
                }
            }
            if (k < 4) {
                warnings.add("only " + k + " shots: the suggested threshold rests on very few scores");
            }
        }
        Float fp16Diff = null;
        if (precision == Precision.FP16) {
            double max = 0;
            List<InctrlScores> a = model.scoreEach(shots, java.util.Collections.nCopies(views, fp32), prior);
            List<InctrlScores> b = model.scoreEach(shots, java.util.Collections.nCopies(views, stored), prior);
            for (int i = 0; i < views; i++) {
                max = Math.max(max, Math.abs(a.get(i).score() - b.get(i).score()));
            }
            fp16Diff = (float) max;
            if (max > cfg.fp16MaxAbsDiff()) {
                warnings.add(String.format(
                        Locale.ROOT,
                        "fp16 storage moves scores by up to %.2e (limit %.2e)",
                        max,
                        cfg.fp16MaxAbsDiff()));
            }
        }
        return retarget(new Calibration(scores, null, outliers, warnings, fp16Diff), targetFpr);
    }

    /**
     * Leave-one-out score of each shot: the max over its views of the view's score against every view of the other
     * shots (one batched model call). {@code shotOfView[v]} is the shot of view v; at least 2 shots.
     */
    public static float[] leaveOneOut(
            ModelVersionPort model, EncodedImages encoded, int[] shotOfView, TextPrior prior) {
        return leaveOneOut(model, encoded, shotOfView, prior, null);
    }

    /** As above against banks of the coreset {@code reduction} (null: exact banks of the other shots' views). */
    public static float[] leaveOneOut(
            ModelVersionPort model,
            EncodedImages encoded,
            int[] shotOfView,
            TextPrior prior,
            Coreset.Reduction reduction) {
        int views = encoded.features().count();
        int k = Arrays.stream(shotOfView).max().orElse(-1) + 1;
        List<PromptFeatures> others = new ArrayList<>(views);
        java.util.Map<Integer, PromptFeatures> perShot = new java.util.HashMap<>();
        for (int v = 0; v < views; v++) {
            int shot = shotOfView[v];
            others.add(perShot.computeIfAbsent(
                    shot,
                    s -> reduction == null
                            ? withoutShot(encoded, shotOfView, s).pool()
                            : Coreset.withoutShot(
                                    reduction,
                                    encoded.features().patches(),
                                    shotOfView,
                                    s,
                                    prototypeWithout(encoded, shotOfView, s))));
        }
        float[] best = new float[k];
        Arrays.fill(best, Float.NEGATIVE_INFINITY);
        List<InctrlScores> viewScores = model.scoreEach(encoded.features(), others, prior);
        for (int v = 0; v < views; v++) {
            best[shotOfView[v]] =
                    Math.max(best[shotOfView[v]], viewScores.get(v).score());
        }
        return best;
    }

    /** Mean ψ(g) of the views of every shot but {@code shot} (empty for bundles without heads). */
    static float[] prototypeWithout(EncodedImages encoded, int[] shotOfView, int shot) {
        int views = shotOfView.length;
        float[] adapted = encoded.adapted();
        if (adapted.length == 0) {
            return new float[0];
        }
        int d = adapted.length / views;
        float[] sum = new float[d];
        int n = 0;
        for (int v = 0; v < views; v++) {
            if (shotOfView[v] != shot) {
                for (int i = 0; i < d; i++) {
                    sum[i] += adapted[v * d + i];
                }
                n++;
            }
        }
        for (int i = 0; i < d; i++) {
            sum[i] /= Math.max(1, n);
        }
        return sum;
    }

    /** Linear-interpolated quantile of sorted values. */
    static float quantile(float[] sorted, double q) {
        double pos = Math.max(0, Math.min(1, q)) * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return (float) (sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]));
    }

    /** The encodings of all images but {@code skip}. */
    static EncodedImages without(EncodedImages e, int skip) {
        return withoutShot(
                e, java.util.stream.IntStream.range(0, e.features().count()).toArray(), skip);
    }

    /** The encodings of all views whose shot is not {@code skip}. */
    static EncodedImages withoutShot(EncodedImages e, int[] shotOf, int skip) {
        ImageFeatures f = e.features();
        int n = (int) Arrays.stream(shotOf).filter(s -> s != skip).count();
        float[] adapted = new float[n * f.embedDim()];
        int per = f.patches() * f.width();
        float[] g = new float[n * f.embedDim()];
        float[][] taps = new float[f.taps().length][n * per];
        for (int i = 0, j = 0; i < f.count(); i++) {
            if (shotOf[i] == skip) {
                continue;
            }
            System.arraycopy(f.g(), i * f.embedDim(), g, j * f.embedDim(), f.embedDim());
            System.arraycopy(e.adapted(), i * f.embedDim(), adapted, j * f.embedDim(), f.embedDim());
            for (int l = 0; l < taps.length; l++) {
                System.arraycopy(f.taps()[l], i * per, taps[l], j * per, per);
            }
            j++;
        }
        return new EncodedImages(new ImageFeatures(n, f.embedDim(), f.patches(), f.width(), g, taps), adapted);
    }
}
