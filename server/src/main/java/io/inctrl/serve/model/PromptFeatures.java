package io.inctrl.serve.model;

/**
 * What scoring needs from K normal shots, computed once per prompt set and reused by every query (spec §14): per
 * tapped layer a bank of unit-norm patch tokens, and the adapted prototype.
 *
 * <p>The bank of a tap is either every token of every shot (exact search, {@code shots * patches} rows, from
 * {@link EncodedImages#pool()}) or a subset of them chosen by {@link Coreset#reduce} (a bounded memory bank): the
 * nearest-neighbour search of spec §4 runs over whatever rows a tap holds, so taps may differ in row count.
 *
 * @param shots     number of shot images (or views) the bank and the prototype were built from
 * @param width     token width C
 * @param tokens    one array per tapped block, row-major [rows(l), width], unit-norm rows
 * @param prototype mean over the shots of ψ(g(shot)), length embedDim (empty for vision-only bundles)
 */
public record PromptFeatures(int shots, int width, float[][] tokens, float[] prototype) {

    public PromptFeatures {
        if (shots < 1) {
            throw new IllegalArgumentException("a prompt set needs at least one shot");
        }
        if (width < 1 || tokens.length == 0) {
            throw new IllegalArgumentException("a prompt bank needs at least one tap of width >= 1");
        }
        for (float[] layer : tokens) {
            if (layer.length == 0 || layer.length % width != 0) {
                throw new IllegalArgumentException(
                        "layer has " + layer.length + " values, not a positive multiple of the width " + width);
            }
        }
    }

    /** An exact bank: every one of {@code patches} tokens of each of the {@code shots} images, per tap. */
    public PromptFeatures(int shots, int patches, int width, float[][] tokens, float[] prototype) {
        this(shots, width, checkExact(shots, patches, width, tokens), prototype);
    }

    private static float[][] checkExact(int shots, int patches, int width, float[][] tokens) {
        for (float[] layer : tokens) {
            if (layer.length != (long) shots * patches * width) {
                throw new IllegalArgumentException(
                        "layer has " + layer.length + " values, expected " + (long) shots * patches * width);
            }
        }
        return tokens;
    }

    /** Token rows of tap {@code layer}. */
    public int rows(int layer) {
        return tokens[layer].length / width;
    }

    /** Token rows over all taps (what the residual's cost grows with). */
    public long totalRows() {
        long n = 0;
        for (int l = 0; l < tokens.length; l++) {
            n += rows(l);
        }
        return n;
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
