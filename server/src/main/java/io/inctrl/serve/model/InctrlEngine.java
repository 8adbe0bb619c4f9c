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
import java.util.Optional;
import java.util.function.Function;

/**
 * The InCTRL computation on one device (spec §2–§7), correct at any batch size: every query is paired with its own
 * prompt features and text prior. {@link #process} (and the methods built on it) belongs to one worker thread, since
 * it keeps prompt tensors cached on the device; {@link #score}, {@link #textPrior} and {@link #encode} may run beside it.
 */
public final class InctrlEngine implements AutoCloseable {

    private final BundleManifest manifest;
    private final Device device;
    private final ComputePrecision precision;
    private final TorchScriptModule vision;
    private final Heads heads;
    private final PromptTensorCache promptCache;
    private final int patches;
    private final int width;
    private final int size;

    private InctrlEngine(
            Path dir, BundleManifest manifest, Device device, long promptCacheBytes, ComputePrecision precision) {
        this.manifest = manifest;
        this.device = device;
        this.precision = precision;
        boolean cpu = Device.Type.CPU.equals(device.getDeviceType());
        manifest.requirePrecision(dir, precision, cpu);
        if (cpu) {
            manifest.variant(precision).ifPresent(v -> CpuFlags.require(manifest.bundleId(), precision, v));
        }
        this.vision = TorchScriptModule.load(
                moduleLabel("vision", precision), manifest.moduleFile(dir, "vision", precision, cpu), device);
        this.heads = Heads.load(dir, manifest, device, precision);
        this.patches = manifest.vision().patches();
        this.width = manifest.vision().width();
        this.size = manifest.image().size();
        this.promptCache = new PromptTensorCache(device, promptCacheBytes);
    }

    /** Loads every module of the bundle in {@code dir} onto {@code device} at fp32 (the bundle's own files). */
    public static InctrlEngine load(Path dir, Device device, long promptCacheBytes) {
        return load(dir, device, promptCacheBytes, ComputePrecision.FP32);
    }

    /**
     * Loads the bundle in {@code dir} onto {@code device} at {@code precision}: fp32 runs the bundle's own files (with
     * the frozen CPU copy on a CPU), bf16/int8 the variant files its manifest lists for the vision (and text) tower;
     * the heads are fp32 at every precision. Inputs and outputs are fp32 either way.
     *
     * @throws BundleException naming the bundle and the precisions it offers when {@code precision} is not one of them,
     *     when the variant cannot run on this device (int8: CPUs only) or this CPU lacks what it needs (int8: VNNI)
     */
    public static InctrlEngine load(Path dir, Device device, long promptCacheBytes, ComputePrecision precision) {
        return new InctrlEngine(dir, BundleManifest.read(dir), device, promptCacheBytes, precision);
    }

    /** The label a module's load is logged under, e.g. "vision" or "vision@bf16". */
    static String moduleLabel(String key, ComputePrecision precision) {
        return precision == ComputePrecision.FP32 ? key : key + "@" + precision;
    }

    /** The precision the towers run at (one per engine: a batch never mixes precisions). */
    public ComputePrecision precision() {
        return precision;
    }

    public BundleManifest manifest() {
        return manifest;
    }

    public Device device() {
        return device;
    }

    /** The text tower's tokenizer; empty for vision-only bundles. */
    public Optional<ClipTokenizer> tokenizer() {
        return heads.tokenizer();
    }

    /** One vision forward for the batch, plus ψ(g); results copied to the host. */
    public EncodedImages encode(List<float[]> pixels) {
        try (NDManager m = NDManager.newBaseManager(device)) {
            NDList out = vision.forward(m, pixelBatch(m, pixels));
            return new EncodedImages(hostFeatures(out), adapted(m, out));
        }
    }

