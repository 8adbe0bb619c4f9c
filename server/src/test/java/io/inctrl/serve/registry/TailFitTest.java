package io.inctrl.serve.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The tail fit behind the suggested threshold, and the Calibrator's handling of target false-positive rates. */
class TailFitTest {

    static final List<Float> SCORES = List.of(0.12f, 0.15f, 0.11f, 0.18f, 0.13f, 0.14f);

    @Test
    void normalQuantileAndTail_matchKnownValues() {
        assertThat(TailFit.normalQuantile(0.975)).isCloseTo(1.959964, within(1e-5));
        assertThat(TailFit.normalQuantile(0.95)).isCloseTo(1.644854, within(1e-5));
        assertThat(TailFit.normalQuantile(0.5)).isCloseTo(0.0, within(1e-6));
        assertThat(TailFit.normalUpperTail(1.644854)).isCloseTo(0.05, within(1e-6));
        assertThat(TailFit.normalUpperTail(-3)).isCloseTo(0.998650, within(1e-6));
    }

    @Test
    void fit_isShrunkLogitMeanAndSpread() {
        TailFit f = TailFit.fit(List.of(0.1f, 0.2f), 0.2, 2);
        double a = Math.log(0.1 / 0.9);
        double b = Math.log(0.2 / 0.8);
        double mean = (a + b) / 2;
        double ss = (a - mean) * (a - mean) + (b - mean) * (b - mean);
        assertThat(f.location()).isCloseTo(mean, within(1e-6));
        assertThat(f.scale()).isCloseTo(Math.sqrt((2 * 0.04 + ss) / 3), within(1e-6));
    }

    @Test
    void threshold_isMonotoneInTargetFpr_andBelowTheOldMaxRuleForModerateTargets() {
        TailFit f = TailFit.fit(SCORES, 0.2, 2);
        double previous = 1;
        for (double fpr : new double[] {1e-4, 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.49}) {
            double t = f.threshold(fpr);
            assertThat(t).as("fpr %s", fpr).isLessThan(previous).isBetween(0.0, 1.0);
            previous = t;
        }
        assertThat(f.threshold(0.05)).isLessThan(0.18 + 0.02); // max + margin, the rule this replaces
        assertThat(f.threshold(0.05)).isGreaterThan(0.14); // but above the typical shot
    }

    @Test
    void expectedFpr_invertsThreshold_andEvaluatesAnyOverride() {
        TailFit f = TailFit.fit(SCORES, 0.2, 2);
        for (double fpr : new double[] {0.001, 0.05, 0.2, 0.45}) {
            assertThat(f.expectedFpr(f.threshold(fpr))).isCloseTo(fpr, within(1e-5));
        }
        // an override: by hand from the fitted normal in logit space
        double z = (Math.log(0.3 / 0.7) - f.location()) / f.scale();
        assertThat(f.expectedFpr(0.3)).isCloseTo(TailFit.normalUpperTail(z), within(1e-9));
        assertThat(f.expectedFpr(0.3)).isLessThan(f.expectedFpr(0.16));
        assertThat(f.expectedFpr(1.0)).isZero();
        assertThat(f.expectedFpr(0.0)).isEqualTo(1.0);
        assertThat(f.expectedFpr(Double.NaN)).isEqualTo(1.0);
    }

    @Test
    void twoShots_giveAFiniteThresholdAboveBothWithTheRequestedRate() {
        TailFit f = TailFit.fit(List.of(0.2f, 0.25f), 0.2, 2);
        double t = f.threshold(0.05);
        assertThat(t).isGreaterThan(0.25).isLessThan(0.5);
        assertThat(f.expectedFpr(t)).isCloseTo(0.05, within(1e-5));
        // a single pseudo-observation of prior weight is not enough to keep K = 2 finite: it must stay > 0
        assertThat(TailFit.fit(List.of(0.2f, 0.25f), 0.2, 0.5).scale()).isPositive();
    }

    @Test
    void identicalScores_keepThePriorSpread() {
        TailFit f = TailFit.fit(List.of(0.2f, 0.2f, 0.2f, 0.2f), 0.2, 2);
        assertThat(f.location()).isCloseTo(Math.log(0.25), within(1e-6));
        assertThat(f.scale()).isCloseTo(Math.sqrt(2 * 0.04 / 5), within(1e-7));
        assertThat(f.threshold(0.05)).isGreaterThan(0.2);
        assertThat(f.expectedFpr(0.2)).isCloseTo(0.5, within(1e-6));
        // scores at the bounds stay finite
        TailFit ones = TailFit.fit(List.of(1f, 1f), 0.2, 2);
        assertThat(ones.threshold(0.05)).isBetween(0.99, 1.0);
        assertThat(TailFit.fit(List.of(0f, 0f), 0.2, 2).threshold(0.05)).isBetween(0.0, 0.01);
    }

    @Test
    void tooFewScores_refused() {
        assertThatThrownBy(() -> TailFit.fit(List.of(0.1f), 0.2, 2)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void calibrator_retargetsFromStoredScores_andValidatesTargets() {
        Calibrator c = new Calibrator(TestRegistry.config(1 << 20).calibration());
        Calibration base = new Calibration(SCORES, null, List.of(3), List.of("w"), null);
        Calibration at5 = c.retarget(base, 0.05f);
        Calibration at20 = c.retarget(base, 0.2f);
        assertThat(at5.method()).isEqualTo(TailFit.METHOD);
        assertThat(at5.targetFpr()).isEqualTo(0.05f);
        assertThat(at5.suggestedThreshold()).isGreaterThan(at20.suggestedThreshold());
        assertThat(at5.expectedFprAt(at5.suggestedThreshold())).isCloseTo(0.05f, within(1e-4f));
        assertThat(at5.expectedFprAt(at20.suggestedThreshold())).isCloseTo(0.2f, within(1e-4f));
        assertThat(at5.expectedFprAt(null)).isNull();
        assertThat(at20.shotScores()).isEqualTo(SCORES);
        assertThat(at20.outlierShots()).containsExactly(3);
        assertThat(at20.warnings()).containsExactly("w");
        assertThat(c.defaultTargetFpr()).isEqualTo(0.05f);

        Calibration single = c.retarget(new Calibration(List.of(0.1f), null, List.of(), List.of(), null), 0.1f);
        assertThat(single.suggestedThreshold()).isNull();
        assertThat(single.tail()).isNull();
        assertThat(single.expectedFprAt(0.5f)).isNull();

        for (double bad : new double[] {0, -0.1, 0.5, 0.7, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertThat(Calibrator.validTargetFpr(bad)).as("%s", bad).isFalse();
        }
        assertThat(Calibrator.validTargetFpr(1e-6)).isTrue();
        assertThat(Calibrator.validTargetFpr(0.499)).isTrue();
    }

    @Test
    void calibration_roundTripsThroughItsJsonColumn_andOldRowsReadWithoutAFit() {
        Calibrator c = new Calibrator(TestRegistry.config(1 << 20).calibration());
        Calibration fitted = c.retarget(new Calibration(SCORES, null, List.of(), List.of(), 1e-6f), 0.1f);
        assertThat(Json.calibration(Json.write(fitted))).isEqualTo(fitted);
        Calibration old = Json.calibration("{\"shotScores\":[0.1,0.2],\"suggestedThreshold\":0.22,"
                + "\"outlierShots\":[],\"warnings\":[],\"fp16MaxAbsDiff\":null}");
        assertThat(old.method()).isNull();
        assertThat(old.suggestedThreshold()).isEqualTo(0.22f);
    }
}
