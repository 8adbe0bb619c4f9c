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
