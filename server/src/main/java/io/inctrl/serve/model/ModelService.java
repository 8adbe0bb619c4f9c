package io.inctrl.serve.model;

import ai.djl.Device;
import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.text.PromptTemplates;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Owns the loaded bundle: one {@link InctrlEngine} replica per configured device, the text-prior cache, and the
 * warm-up. Everything else reaches the model through this bean.
 */
@Startup
@ApplicationScoped
public class ModelService {

    private static final Logger LOG = Logger.getLogger(ModelService.class);

    private static final String DJL_GRAPH_OPTIMIZER = "ai.djl.pytorch.graph_optimizer";

    @Inject
    InctrlConfig config;

    private BundleManifest manifest;
    private ComputePrecision precision = ComputePrecision.FP32;
    private String manifestJson;
    private final List<InctrlEngine> engines = new ArrayList<>();
    private final Object textLock = new Object();
    private final java.util.concurrent.atomic.AtomicLong textEncodings = new java.util.concurrent.atomic.AtomicLong();
    private TemplatePriorCache textPriors;
    private volatile boolean ready;

    @PostConstruct
    void load() {
        // DJL applies this to the calling thread before every forward (PtSymbolBlock), so it reaches every worker
        System.setProperty(DJL_GRAPH_OPTIMIZER, Boolean.toString(config.model().graphOptimizer()));
        LOG.infof("TorchScript graph optimizer: %s", config.model().graphOptimizer() ? "on" : "off");
        String waitPolicy = System.getenv("OMP_WAIT_POLICY");
        if (waitPolicy == null || !waitPolicy.equalsIgnoreCase("passive")) {
            // read by libgomp when libtorch loads, so only the environment can set it
            LOG.warnf(
                    "OMP_WAIT_POLICY=%s: libtorch's OpenMP threads spin between ops; on shared or quota-limited CPUs "
                            + "that slowed forwards several-fold in our measurements. Set OMP_WAIT_POLICY=PASSIVE "
                            + "(scripts/serve.sh and the container image do).",
                    waitPolicy == null ? "(unset)" : waitPolicy);
        }
        textPriors = new TemplatePriorCache(config.model().textPriorCacheBytes());
        Path dir = Paths.get(config.model().bundle());
        manifest = BundleManifest.read(dir);
        try {
            manifestJson = java.nio.file.Files.readString(dir.resolve("manifest.json"));
        } catch (java.io.IOException e) {
            throw new BundleException("cannot read manifest of " + dir, e);
        }
        try {
            precision = ComputePrecision.of(config.model().precision());
        } catch (IllegalArgumentException e) {
            throw new BundleException("inctrl.model.precision: " + e.getMessage(), e);
        }
        for (String name : config.model().devices()) {
            Device device = parseDevice(name);
            long t0 = System.nanoTime();
            engines.add(InctrlEngine.load(dir, device, config.model().promptCacheBytes(), precision));
            LOG.infof(
                    "loaded bundle %s on %s at %s in %d ms",
                    manifest.bundleId(), device, precision, (System.nanoTime() - t0) / 1_000_000);
        }
        LOG.infof("precision: %s", precisionDescription(manifest, precision));
        LOG.infof("scoring mode: %s", manifest.modeDescription());
        if (manifest.weights().random()) {
            LOG.warnf(
                    "MODEL WEIGHTS ARE RANDOM (%s): bundle %s produces meaningless scores. Export a real InCTRL "
                            + "checkpoint with tools/export and set inctrl.model.bundle.",
                    manifest.weightsDescription(), manifest.bundleId());
        } else {
            LOG.infof("model weights: %s", manifest.weightsDescription());
        }
        if (config.model().warmup()) {
            warmUp();
        }
        ready = true;
    }

    private void warmUp() {
        long t0 = System.nanoTime();
        int size = manifest.image().size();
        float[] zeros = new float[3 * size * size];
        // the profiling executor specialises per input shape and optimises on a shape's second call
        boolean profiling = config.model().graphOptimizer();
        List<Integer> batchSizes = profiling
                ? java.util.stream.IntStream.rangeClosed(1, config.batching().maxBatchSize())
                        .boxed()
                        .toList()
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
        LOG.infof("warm-up over batch sizes %s done in %d ms", batchSizes, (System.nanoTime() - t0) / 1_000_000);
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

    public BundleManifest manifest() {
        return manifest;
    }

    /** The bundle's manifest.json, verbatim. */
    public String manifestJson() {
        return manifestJson;
    }

    /** The precision every replica runs at (inctrl.model.precision). */
    public ComputePrecision precision() {
        return precision;
    }

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

    public String bundleId() {
        return manifest.bundleId();
    }

    public boolean randomWeights() {
        return manifest.weights().random();
    }

    public boolean ready() {
        return ready;
    }

    public List<String> devices() {
        List<String> out = new ArrayList<>();
        engines.forEach(e -> out.add(e.device().toString()));
        return Collections.unmodifiableList(out);
    }

    /**
     * The loaded replicas, one per configured device, for the batcher to run (one worker each). Nothing else may
     * touch an engine: all device work is a batcher job (enforced by ArchitectureTest).
     */
    public List<InctrlEngine> replicas() {
        return Collections.unmodifiableList(engines);
    }

    /** t_n, t_a for a template set and category, encoded once (the official loop re-encodes 242 sentences per query). */
    public TextPrior textPrior(PromptTemplates templates, String category) {
        if (!manifest.hasTextPrior()) {
            return TextPrior.NONE;
        }
        TextPrior cached = textPriors.getIfPresent(templates, category);
        if (cached != null) {
            return cached;
        }
        // one text encoding at a time: 242 sentences through the full text tower take seconds and gigabytes
        synchronized (textLock) {
            return textPriors.get(templates, category, () -> {
                textEncodings.incrementAndGet();
                return engines.get(0)
                        .textPrior(templates.normalSentences(category), templates.anomalousSentences(category));
            });
        }
    }

    /** How many text priors were computed (not served from cache) since start; tests use it to prove reuse. */
    public long textEncodings() {
        return textEncodings.get();
    }

    /** Tokens a sentence needs including SOT/EOT; more than the context length cannot be encoded faithfully. */
    public int tokenCount(String sentence) {
        if (!manifest.hasTextPrior()) {
            return 0; // no text encoder: sentences are never tokenised, so any length fits
        }
        return engines.get(0).tokenizer().map(t -> t.tokenCount(sentence)).orElse(0);
    }

    @PreDestroy
    void close() {
        engines.forEach(InctrlEngine::close);
    }
}
