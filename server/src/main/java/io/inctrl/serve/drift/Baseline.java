package io.inctrl.serve.drift;

import java.util.Arrays;

/**
 * What a set's calibration expects of normal traffic, as of one version of the set.
 *
 * @param version     the set's version (any change of features, calibration or threshold starts a new window)
 * @param threshold   decision threshold in force (score ≥ threshold is flagged), NaN when the set has none
 * @param expectedFpr expected false-positive rate at that threshold under the calibration's fit, NaN when unknown
 * @param shotScores  leave-one-out scores of the shots (the calibration's sample of normal scores), may be empty
 */
public record Baseline(long version, float threshold, float expectedFpr, float[] shotScores) {

    public Baseline {
        shotScores = shotScores == null ? new float[0] : shotScores.clone();
        Arrays.sort(shotScores);
    }

    public boolean hasThreshold() {
        return !Float.isNaN(threshold);
    }

    public boolean hasExpectedFpr() {
        return !Float.isNaN(expectedFpr);
    }
}
