package io.inctrl.serve.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.inctrl.serve.text.ClipTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The InCTRL computation on one device (spec §2–§7), correct at any batch size: every query is paired with its own
 * prompt features and text prior. {@link #process} (and the methods built on it) belongs to one worker thread, since
 * it keeps prompt tensors cached on the device; {@link #score}, {@link #textPrior} and {@link #encode} may run beside it.
 */
public final class InctrlEngine implements AutoCloseable {

    private static final int TEXT_CHUNK = 64;

    private final BundleManifest manifest;
    private final Device device;
    private final TorchScriptModule vision;
    private final TorchScriptModule text;
    private final TorchScriptModule adapter;
    private final TorchScriptModule imageHead;
    private final TorchScriptModule holisticHead;
    private final ClipTokenizer tokenizer;
    private final PromptTensorCache promptCache;
    private final int embedDim;
    private final boolean heads;
    /** vision.pt of kind inctrl returns g first, then the taps; patch-residual returns only taps. */
    private final int tapOffset;
    private final int patches;
    private final int width;
    private final int size;

    private InctrlEngine(Path dir, BundleManifest manifest, Device device, long promptCacheBytes) {
        this.manifest = manifest;
        this.device = device;
        this.heads = manifest.hasHeads();
        this.vision = TorchScriptModule.load("vision", manifest.file(dir, "vision"), device);
        this.text = heads ? TorchScriptModule.load("text", manifest.file(dir, "text"), device) : null;
        this.adapter = heads ? TorchScriptModule.load("adapter", manifest.file(dir, "adapter"), device) : null;
        this.imageHead = heads ? TorchScriptModule.load("image_head", manifest.file(dir, "image_head"), device) : null;
        this.holisticHead = heads
                ? TorchScriptModule.load("holistic_head", manifest.file(dir, "holistic_head"), device) : null;
        this.tokenizer = heads ? new ClipTokenizer(manifest.file(dir, "tokenizer"), manifest.text().contextLength(),
                manifest.text().eotToken()) : null;
        this.tapOffset = heads ? 1 : 0;
        this.embedDim = manifest.vision().embedDim();
        this.patches = manifest.vision().patches();
        this.width = manifest.vision().width();
        this.size = manifest.image().size();
        this.promptCache = new PromptTensorCache(device, promptCacheBytes);
    }

    /** Loads every module of the bundle in {@code dir} onto {@code device}. */
    public static InctrlEngine load(Path dir, Device device, long promptCacheBytes) {
        return new InctrlEngine(dir, BundleManifest.read(dir), device, promptCacheBytes);
    }

    public BundleManifest manifest() {
        return manifest;
    }

    public Device device() {
        return device;
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    /** One vision forward for the batch, plus ψ(g); results copied to the host. */
    public EncodedImages encode(List<float[]> pixels) {
        try (NDManager m = NDManager.newBaseManager(device)) {
            NDList out = vision.forward(m, pixelBatch(m, pixels));
            return new EncodedImages(hostFeatures(out), adapted(m, out));
        }
    }

    /** Encodes query images and scores each against its own prompt features and text prior, in one batch. */
    public List<InctrlScores> encodeAndScore(List<float[]> pixels, List<PromptFeatures> prompts, List<TextPrior> priors) {
        return process(pixels, prompts, priors).scores();
    }

    /**
     * One vision forward for a mixed batch: entries whose prompt features are null are only encoded (their features
     * and ψ(g) come back), the others are scored against their own prompts and prior. This is what a batch worker runs.
     */
    public BatchOutput process(List<float[]> pixels, List<PromptFeatures> prompts, List<TextPrior> priors) {
        int b = pixels.size();
        List<Integer> scoreRows = new ArrayList<>();
        List<Integer> encodeRows = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            (prompts.get(i) == null ? encodeRows : scoreRows).add(i);
        }
        try (NDManager m = NDManager.newBaseManager(device)) {
            long t0 = System.nanoTime();
            NDList out = vision.forward(m, pixelBatch(m, pixels));
            long t1 = System.nanoTime();
            EncodedImages[] encoded = new EncodedImages[b];
            InctrlScores[] scores = new InctrlScores[b];
            if (!encodeRows.isEmpty()) {
                NDList rows = select(m, out, encodeRows, b);
                EncodedImages all = new EncodedImages(hostFeatures(rows), adapted(m, rows));
                for (int r = 0; r < encodeRows.size(); r++) {
                    encoded[encodeRows.get(r)] = all.slice(r);
                }
            }
            if (!scoreRows.isEmpty()) {
                NDList rows = select(m, out, scoreRows, b);
                NDArray[] taps = new NDArray[rows.size() - tapOffset];
                for (int l = 0; l < taps.length; l++) {
                    taps[l] = rows.get(l + tapOffset);
                }
                List<PromptFeatures> p = new ArrayList<>();
                List<TextPrior> t = new ArrayList<>();
                scoreRows.forEach(i -> {
                    p.add(prompts.get(i));
                    t.add(priors.get(i));
                });
                List<InctrlScores> s = scoreOnDevice(m, heads ? rows.get(0) : null, taps, p, t,
                        promptCache::transposedTokens);
                for (int r = 0; r < scoreRows.size(); r++) {
                    scores[scoreRows.get(r)] = s.get(r);
                }
            }
            return new BatchOutput(Arrays.asList(encoded), Arrays.asList(scores), t1 - t0, System.nanoTime() - t1);
        }
    }

    /** Per entry either its encoding or its scores (the other is null), plus the batch's stage times. */
    public record BatchOutput(List<EncodedImages> encoded, List<InctrlScores> scores, long encodeNanos,
                              long scoreNanos) {
    }

    private static NDList select(NDManager m, NDList out, List<Integer> rows, int b) {
        if (rows.size() == b) {
            return out;
        }
        NDArray index = m.create(rows.stream().mapToLong(Integer::longValue).toArray());
        NDList selected = new NDList();
        for (NDArray a : out) {
            selected.add(a.get(index));
        }
        return selected;
    }

    /**
     * Scores already-encoded queries (e.g. leave-one-out over a prompt set's own shots). Uses no shared state, so it
     * may run on any thread beside the batch workers (TorchScript forward is thread-safe; the prompt cache is not).
     */
    public List<InctrlScores> score(ImageFeatures queries, List<PromptFeatures> prompts, List<TextPrior> priors) {
        try (NDManager m = NDManager.newBaseManager(device)) {
            int b = queries.count();
            NDArray g = heads ? m.create(queries.g(), new Shape(b, embedDim)) : null;
            NDArray[] taps = new NDArray[queries.taps().length];
            for (int l = 0; l < taps.length; l++) {
                taps[l] = m.create(queries.taps()[l], new Shape(b, patches, width));
            }
            return scoreOnDevice(m, g, taps, prompts, priors, p -> uploadTransposed(m, p));
        }
    }

    /** t_n and t_a (spec §6): unit-norm sentence embeddings averaged per side, then renormalised. */
    public TextPrior textPrior(List<String> normalSentences, List<String> anomalousSentences) {
        if (!heads) {
            return TextPrior.NONE;
        }
        return new TextPrior(meanDirection(embedSentences(normalSentences)),
                meanDirection(embedSentences(anomalousSentences)));
    }

    /** Raw text-tower embeddings, row-major [sentences, embedDim]. */
    public float[] embedSentences(List<String> sentences) {
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

    private List<InctrlScores> scoreOnDevice(NDManager m, NDArray g, NDArray[] taps, List<PromptFeatures> prompts,
                                             List<TextPrior> priors, Function<PromptFeatures, NDArray[]> tokens) {
        int b = (int) taps[0].getShape().get(0);
        if (prompts.size() != b || priors.size() != b) {
            throw new IllegalArgumentException("need one prompt set and one text prior per query: " + b + " queries, "
                    + prompts.size() + " prompt sets, " + priors.size() + " priors");
        }
        float[] map = residualMaps(m, taps, prompts, b, tokens);
        int[] grid = manifest.vision().grid();
        if (!heads) {
            return patchResidualScores(map, b, grid);
        }

        // s_i = η(mean ψ(g(shots)) − ψ(g(query))): prototype minus query, as in the official code
        NDArray adapted = adapter.forward(m, g).singletonOrThrow();
        float[] protos = new float[b * embedDim];
        for (int i = 0; i < b; i++) {
            System.arraycopy(prompts.get(i).prototype(), 0, protos, i * embedDim, embedDim);
        }
        NDArray residual = m.create(protos, new Shape(b, embedDim)).sub(adapted);
        float[] sI = imageHead.forward(m, residual).singletonOrThrow().toFloatArray();

        float[] gHost = g.toFloatArray();
        float temperature = manifest.text().temperature();
        float[] sA = new float[b];
        float[] mPlus = new float[b * patches];
        float[] sP = new float[b];
        for (int i = 0; i < b; i++) {
            sA[i] = textPriorScore(gHost, i, priors.get(i), temperature);
            float max = 0f;
            for (int j = 0; j < patches; j++) {
                float v = map[i * patches + j];
                max = Math.max(max, v);
                mPlus[i * patches + j] = v + sI[i] + sA[i];
            }
            sP[i] = max;
        }
        float[] sH = holisticHead.forward(m, m.create(mPlus, new Shape(b, patches))).singletonOrThrow().toFloatArray();

        List<InctrlScores> result = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            float[] mi = new float[patches];
            System.arraycopy(map, i * patches, mi, 0, patches);
            result.add(new InctrlScores((sH[i] + sP[i]) / 2f, sH[i], sP[i], sI[i], sA[i], mi, grid[0], grid[1]));
        }
        return result;
    }

    /** Vision-only bundles: the residual map is the whole answer (final = s_p); s_h, s_i, s_a are absent. */
    private List<InctrlScores> patchResidualScores(float[] map, int b, int[] grid) {
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

    /**
     * M (spec §4): per layer, ½(1 − max cosine) of each query token against all K·P prompt tokens, averaged over
     * layers. Queries sharing a prompt set go through one matmul per layer.
     */
    private float[] residualMaps(NDManager m, NDArray[] taps, List<PromptFeatures> prompts, int b,
                                 Function<PromptFeatures, NDArray[]> tokens) {
        Map<PromptFeatures, List<Integer>> groups = new IdentityHashMap<>();
        for (int i = 0; i < b; i++) {
            groups.computeIfAbsent(prompts.get(i), k -> new ArrayList<>()).add(i);
        }
        float[] map = new float[b * patches];
        float layers = taps.length;
        for (Map.Entry<PromptFeatures, List<Integer>> group : groups.entrySet()) {
            List<Integer> rows = group.getValue();
            // the common case (one prompt set for the whole batch) needs no gather
            NDArray index = rows.size() == b ? null : m.create(rows.stream().mapToLong(Integer::longValue).toArray());
            NDArray[] tokensT = tokens.apply(group.getKey());
            NDArray sum = null;
            for (int l = 0; l < taps.length; l++) {
                NDArray q = (index == null ? taps[l] : taps[l].get(index)).reshape(rows.size() * patches, width);
                NDArray nearest = q.matMul(tokensT[l]).max(new int[] {1});
                NDArray d = nearest.neg().add(1f).div(2f);
                sum = sum == null ? d : sum.add(d);
            }
            // fp32 rounding can push a cosine of identical tokens just past 1; M is defined on [0,1]
            float[] values = sum.div(layers).clip(0f, 1f).toFloatArray();
            for (int r = 0; r < rows.size(); r++) {
                System.arraycopy(values, r * patches, map, rows.get(r) * patches, patches);
            }
        }
        return map;
    }

    /** s_a = softmax(T·[ĝ·t_n, ĝ·t_a])[1] = σ(T·(ĝ·t_a − ĝ·t_n)). */
    private float textPriorScore(float[] g, int row, TextPrior prior, float temperature) {
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

    private static NDArray[] uploadTransposed(NDManager m, PromptFeatures p) {
        NDArray[] t = new NDArray[p.tokens().length];
        for (int l = 0; l < t.length; l++) {
            t[l] = m.create(p.tokens()[l], new Shape((long) p.shots() * p.patches(), p.width())).transpose();
        }
        return t;
    }

    private NDArray pixelBatch(NDManager m, List<float[]> pixels) {
        int per = 3 * size * size;
        float[] flat = new float[pixels.size() * per];
        for (int i = 0; i < pixels.size(); i++) {
            float[] p = pixels.get(i);
            if (p.length != per) {
                throw new IllegalArgumentException("image " + i + " has " + p.length + " values, expected " + per);
            }
            System.arraycopy(p, 0, flat, i * per, per);
        }
        return m.create(flat, new Shape(pixels.size(), 3, size, size));
    }

    private ImageFeatures hostFeatures(NDList out) {
        int b = (int) out.get(0).getShape().get(0);
        float[][] taps = new float[out.size() - tapOffset][];
        for (int l = 0; l < taps.length; l++) {
            taps[l] = out.get(l + tapOffset).toFloatArray();
        }
        return new ImageFeatures(b, heads ? embedDim : 0, patches, width,
                heads ? out.get(0).toFloatArray() : new float[0], taps);
    }

    private float[] adapted(NDManager m, NDList out) {
        return heads ? adapter.forward(m, out.get(0)).singletonOrThrow().toFloatArray() : new float[0];
    }

    @Override
    public void close() {
        promptCache.close();
        vision.close();
        if (heads) {
            tokenizer.close();
            text.close();
            adapter.close();
            imageHead.close();
            holisticHead.close();
        }
    }
}
