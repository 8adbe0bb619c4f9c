package io.inctrl.serve.model;

/**
 * Vision-encoder output for {@code count} images, copied off the device.
 *
 * @param g     global embeddings, row-major [count, embedDim], not normalised
 * @param taps  one array per tapped block, each row-major [count, patches, width], every token unit-norm
 */
public record ImageFeatures(int count, int embedDim, int patches, int width, float[] g, float[][] taps) {

    public ImageFeatures {
        if (g.length != count * embedDim) {
            throw new IllegalArgumentException("g has " + g.length + " values, expected " + count * embedDim);
        }
        for (float[] tap : taps) {
            if (tap.length != count * patches * width) {
                throw new IllegalArgumentException(
                        "tap has " + tap.length + " values, expected " + count * patches * width);
            }
        }
    }

    /** The global embedding of image {@code i}. */
    public float[] g(int i) {
        float[] out = new float[embedDim];
        System.arraycopy(g, i * embedDim, out, 0, embedDim);
        return out;
    }

    /** Several feature sets as one, in order (e.g. single queries gathered into a batch). */
    public static ImageFeatures concat(java.util.List<ImageFeatures> parts) {
        ImageFeatures first = parts.get(0);
        int n = parts.stream().mapToInt(ImageFeatures::count).sum();
        int d = first.embedDim();
        int per = first.patches() * first.width();
        float[] g = new float[n * d];
        float[][] taps = new float[first.taps().length][n * per];
        int at = 0;
        for (ImageFeatures p : parts) {
            System.arraycopy(p.g(), 0, g, at * d, p.count() * d);
            for (int l = 0; l < taps.length; l++) {
                System.arraycopy(p.taps()[l], 0, taps[l], at * per, p.count() * per);
            }
            at += p.count();
        }
        return new ImageFeatures(n, d, first.patches(), first.width(), g, taps);
    }

    /** Features of image {@code i} alone. */
    public ImageFeatures slice(int i) {
        float[][] t = new float[taps.length][];
        int n = patches * width;
        for (int l = 0; l < taps.length; l++) {
            t[l] = new float[n];
            System.arraycopy(taps[l], i * n, t[l], 0, n);
        }
        return new ImageFeatures(1, embedDim, patches, width, g(i), t);
    }
}