    /** Encodes query images and scores each against its own prompt features and text prior, in one batch. */
    public List<InctrlScores> encodeAndScore(
            List<float[]> pixels, List<PromptFeatures> prompts, List<TextPrior> priors) {
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
                NDArray[] taps = new NDArray[rows.size() - heads.tapOffset()];
                for (int l = 0; l < taps.length; l++) {
                    taps[l] = rows.get(l + heads.tapOffset());
                }
                List<PromptFeatures> p = new ArrayList<>();
                List<TextPrior> t = new ArrayList<>();
                scoreRows.forEach(i -> {
                    p.add(prompts.get(i));
                    t.add(priors.get(i));
                });
                List<InctrlScores> s = scoreOnDevice(m, heads.global(rows), taps, p, t, promptCache::transposedTokens);
                for (int r = 0; r < scoreRows.size(); r++) {
                    scores[scoreRows.get(r)] = s.get(r);
                }
            }
            return new BatchOutput(Arrays.asList(encoded), Arrays.asList(scores), t1 - t0, System.nanoTime() - t1);
        }
    }

    /** Per entry either its encoding or its scores (the other is null), plus the batch's stage times. */
    public record BatchOutput(
            List<EncodedImages> encoded, List<InctrlScores> scores, long encodeNanos, long scoreNanos) {}

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
            NDArray g = heads.global(m, queries);
            NDArray[] taps = new NDArray[queries.taps().length];
            for (int l = 0; l < taps.length; l++) {
                taps[l] = m.create(queries.taps()[l], new Shape(b, patches, width));
            }
            return scoreOnDevice(m, g, taps, prompts, priors, p -> uploadTransposed(m, p));
        }
    }

    /** t_n and t_a (spec §6), or {@link TextPrior#NONE} for vision-only bundles. */
    public TextPrior textPrior(List<String> normalSentences, List<String> anomalousSentences) {
        return heads.textPrior(normalSentences, anomalousSentences);
    }

    private List<InctrlScores> scoreOnDevice(
            NDManager m,
            NDArray g,
            NDArray[] taps,
            List<PromptFeatures> prompts,
            List<TextPrior> priors,
            Function<PromptFeatures, NDArray[]> tokens) {
        int b = (int) taps[0].getShape().get(0);
        if (prompts.size() != b || priors.size() != b) {
            throw new IllegalArgumentException("need one prompt set and one text prior per query: " + b + " queries, "
                    + prompts.size() + " prompt sets, " + priors.size() + " priors");
        }
        float[] map = residualMaps(m, taps, prompts, b, tokens);
        return heads.score(m, g, map, prompts, priors);
    }

    /**
     * M (spec §4): per layer, ½(1 − max cosine) of each query token against the prompt bank of that layer (all K·P
     * shot tokens, or a coreset of them), averaged over layers. Queries sharing a prompt set go through one matmul per
     * layer.
     */
    private float[] residualMaps(
            NDManager m,
            NDArray[] taps,
            List<PromptFeatures> prompts,
            int b,
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
            NDArray index = rows.size() == b
                    ? null
                    : m.create(rows.stream().mapToLong(Integer::longValue).toArray());
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

    private static NDArray[] uploadTransposed(NDManager m, PromptFeatures p) {
        NDArray[] t = new NDArray[p.tokens().length];
        for (int l = 0; l < t.length; l++) {
            t[l] = m.create(p.tokens()[l], new Shape(p.rows(l), p.width())).transpose();
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
        float[][] taps = new float[out.size() - heads.tapOffset()][];
        for (int l = 0; l < taps.length; l++) {
            taps[l] = out.get(l + heads.tapOffset()).toFloatArray();
        }
        float[] g = heads.globalEmbeddings(out);
        return new ImageFeatures(b, g.length == 0 ? 0 : manifest.vision().embedDim(), patches, width, g, taps);
    }

    private float[] adapted(NDManager m, NDList out) {
        return heads.adapted(m, out);
    }

    @Override
    public void close() {
        promptCache.close();
        vision.close();
        heads.close();
    }
}
