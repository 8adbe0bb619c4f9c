package io.inctrl.serve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.inctrl.serve.text.ClipTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Vision-only bundles: the residual map is the whole answer (final = s_p); s_h, s_i, s_a are absent. */
final class NoHeads implements Heads {

    private final int patches;
    private final int[] grid;

    NoHeads(BundleManifest manifest) {
        this.patches = manifest.vision().patches();
        this.grid = manifest.vision().grid();
    }

    @Override
    public int tapOffset() {
        return 0;
    }

    @Override
    public float[] globalEmbeddings(NDList visionOut) {
        return new float[0];
    }

    @Override
    public float[] adapted(NDManager m, NDList visionOut) {
        return new float[0];
    }

    @Override
    public NDArray global(NDList visionOut) {
        return null;
    }

    @Override
    public NDArray global(NDManager m, ImageFeatures queries) {
        return null;
    }

    @Override
    public List<InctrlScores> score(
            NDManager m, NDArray g, float[] map, List<PromptFeatures> prompts, List<TextPrior> priors) {
        int b = map.length / patches;
        List<InctrlScores> result = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            float[] mi = new float[patches];
            System.arraycopy(map, i * patches, mi, 0, patches);
            float max = 0f;
            for (float v : mi) {
                max = Math.max(max, v);
            }
            result.add(new InctrlScores(max, null, max, null, null, mi, grid[0], grid[1]));
        }
        return result;
    }

    @Override
    public TextPrior textPrior(List<String> normalSentences, List<String> anomalousSentences) {
        return TextPrior.NONE;
    }

    @Override
    public Optional<ClipTokenizer> tokenizer() {
        return Optional.empty();
    }

    @Override
    public void close() {}
}
