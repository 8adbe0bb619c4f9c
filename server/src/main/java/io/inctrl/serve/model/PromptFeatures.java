package io.inctrl.serve.model;

/**
 * What scoring needs from K normal shots, computed once per prompt set and reused by every query
 * (spec §14): the pooled unit-norm patch tokens per tapped layer and the adapted prototype.
 *
 * @param tokens    one array per tapped block, row-major [shots * patches, width], unit-norm rows
 * @param prototype mean over the shots of ψ(g(shot)), length embedDim
 */
public record PromptFeatures(int shots, int patches, int width, float[][] tokens, float[] prototype) {

    public PromptFeatures {
        if (shots < 1) {
            throw new IllegalArgumentException("a prompt set needs at least one shot");
        }
        for (float[] layer : tokens) {
            if (layer.length != shots * patches * width) {
                throw new IllegalArgumentException(
                        "layer has " + layer.length + " values, expected " + shots * patches * width);
            }
        }
    }

    /** Bytes held by the float arrays (for cache accounting). */
    public long sizeInBytes() {
        long n = prototype.length;
        for (float[] layer : tokens) {
            n += layer.length;
        }
        return 4 * n;
    }
}
