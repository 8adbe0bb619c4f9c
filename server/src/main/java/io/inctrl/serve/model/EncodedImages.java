package io.inctrl.serve.model;

/**
 * Images after one vision forward: their features and ψ(g) (the adapter output), host-side.
 *
 * @param adapted ψ(g), row-major [count, embedDim]
 */
public record EncodedImages(ImageFeatures features, float[] adapted) {

    public float[] adapted(int i) {
        int d = features.embedDim();
        float[] out = new float[d];
        System.arraycopy(adapted, i * d, out, 0, d);
        return out;
    }

    /** Image {@code i} alone. */
    public EncodedImages slice(int i) {
        return new EncodedImages(features.slice(i), adapted(i));
    }

    /** Several single-image encodings as one (e.g. shots encoded in different batches). */
    public static EncodedImages concat(java.util.List<EncodedImages> parts) {
        ImageFeatures first = parts.get(0).features();
        int n = parts.stream().mapToInt(p -> p.features().count()).sum();
        int d = first.embedDim();
        int per = first.patches() * first.width();
        float[] g = new float[n * d];
        float[] adapted = new float[n * d];
        float[][] taps = new float[first.taps().length][n * per];
        int at = 0;
        for (EncodedImages p : parts) {
            int c = p.features().count();
            System.arraycopy(p.features().g(), 0, g, at * d, c * d);
            System.arraycopy(p.adapted(), 0, adapted, at * d, c * d);
            for (int l = 0; l < taps.length; l++) {
                System.arraycopy(p.features().taps()[l], 0, taps[l], at * per, c * per);
            }
            at += c;
        }
        return new EncodedImages(new ImageFeatures(n, d, first.patches(), first.width(), g, taps), adapted);
    }

    /** Pools K encoded shots into the features every query against them reuses (spec §4, §5). */
    public PromptFeatures pool() {
        ImageFeatures f = features;
        int k = f.count();
        int d = f.embedDim();
        float[] prototype = new float[d];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < d; j++) {
                prototype[j] += adapted[i * d + j];
            }
        }
        for (int j = 0; j < d; j++) {
            prototype[j] /= k;
        }
        // taps are already [K, P, C] row-major, i.e. the K·P pooled tokens the nearest-neighbour search needs
        return new PromptFeatures(k, f.patches(), f.width(), f.taps().clone(), prototype);
    }
}
