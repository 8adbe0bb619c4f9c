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
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * Owns the loaded bundle: one {@link InctrlEngine} replica per configured device, the text-prior cache, and the
 * warm-up. Everything else reaches the model through this bean.
 */
@Startup
@ApplicationScoped
public class ModelService {

    private static final Logger LOG = Logger.getLogger(ModelService.class);

    @Inject
    InctrlConfig config;

    private BundleManifest manifest;
    private final List<InctrlEngine> engines = new ArrayList<>();
    private BlockingQueue<InctrlEngine> idle;
    private final Map<PriorKey, TextPrior> textPriors = new ConcurrentHashMap<>();

    private record PriorKey(PromptTemplates templates, String category) {
    }
    private volatile boolean ready;

    @PostConstruct
    void load() {
        Path dir = Paths.get(config.model().bundle());
        manifest = BundleManifest.read(dir);
        for (String name : config.model().devices()) {
            Device device = parseDevice(name);
            long t0 = System.nanoTime();
            engines.add(InctrlEngine.load(dir, device, config.model().promptCacheBytes()));
            LOG.infof("loaded bundle %s on %s in %d ms", manifest.bundleId(), device, (System.nanoTime() - t0) / 1_000_000);
        }
        idle = new ArrayBlockingQueue<>(engines.size(), false, engines);
        if (manifest.weights().random()) {
            LOG.warnf("MODEL WEIGHTS ARE RANDOM (%s): bundle %s produces meaningless scores. Export a real InCTRL "
                    + "checkpoint with tools/export and set inctrl.model.bundle.", manifest.weightsDescription(),
                    manifest.bundleId());
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
        for (InctrlEngine engine : engines) {
            // two passes: TorchScript's profiling executor optimises on the second call
            for (int i = 0; i < 2; i++) {
                EncodedImages shots = engine.encode(List.of(zeros));
                PromptFeatures p = shots.pool();
                TextPrior t = new TextPrior(new float[manifest.vision().embedDim()], new float[manifest.vision().embedDim()]);
                engine.encodeAndScore(List.of(zeros), List.of(p), List.of(t));
            }
        }
        LOG.infof("warm-up done in %d ms", (System.nanoTime() - t0) / 1_000_000);
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

    /** Runs work on a free engine replica; callers block while all replicas are busy. */
    public <T> T withEngine(Function<InctrlEngine, T> work) {
        InctrlEngine engine;
        try {
            engine = idle.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a model replica", e);
        }
        try {
            return work.apply(engine);
        } finally {
            idle.add(engine);
        }
    }

    public List<InctrlEngine> engines() {
        return Collections.unmodifiableList(engines);
    }

    /** t_n, t_a for a template set and category, encoded once (the official loop re-encodes 242 sentences per query). */
    public TextPrior textPrior(PromptTemplates templates, String category) {
        return textPriors.computeIfAbsent(new PriorKey(templates, category), k -> withEngine(
                e -> e.textPrior(templates.normalSentences(category), templates.anomalousSentences(category))));
    }

    /** Tokens a sentence needs including SOT/EOT; more than the context length cannot be encoded faithfully. */
    public int tokenCount(String sentence) {
        return engines.get(0).tokenizer().tokenCount(sentence);
    }

    @PreDestroy
    void close() {
        engines.forEach(InctrlEngine::close);
    }
}
