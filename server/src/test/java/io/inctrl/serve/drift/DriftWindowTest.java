package io.inctrl.serve.drift;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The drift window's tests on synthetic streams: exact tails, no signal in control, a prompt signal after a change. */
class DriftWindowTest {

    private static final DriftWindow.Params PARAMS = new DriftWindow.Params(20, 1e-4, 2.0, 0.01);
    private static final long DAY = 86_400_000L;

    /** Logit-normal normal scores with location -2, scale 0.3: the threshold for 5 % is sigmoid(-2 + 0.3·1.645). */
    private static final double LOC = -2;

    private static final double SCALE = 0.3;
    private static final float THRESHOLD = (float) sigmoid(LOC + SCALE * 1.6448536);

    private static Baseline baseline(long version, Random r, int shots) {
        float[] s = new float[shots];
        for (int i = 0; i < shots; i++) {
            s[i] = normalScore(r, 0);
        }
        return new Baseline(version, THRESHOLD, 0.05f, s);
    }

    private static float normalScore(Random r, double shift) {
        return (float) sigmoid(LOC + shift + SCALE * r.nextGaussian());
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    @Test
    void binomialTail_isTheExactSum() {
        for (int n : new int[] {1, 7, 40}) {
            for (double p : new double[] {0.01, 0.1, 0.37}) {
                for (int x = 0; x <= n; x++) {
                    double sum = 0;
                    for (int j = x; j <= n; j++) {
                        sum += binom(n, j) * Math.pow(p, j) * Math.pow(1 - p, n - j);
                    }
                    assertThat(DriftWindow.binomialUpperTail(x, n, p))
                            .as("P(X >= %d | %d, %s)", x, n, p)
                            .isCloseTo(sum, offset(1e-12 + 1e-9 * sum));
                }
            }
        }
    }

    @Test
    void mannWhitney_countsPairs_andRanksTies() {
        double[] all = DriftWindow.mannWhitney(new float[] {3, 4, 5}, new float[] {1, 2});
        assertThat(all[0]).isEqualTo(1.0); // every recent score above every shot score
        double[] none = DriftWindow.mannWhitney(new float[] {0, 0.5f}, new float[] {1, 2, 3});
        assertThat(none[0]).isEqualTo(0.0);
        assertThat(none[1]).isGreaterThan(0.9);
        double[] ties = DriftWindow.mannWhitney(new float[] {1, 1}, new float[] {1, 1});
        assertThat(ties[0]).isEqualTo(0.5);
        assertThat(ties[1]).isEqualTo(1.0); // every value tied: no evidence at all
        // more separation, more evidence
        assertThat(DriftWindow.mannWhitney(new float[] {5, 6, 7, 8, 9, 10, 11, 12}, new float[] {1, 2, 3, 4})[1])
                .isLessThan(DriftWindow.mannWhitney(new float[] {2.5f, 6, 7, 8}, new float[] {1, 2, 3, 4})[1]);
    }

    @Test
    void anUnchangedStream_neverSignals() {
        Random r = new Random(1);
        for (int trial = 0; trial < 20; trial++) {
            Baseline b = baseline(1, r, 8);
            DriftWindow w = new DriftWindow(200, DAY);
            for (int i = 0; i < 1000; i++) {
                w.observe(b, normalScore(r, 0), i);
                DriftReport rep = w.evaluate(PARAMS, i);
                assertThat(rep.state())
                        .as("trial %d, score %d: %s", trial, i, rep.reason())
                        .isNotEqualTo(DriftWindow.State.DRIFT);
            }
        }
    }

    @Test
    void moreExceedancesThanCalibrated_signalsWithinAFewDozenScores() {
        Random r = new Random(2);
        Baseline b = baseline(1, r, 8);
        DriftWindow w = new DriftWindow(200, DAY);
        for (int i = 0; i < 100; i++) {
            w.observe(b, normalScore(r, 0), i);
        }
        assertThat(w.evaluate(PARAMS, 100).state()).isEqualTo(DriftWindow.State.OK);
        int changed = 0;
        DriftReport rep;
        do { // the line changed: scores shift up by 1.5 logits (3/4 of them now over the threshold)
            w.observe(b, normalScore(r, 1.5), 100 + changed);
            changed++;
            rep = w.evaluate(PARAMS, 100 + changed);
        } while (rep.state() != DriftWindow.State.DRIFT && changed < 200);
        assertThat(changed).isLessThanOrEqualTo(30);
        assertThat(rep.needsNewShots()).isTrue();
        assertThat(rep.exceedanceSignal() || rep.scoreSignal()).isTrue();
        assertThat(rep.reason()).contains("add new normal shots");
    }

    @Test
    void aShiftUnderTheThreshold_isCaughtByTheScoreTestAlone() {
        Random r = new Random(3);
        // a set whose threshold is far out (an operator override): exceedances stay rare, scores still move
        float[] shots = new float[16];
        for (int i = 0; i < shots.length; i++) {
            shots[i] = normalScore(r, 0);
        }
        Baseline b = new Baseline(1, 0.99f, 1e-6f, shots);
        DriftWindow w = new DriftWindow(200, DAY);
        DriftReport rep = null;
        for (int i = 0; i < 200; i++) {
            w.observe(b, normalScore(r, 0.8), i);
            rep = w.evaluate(PARAMS, i);
        }
        assertThat(rep.exceedances()).isZero();
        assertThat(rep.exceedanceSignal()).isFalse();
        assertThat(rep.scoreSignal()).isTrue();
        assertThat(rep.probAboveShots()).isGreaterThan(0.7);
        assertThat(rep.state()).isEqualTo(DriftWindow.State.DRIFT);
    }

    @Test
    void aNewVersion_startsAnEmptyWindow_andOldScoresAgeOut() {
        Random r = new Random(4);
        Baseline b1 = baseline(1, r, 8);
        DriftWindow w = new DriftWindow(50, 1000);
        for (int i = 0; i < 60; i++) {
            w.observe(b1, normalScore(r, 3), i);
        }
        assertThat(w.evaluate(PARAMS, 60).samples()).isEqualTo(50);
        assertThat(w.evaluate(PARAMS, 60).state()).isEqualTo(DriftWindow.State.DRIFT);
        assertThat(w.evaluate(PARAMS, 1030).samples())
                .as("scores at 30..59 are within max-age")
                .isEqualTo(30);
        Baseline b2 = baseline(2, r, 8);
        w.observe(b2, normalScore(r, 0), 61);
        DriftReport rep = w.evaluate(PARAMS, 61);
        assertThat(rep.version()).isEqualTo(2);
        assertThat(rep.samples()).isEqualTo(1);
        assertThat(rep.observed()).isEqualTo(1);
        assertThat(rep.state()).isEqualTo(DriftWindow.State.INSUFFICIENT);
    }

    @Test
    void aSetWithoutCalibration_hasNothingToCompareWith() {
        DriftWindow w = new DriftWindow(50, DAY);
        Baseline none = new Baseline(1, Float.NaN, Float.NaN, new float[] {0.3f});
        for (int i = 0; i < 30; i++) {
            w.observe(none, 0.9f, i);
        }
        DriftReport rep = w.evaluate(PARAMS, 30);
        assertThat(rep.state()).isEqualTo(DriftWindow.State.NO_BASELINE);
        assertThat(rep.exceedances()).isNull();
        assertThat(rep.scorePValue()).isNull();
    }

    private static double binom(int n, int k) {
        double c = 1;
        for (int i = 1; i <= k; i++) {
            c = c * (n - k + i) / i;
        }
        return c;
    }
}
