package io.inctrl.serve.models;

import ai.djl.Device;
import io.inctrl.serve.batching.BatchPolicy;
import io.inctrl.serve.batching.ForegroundActivity;
import io.inctrl.serve.image.PreprocessConfig;
import io.inctrl.serve.inference.ModelBatcher;
import io.inctrl.serve.inference.ModelJob;
import io.inctrl.serve.inference.ModelOutput;
import io.inctrl.serve.inference.ModelStatistics;
import io.inctrl.serve.model.BundleException;
import io.inctrl.serve.model.BundleManifest;
import io.inctrl.serve.model.ComputePrecision;
import io.inctrl.serve.model.InctrlEngine;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TemplatePriorCache;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.text.PromptTemplates;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.jboss.logging.Logger;

/**
 * One loaded model version: its bundle, one engine replica per configured device, its own batcher (lanes per
 * device), its text-prior cache and statistics. Everything device-side that serves this version goes through
 * {@link #batcher()}; nothing here is shared with another version.
 */
public final class LoadedModel implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(LoadedModel.class);

    /** Precision of the weights the version computes with; the only one bundles offer before issue 21's variants. */
    public static final String FP32 = "fp32";

    /** How a version is loaded: from {@code inctrl.model.*} and {@code inctrl.batching.*}. */
    public record Settings(
            List<String> devices,
            long promptCacheBytes,
            long textPriorCacheBytes,
            boolean warmup,
            boolean graphOptimizer,
            BatchPolicy batching,
            String precision,
            ForegroundActivity foreground) {}

    private final ModelRef ref;
    private final Path dir;
    private final BundleManifest manifest;
    private final String manifestJson;
    private final String precision;
    private final List<InctrlEngine> engines;
    private final ModelBatcher batcher;
    private final TemplatePriorCache textPriors;
    private final long memoryBytes;
    private final Instant loadedAt = Instant.now();
    private final AtomicLong textEncodings = new AtomicLong();
    private io.micrometer.core.instrument.Meter textCounter;
    private MeterRegistry registry;

    private LoadedModel(
            ModelRef ref,
            Path dir,
            BundleManifest manifest,
            String manifestJson,
            String precision,
            List<InctrlEngine> engines,
            ModelBatcher batcher,
            TemplatePriorCache textPriors,
            long memoryBytes) {
        this.ref = ref;
        this.dir = dir;
        this.manifest = manifest;
        this.manifestJson = manifestJson;
        this.precision = precision;
        this.engines = List.copyOf(engines);
        this.batcher = batcher;
        this.textPriors = textPriors;
        this.memoryBytes = memoryBytes;
    }

    /**
     * Loads {@code dir} as {@code ref} on every device of {@code s}, warms it up and starts its batcher.
     *
     * @throws BundleException when the bundle cannot be read or loaded (nothing stays loaded then)
     */
    public static LoadedModel load(ModelRef ref, Path dir, Settings s, MeterRegistry registry) {
        BundleManifest manifest = BundleManifest.read(dir);
        ComputePrecision computePrecision;
        try {
            computePrecision = ComputePrecision.of(s.precision() == null ? FP32 : s.precision());
        } catch (IllegalArgumentException e) {
            throw new BundleException(ref + ": " + e.getMessage(), e);
        }
        String precision = computePrecision.wireName();
        String json;
        try {
            json = Files.readString(dir.resolve("manifest.json"));
        } catch (IOException e) {
            throw new BundleException("cannot read manifest of " + dir, e);
        }
        List<InctrlEngine> engines = new ArrayList<>();
        try {
            for (String name : s.devices()) {
                Device device = parseDevice(name);
                long t0 = System.nanoTime();
                engines.add(InctrlEngine.load(dir, device, s.promptCacheBytes(), computePrecision));
                LOG.infof(
                        "loaded %s (bundle %s) on %s at %s in %d ms",
                        ref, manifest.bundleId(), device, precision, (System.nanoTime() - t0) / 1_000_000);
            }
            LOG.infof("%s precision: %s", ref, precisionDescription(manifest, computePrecision));
            if (s.warmup()) {
                warmUp(ref, manifest, engines, s);
            }
        } catch (RuntimeException e) {
            engines.forEach(InctrlEngine::close);
            throw e;
        }
        TemplatePriorCache priors = new TemplatePriorCache(s.textPriorCacheBytes());
        Tags tags = Tags.of("model", ref.name(), "version", Long.toString(ref.version()));
        ModelBatcher batcher = new ModelBatcher(s.batching(), engines, registry, tags, s.foreground());
        long bytes = estimateBytes(dir, manifest, s);
        LOG.infof(
                "%s serves %s: %s; weights: %s%s",
                ref,
                manifest.bundleId(),
                manifest.modeDescription(),
                manifest.weightsDescription(),
                manifest.weights().random() ? " (MODEL WEIGHTS ARE RANDOM: scores are meaningless)" : "");
        LoadedModel m = new LoadedModel(ref, dir, manifest, json, precision, engines, batcher, priors, bytes);
        m.textCounter = io.micrometer.core.instrument.FunctionCounter.builder(
                        "inctrl.text.priors.encoded", m.textEncodings, AtomicLong::get)
                .description("text priors computed by this version (cache misses)")
                .tags(tags)
                .register(registry);
        m.registry = registry;
        return m;
    }

    /**
     * Bytes this version takes: the module files it loads, once per device, plus the bounds of its caches (prompt
     * tensors per device, text priors). An estimate for accounting and limits, not a measurement of native memory.
     */
    /** One log line: the precision, what the bundle offers and, for a variant, its measured deviation from fp32. */
    static String precisionDescription(BundleManifest manifest, ComputePrecision precision) {
        String offered = " (bundle offers " + manifest.precisionNames() + ")";
        return manifest.variant(precision)
                .map(v -> precision + offered + "; measured max |score - fp32| "
                        + v.maxAbsDiff("score")
                                .map(d -> String.format("%.2g", d))
                                .orElse("n/a") + " on "
                        + v.imageSet())
                .orElse(precision + offered);
    }

    // Counts the fp32 files even when a smaller variant is loaded: an upper bound keeps the memory limit safe.
    static long estimateBytes(Path dir, BundleManifest manifest, Settings s) {
        long perDevice = s.promptCacheBytes();
        Set<String> loaded = new HashSet<>();
        boolean allCpu =
                s.devices().stream().allMatch(d -> d.trim().toLowerCase().startsWith("cpu"));
        for (String key : manifest.files().keySet()) {
            if (key.endsWith("_cpu")) {
                continue; // counted in place of the portable file when it is the one loaded
            }
            loaded.add(manifest.fileKey(key, allCpu));
        }
        for (String key : loaded) {
            try {
                perDevice += Files.size(manifest.file(dir, key));
            } catch (IOException e) {
                throw new BundleException("cannot read " + manifest.files().get(key) + " in " + dir, e);
            }
        }
        return perDevice * s.devices().size() + s.textPriorCacheBytes();
    }

    private static void warmUp(ModelRef ref, BundleManifest manifest, List<InctrlEngine> engines, Settings s) {
        long t0 = System.nanoTime();
        int size = manifest.image().size();
        float[] zeros = new float[3 * size * size];
        // the profiling executor specialises per input shape and optimises on a shape's second call
        boolean profiling = s.graphOptimizer();
        List<Integer> batchSizes = profiling
                ? IntStream.rangeClosed(1, s.batching().maxBatchSize()).boxed().toList()
                : List.of(1);
        for (InctrlEngine engine : engines) {
            PromptFeatures p = engine.encode(List.of(zeros)).pool();
            TextPrior t = new TextPrior(
                    new float[manifest.vision().embedDim()],
                    new float[manifest.vision().embedDim()]);
            for (int pass = 0; pass < (profiling ? 2 : 1); pass++) {
                for (int b : batchSizes) {
                    engine.encodeAndScore(
                            Collections.nCopies(b, zeros), Collections.nCopies(b, p), Collections.nCopies(b, t));
                }
            }
        }
        LOG.infof(
                "%s: warm-up over batch sizes %s done in %d ms", ref, batchSizes, (System.nanoTime() - t0) / 1_000_000);
    }

    static Device parseDevice(String name) {
        String n = name.trim().toLowerCase();
        if (n.startsWith("cpu")) {
            return Device.cpu();
        }
        if (n.startsWith("gpu")) {
            String id = n.substring(3);
            return Device.gpu(id.isEmpty() ? 0 : Integer.parseInt(id));
        }
        throw new IllegalArgumentException("unknown device '" + name + "' (use cpu, gpu or gpuN)");
    }

    public ModelRef ref() {
        return ref;
    }

    public String name() {
        return ref.name();
    }

    public long version() {
        return ref.version();
    }

    public Path dir() {
        return dir;
    }

    public BundleManifest manifest() {
        return manifest;
    }

    /** The bundle's manifest.json, verbatim. */
    public String manifestJson() {
        return manifestJson;
    }

    public String bundleId() {
        return manifest.bundleId();
    }

    public boolean randomWeights() {
        return manifest.weights().random();
    }

    /** {@code fp32}, {@code bf16} or {@code int8}: what the weights compute in. */
    public String precision() {
        return precision;
    }

    /**
     * What produced a prompt set's stored features: the bundle and the precision it ran at. Two versions with the same
     * encoder share encodings (their features are the same numbers); any other difference means separate encodings.
     */
    public String encoderId() {
        return manifest.bundleId() + "@" + precision;
    }

    public PreprocessConfig preprocess() {
        BundleManifest.Image image = manifest.image();
        return new PreprocessConfig(image.size(), image.mean(), image.std());
    }

    public List<String> devices() {
        return engines.stream().map(e -> e.device().toString()).toList();
    }

    public ModelBatcher batcher() {
        return batcher;
    }

    public ModelStatistics.Snapshot statistics() {
        return batcher.statistics();
    }

    public long memoryBytes() {
        return memoryBytes;
    }

    public Instant loadedAt() {
        return loadedAt;
    }

    /**
     * t_n, t_a of a template set and category, encoded once per version through the batcher (as a job of
     * {@code lane}) and cached; {@link TextPrior#NONE} for bundles without a text tower. Shared by every caller of
     * the same key; never blocks.
     */
    public CompletableFuture<TextPrior> textPrior(PromptTemplates templates, String category, String lane) {
        if (!manifest.hasTextPrior()) {
            return CompletableFuture.completedFuture(TextPrior.NONE);
        }
        return textPriors.get(templates, category, () -> {
            textEncodings.incrementAndGet();
            // no deadline: the encoding is shared by every caller of the key, whatever their own deadlines
            return batcher.submit(
                            lane,
                            ModelJob.text(templates.normalSentences(category), templates.anomalousSentences(category)),
                            null)
                    .thenApply(ModelOutput::prior);
        });
    }

    /** How many text priors this version computed (not served from cache); tests use it to prove reuse. */
    public long textEncodings() {
        return textEncodings.get();
    }

    /** Tokens a sentence needs including SOT/EOT; 0 for bundles without a text tower. */
    public int tokenCount(String sentence) {
        if (!manifest.hasTextPrior()) {
            return 0; // no text encoder: sentences are never tokenised, so any length fits
        }
        return engines.get(0).tokenizer().map(t -> t.tokenCount(sentence)).orElse(0);
    }

    /** Drains this version's queued and running work, then frees its engines. */
    @Override
    public void close() {
        batcher.close();
        engines.forEach(InctrlEngine::close);
        if (textCounter != null) {
            registry.remove(textCounter);
        }
    }

    @Override
    public String toString() {
        return ref + " (" + manifest.bundleId() + ")";
    }
}
