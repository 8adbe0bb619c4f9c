package io.inctrl.serve.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Optional;

/**
 * What a bundle adds on top of the patch residual map M: the learned InCTRL heads, with the text prior for kind inctrl
 * ({@link InctrlHeads}), or nothing ({@link NoHeads}, vision-only bundles where the final score is s_p).
 */
sealed interface Heads extends AutoCloseable permits InctrlHeads, NoHeads {

    /** The heads are fp32 at every precision; only the text tower (kind inctrl) has precision variants. */
    static Heads load(
            java.nio.file.Path dir, BundleManifest manifest, ai.djl.Device device, ComputePrecision precision) {
        return manifest.bundleKind().hasHeads()
                ? InctrlHeads.load(dir, manifest, device, precision)
                : new NoHeads(manifest);
    }

    /** Index of the first tap in the vision module's outputs (InCTRL's returns the global embedding g first). */
    int tapOffset();

    /** g of a forward pass, row-major [b, embedDim], or empty when the bundle has none. */
    float[] globalEmbeddings(NDList visionOut);

    /** ψ(g) of a forward pass, or empty. */
    float[] adapted(NDManager m, NDList visionOut);

    /** g of a forward pass as the device array the scores need, or null. */
    NDArray global(NDList visionOut);

    /** g of already-encoded queries on the device, or null. */
    NDArray global(NDManager m, ImageFeatures queries);

    /** Final scores of a batch from its residual maps (row-major [b, patches]) and each query's own prompts. */
    List<InctrlScores> score(NDManager m, NDArray g, float[] map, List<PromptFeatures> prompts, List<TextPrior> priors);

    /** t_n and t_a (spec §6), or {@link TextPrior#NONE}. */
    TextPrior textPrior(List<String> normalSentences, List<String> anomalousSentences);

    /** The CLIP tokenizer of the text tower, when there is one. */
    Optional<io.inctrl.serve.text.ClipTokenizer> tokenizer();

    @Override
    void close();
}
