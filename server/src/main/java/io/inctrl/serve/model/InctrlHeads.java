package io.inctrl.serve.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.inctrl.serve.text.ClipTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The learned half of InCTRL (spec §5–§7): the adapter ψ, the image head η, the holistic head φ and, for kind
 * {@code inctrl}, the CLIP text tower for the text prior. Kind {@code residual-heads} has no text tower: s_a is absent
 * and M⁺ = M + s_i. Stateless apart from its modules, so it may run beside the batch workers.
 */
final class InctrlHeads implements Heads {

    private static final int TEXT_CHUNK = 64;

    private final TorchScriptModule text;
    private final TorchScriptModule adapter;
    private final TorchScriptModule imageHead;
    private final TorchScriptModule holisticHead;
    private final ClipTokenizer tokenizer;
    private final Device device;
    private final int embedDim;
    private final int patches;
    private final int[] grid;
    private final float temperature;

    private InctrlHeads(Path dir, BundleManifest manifest, Device device, ComputePrecision precision) {
        this.device = device;
        this.adapter = TorchScriptModule.load("adapter", manifest.file(dir, "adapter"), device);
        this.imageHead = TorchScriptModule.load("image_head", manifest.file(dir, "image_head"), device);
        this.holisticHead = TorchScriptModule.load("holistic_head", manifest.file(dir, "holistic_head"), device);
        if (manifest.hasTextPrior()) {
            boolean cpu = Device.Type.CPU.equals(device.getDeviceType());
            this.text = TorchScriptModule.load(
                    InctrlEngine.moduleLabel("text", precision),
                    manifest.moduleFile(dir, "text", precision, cpu),
                    device);
            this.tokenizer = new ClipTokenizer(
                    manifest.file(dir, "tokenizer"),
                    manifest.text().contextLength(),
                    manifest.text().eotToken());
            this.temperature = manifest.text().temperature();
        } else {
            this.text = null;
            this.tokenizer = null;
            this.temperature = 0f;
        }
        this.embedDim = manifest.vision().embedDim();
        this.patches = manifest.vision().patches();
        this.grid = manifest.vision().grid();
    }

    static InctrlHeads load(Path dir, BundleManifest manifest, Device device, ComputePrecision precision) {
        return new InctrlHeads(dir, manifest, device, precision);
    }

    @Override
    public int tapOffset() {
        return 1;
    }

    @Override
    public float[] globalEmbeddings(NDList visionOut) {
        return visionOut.get(0).toFloatArray();
    }

    @Override
    public float[] adapted(NDManager m, NDList visionOut) {
        return adapter.forward(m, visionOut.get(0)).singletonOrThrow().toFloatArray();
    }

    @Override
    public NDArray global(NDList visionOut) {
        return visionOut.get(0);
    }

    @Override
    public NDArray global(NDManager m, ImageFeatures queries) {
        return m.create(queries.g(), new Shape(queries.count(), embedDim));
    }

    @Override
    public List<InctrlScores> score(
            NDManager m, NDArray g, float[] map, List<PromptFeatures> prompts, List<TextPrior> priors) {
        int b = prompts.size();
        // s_i = η(mean ψ(g(shots)) − ψ(g(query))): prototype minus query, as in the official code
        NDArray adapted = adapter.forward(m, g).singletonOrThrow();
        float[] protos = new float[b * embedDim];
        for (int i = 0; i < b; i++) {
            System.arraycopy(prompts.get(i).prototype(), 0, protos, i * embedDim, embedDim);
        }
        NDArray residual = m.create(protos, new Shape(b, embedDim)).sub(adapted);
        float[] sI = imageHead.forward(m, residual).singletonOrThrow().toFloatArray();

        float[] gHost = text == null ? null : g.toFloatArray();
        Float[] sA = new Float[b];
        float[] mPlus = new float[b * patches];
        float[] sP = new float[b];
        for (int i = 0; i < b; i++) {
            sA[i] = text == null ? null : textPriorScore(gHost, i, priors.get(i));
            float prior = sA[i] == null ? 0f : sA[i];
            float max = 0f;
            for (int j = 0; j < patches; j++) {
                float v = map[i * patches + j];
                max = Math.max(max, v);
                mPlus[i * patches + j] = v + sI[i] + prior;
            }
            sP[i] = max;
        }
        float[] sH = holisticHead
                .forward(m, m.create(mPlus, new Shape(b, patches)))
                .singletonOrThrow()
                .toFloatArray();

        List<InctrlScores> result = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            float[] mi = new float[patches];
            System.arraycopy(map, i * patches, mi, 0, patches);
            result.add(new InctrlScores((sH[i] + sP[i]) / 2f, sH[i], sP[i], sI[i], sA[i], mi, grid[0], grid[1]));
        }
        return result;
    }

    /** s_a = softmax(T·[ĝ·t_n, ĝ·t_a])[1] = σ(T·(ĝ·t_a − ĝ·t_n)). */
    private float textPriorScore(float[] g, int row, TextPrior prior) {
        double norm = 0;
        double dn = 0;
        double da = 0;
        int off = row * embedDim;
        for (int j = 0; j < embedDim; j++) {
            double v = g[off + j];
            norm += v * v;
            dn += v * prior.normal()[j];
            da += v * prior.anomalous()[j];
        }
        norm = Math.sqrt(norm);
        double logit = temperature * (da - dn) / norm;
        return (float) (1.0 / (1.0 + Math.exp(-logit)));
    }

    /** t_n and t_a (spec §6): unit-norm sentence embeddings averaged per side, then renormalised. */
    @Override
    public TextPrior textPrior(List<String> normalSentences, List<String> anomalousSentences) {
        if (text == null) {
            return TextPrior.NONE;
        }
        return new TextPrior(
                meanDirection(embedSentences(normalSentences)), meanDirection(embedSentences(anomalousSentences)));
    }

    /** Raw text-tower embeddings, row-major [sentences, embedDim]. */
    float[] embedSentences(List<String> sentences) {
        int ctx = tokenizer.contextLength();
        float[] out = new float[sentences.size() * embedDim];
        for (int start = 0; start < sentences.size(); start += TEXT_CHUNK) {
            List<String> chunk = sentences.subList(start, Math.min(sentences.size(), start + TEXT_CHUNK));
            try (NDManager m = NDManager.newBaseManager(device)) {
                NDArray ids = m.create(tokenizer.encodeFixed(chunk), new Shape(chunk.size(), ctx));
                float[] e = text.forward(m, ids).singletonOrThrow().toFloatArray();
                System.arraycopy(e, 0, out, start * embedDim, e.length);
            }
        }
        return out;
    }

    private float[] meanDirection(float[] rows) {
        int n = rows.length / embedDim;
        double[] mean = new double[embedDim];
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int j = 0; j < embedDim; j++) {
                norm += (double) rows[i * embedDim + j] * rows[i * embedDim + j];
            }
            norm = Math.sqrt(norm);
            for (int j = 0; j < embedDim; j++) {
                mean[j] += rows[i * embedDim + j] / norm / n;
            }
        }
        double norm = 0;
        for (double v : mean) {
            norm += v * v;
        }
        norm = Math.sqrt(norm);
        float[] out = new float[embedDim];
        for (int j = 0; j < embedDim; j++) {
            out[j] = (float) (mean[j] / norm);
        }
        return out;
    }

    @Override
    public Optional<ClipTokenizer> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

    @Override
    public void close() {
        if (text != null) {
            tokenizer.close();
            text.close();
        }
        adapter.close();
        imageHead.close();
        holisticHead.close();
    }
}
