package io.inctrl.serve.model;

/**
 * The category's text prior (spec §6): unit-norm mean embeddings of the normal and anomalous sentence ensembles.
 */
public record TextPrior(float[] normal, float[] anomalous) {

    /** For bundles without a text tower (kind patch-residual). */
    public static final TextPrior NONE = new TextPrior(new float[0], new float[0]);

    public TextPrior {
        if (normal.length != anomalous.length) {
            throw new IllegalArgumentException("t_n and t_a differ in length");
        }
    }
}
