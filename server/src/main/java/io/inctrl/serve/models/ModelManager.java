package io.inctrl.serve.models;

import io.inctrl.serve.batching.BatchPolicy;
import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.model.BundleException;
import io.inctrl.serve.model.BundleManifest;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.jboss.logging.Logger;

/**
 * Loads, unloads and reports model versions. At start it loads the single configured bundle, or every model of the
 * repository (or {@code inctrl.models.startup}) with the versions its policy selects; later the admin API and the
 * Open Inference Protocol's repository extension load and unload through it. Loads and unloads run one at a time;
 * requests never wait on them (they see a version once it is READY, and not after it started unloading).
 */
@Startup
@ApplicationScoped
public class ModelManager {

    private static final Logger LOG = Logger.getLogger(ModelManager.class);
    /** Triton's default: the newest version of a model without a config.json. */
    static final VersionPolicy DEFAULT_POLICY = new VersionPolicy.Latest(1);

    /** Where a version stands, as the repository index reports it. */
    public enum State {
        /** In the source, valid, not loaded. */
        AVAILABLE,
        LOADING,
        READY,
        UNLOADING,
        /** Invalid in the source, or its last load failed: {@code reason} says why. */
        UNAVAILABLE
    }

    public record VersionStatus(ModelRef ref, State state, String reason, Instant since) {}

    @Inject
    InctrlConfig config;

    @Inject
    ModelsConfig models;

    @Inject
    MeterRegistry registry;

    @Inject
    Event<ModelEvent> events;

    @Inject
    jakarta.enterprise.inject.Instance<LoadCheck> loadChecks;

    /** The configured model repository; empty = the single bundle {@code inctrl.model.bundle}. */
    @Inject
    java.util.Optional<io.inctrl.serve.models.repository.ModelRepository> repository;

    private ModelSource source;
    private String defaultModel;
    private final Map<ModelRef, LoadedModel> loaded = new ConcurrentHashMap<>();
    /** Shared by every loaded version: one's background encodings wait for the others' requests (same cores). */
    private final io.inctrl.serve.batching.ForegroundActivity foreground =
            new io.inctrl.serve.batching.ForegroundActivity();
    /** Versions being loaded or unloaded, or whose last load failed. */
    private final Map<ModelRef, VersionStatus> transitions = new ConcurrentHashMap<>();

    private final ReentrantLock lifecycle = new ReentrantLock();

    /**
     * False while {@link #start} loads the initial versions: an observer calling back into this bean during its own
     * construction would make CDI construct another one (and load again, recursively). Observers read the initial
     * state at their own start instead (StartupEvent, EncodingBackfill's first sweep).
     */
    private volatile boolean started;

    @PostConstruct
    void start() {
        String graph = Boolean.toString(config.model().graphOptimizer());
        // DJL applies this to the calling thread before every forward (PtSymbolBlock), so it reaches every worker
        System.setProperty("ai.djl.pytorch.graph_optimizer", graph);
        warnAboutSpinningThreads();
        boolean single = repository.isEmpty();
        if (single) {
            Path dir = Paths.get(config.model().bundle());
            String name = config.model().name().orElse(SingleBundleSource.defaultName(dir));
            source = new SingleBundleSource(dir, name);
            defaultModel = models.defaultModel().orElse(name);
        } else {
            source = new RepositorySource(repository.get());
        }
        LOG.infof("model source: %s", source.describe());
        source.refresh(); // once: a repository in object storage is synced here, not once per model
        List<String> initial = models.startup().orElseGet(() -> modelNames());
        for (String model : initial) {
            try {
                apply(model, false);
            } catch (RuntimeException e) {
                if (single) {
                    throw e; // one configured bundle that cannot load is a configuration error: stop now
                }
                LOG.errorf("model %s could not be loaded at start: %s", model, e.getMessage());
            }
        }
        if (defaultModel == null) {
            // unless configured: the first model by name that loaded (a broken one must not make the replica unready)
            List<String> sorted = initial.stream().sorted().toList();
            defaultModel = models.defaultModel()
                    .orElseGet(() -> sorted.stream()
                            .filter(m -> !versions(m).isEmpty())
                            .findFirst()
                            .orElse(sorted.isEmpty() ? "" : sorted.get(0)));
        }
        LOG.infof("default model: %s", defaultModel);
        if (versions(defaultModel).isEmpty()) {
            LOG.errorf("the default model '%s' has no loaded version: this replica is not ready", defaultModel);
        }
        started = true;
        Gauge.builder("inctrl.models.memory.bytes", this, ModelManager::memoryBytes)
                .description("estimated bytes taken by loaded model versions (weights per device and their caches)")
                .register(registry);
        Gauge.builder("inctrl.models.loaded", loaded, Map::size)
                .description("model versions loaded")
                .register(registry);
    }

    private void warnAboutSpinningThreads() {
        String waitPolicy = System.getenv("OMP_WAIT_POLICY");
        if (waitPolicy == null || !waitPolicy.equalsIgnoreCase("passive")) {
            // read by libgomp when libtorch loads, so only the environment can set it
            LOG.warnf(
                    "OMP_WAIT_POLICY=%s: libtorch's OpenMP threads spin between ops; on shared or quota-limited CPUs "
                            + "that slowed forwards several-fold in our measurements. Set OMP_WAIT_POLICY=PASSIVE "
                            + "(scripts/serve.sh and the container image do).",
                    waitPolicy == null ? "(unset)" : waitPolicy);
        }
    }

    /** Model names the source holds (valid versions or not). */
    public List<String> modelNames() {
        Set<String> names = new LinkedHashSet<>();
        source.versions().forEach(a -> names.add(a.ref().name()));
        loaded.keySet().forEach(r -> names.add(r.name()));
        return names.stream().sorted().toList();
    }

    /**
     * Brings {@code model} in line with its source and version policy: loads the selected valid versions not yet
     * loaded, unloads loaded ones no longer selected (after the new ones are ready, so the model keeps serving).
     *
     * @return the versions loaded afterwards, highest first
     * @throws ServeException NOT_FOUND when the source has no valid version of the model
     */
    public List<ModelRef> apply(String model) {
        return apply(model, true);
    }

    private List<ModelRef> apply(String model, boolean refresh) {
        lifecycle.lock();
        try {
            if (refresh) {
                source.refresh();
            }
            List<Long> valid = new ArrayList<>();
            for (ModelSource.Available a : source.versions()) {
                if (!a.ref().name().equals(model)) {
                    continue;
                }
                if (a.valid()) {
                    valid.add(a.ref().version());
                } else {
                    LOG.warnf(
                            "model repository: %s is not loadable: %s",
                            a.ref(), a.problem().get());
                }
            }
            if (valid.isEmpty()) {
                throw new ServeException(
                        Reason.MODEL_NOT_FOUND,
                        "the model repository has no loadable version of model '" + model + "'");
            }
            ModelSource.ModelSettings settings = source.settings(model);
            VersionPolicy policy = settings.versionPolicy().orElse(DEFAULT_POLICY);
            List<Long> wanted = policy.select(valid);
            for (long v : wanted) {
                ModelRef ref = new ModelRef(model, v);
                if (!loaded.containsKey(ref)) {
                    loadLocked(ref, settings);
                }
            }
            for (ModelRef ref : List.copyOf(loaded.keySet())) {
                if (ref.name().equals(model) && !wanted.contains(ref.version())) {
                    unloadLocked(ref);
                }
            }
            return versions(model).stream().map(LoadedModel::ref).toList();
        } finally {
            lifecycle.unlock();
        }
    }

    /**
     * Loads one version (whatever the policy says), e.g. for a canary. Loading an already loaded version returns it.
     *
     * @throws ServeException NOT_FOUND (not in the source), FAILED_PRECONDITION (invalid bundle, load failed),
     *     RESOURCE_EXHAUSTED (over {@code inctrl.models.max-memory-bytes})
     */
    public LoadedModel load(ModelRef ref) {
        lifecycle.lock();
        try {
            LoadedModel m = loaded.get(ref);
            if (m != null) {
                return m;
            }
            source.refresh();
            ModelSource.Available a = source.versions().stream()
                    .filter(x -> x.ref().equals(ref))
                    .findFirst()
                    .orElseThrow(() -> new ServeException(
                            Reason.MODEL_NOT_FOUND,
                            "the model repository has no version " + ref.version() + " of model '" + ref.name() + "'"));
            if (!a.valid()) {
                throw new ServeException(
                        Reason.INVALID_BUNDLE,
                        ref + " cannot be loaded: " + a.problem().get());
            }
            return loadLocked(ref, source.settings(ref.name()));
        } finally {
            lifecycle.unlock();
        }
    }

    private LoadedModel loadLocked(ModelRef ref, ModelSource.ModelSettings settings) {
        transitions.put(ref, new VersionStatus(ref, State.LOADING, "", Instant.now()));
        try {
            Path dir = source.materialize(ref);
            LoadedModel.Settings s = settings(settings);
            BundleManifest manifest = BundleManifest.read(dir);
            for (LoadCheck check : loadChecks) {
                try {
                    check.check(ref, manifest);
                } catch (IllegalStateException e) {
                    throw new ServeException(Reason.INVALID_BUNDLE, ref + " cannot be loaded here: " + e.getMessage());
                }
            }
            long limit = models.maxMemoryBytes();
            if (limit > 0) {
                long need = LoadedModel.estimateBytes(dir, manifest, s);
                long used = memoryBytes();
                if (used + need > limit) {
                    throw new ServeException(
                            Reason.MODEL_MEMORY_LIMIT,
                            "loading " + ref + " needs about " + mib(need) + " MiB; " + mib(used) + " of " + mib(limit)
                                    + " MiB (inctrl.models.max-memory-bytes) are taken: unload a version first");
                }
            }
            LoadedModel m = LoadedModel.load(ref, dir, s, registry);
            loaded.put(ref, m);
            transitions.remove(ref);
            LOG.infof(
                    "%s is READY (%d MiB estimated; %d MiB in use by all versions)",
                    ref, mib(m.memoryBytes()), mib(memoryBytes()));
            fire(new ModelEvent.Loaded(m));
            return m;
        } catch (ServeException e) {
            transitions.put(ref, new VersionStatus(ref, State.UNAVAILABLE, e.getMessage(), Instant.now()));
            throw e;
        } catch (BundleException | IllegalArgumentException e) {
            transitions.put(ref, new VersionStatus(ref, State.UNAVAILABLE, e.getMessage(), Instant.now()));
            throw new ServeException(Reason.INVALID_BUNDLE, ref + " could not be loaded: " + e.getMessage(), e);
        }
    }

    private LoadedModel.Settings settings(ModelSource.ModelSettings model) {
        InctrlConfig.Batching b = config.batching();
        BatchPolicy policy = new BatchPolicy(
                        b.maxBatchSize(),
                        b.maxQueueDelay(),
                        b.preferredBatchSizes().orElse(List.of()),
                        b.maxQueueSize(),
                        b.maxQueuedPerTenant())
                .withBackground(
                        io.inctrl.serve.inference.ModelBatcher.BACKGROUND_LANES,
                        Math.min(b.backgroundBatchSize(), b.maxBatchSize()),
                        b.backgroundMaxWait());
        InctrlConfig.Model m = config.model();
        return new LoadedModel.Settings(
                m.devices(),
                m.promptCacheBytes(),
                m.textPriorCacheBytes(),
                m.warmup(),
                m.graphOptimizer(),
                policy,
                model.precision().orElse(m.precision()),
                foreground);
    }

    /**
     * Stops serving {@code ref}: new requests go to other versions at once, its queued work is answered, then its
     * engines are freed.
     *
     * @throws ServeException NOT_FOUND when it is not loaded
     */
    public void unload(ModelRef ref) {
        lifecycle.lock();
        try {
            if (!loaded.containsKey(ref)) {
                throw new ServeException(Reason.MODEL_VERSION_NOT_LOADED, "model version " + ref + " is not loaded");
            }
            unloadLocked(ref);
        } finally {
            lifecycle.unlock();
        }
    }

    /** Unloads every version of {@code model}; returns what was unloaded. */
    public List<ModelRef> unloadModel(String model) {
        lifecycle.lock();
        try {
            List<ModelRef> refs = versions(model).stream().map(LoadedModel::ref).toList();
            if (refs.isEmpty()) {
                throw new ServeException(
                        Reason.MODEL_VERSION_NOT_LOADED, "model '" + model + "' has no loaded version");
            }
            refs.forEach(this::unloadLocked);
            return refs;
        } finally {
            lifecycle.unlock();
        }
    }

    private void unloadLocked(ModelRef ref) {
        LoadedModel m = loaded.remove(ref); // routing stops choosing it from here on
        if (m == null) {
            return;
        }
        transitions.put(ref, new VersionStatus(ref, State.UNLOADING, "", Instant.now()));
        try {
            m.close();
        } finally {
            transitions.remove(ref);
            LOG.infof("%s unloaded", ref);
            fire(new ModelEvent.Unloaded(ref));
        }
    }

    private void fire(ModelEvent e) {
        if (started) {
            events.fire(e);
        }
    }

    /** Loaded versions of {@code model}, highest first. */
    public List<LoadedModel> versions(String model) {
        return loaded.values().stream()
                .filter(m -> m.name().equals(model))
                .sorted(Comparator.comparingLong(LoadedModel::version).reversed())
                .toList();
    }

    public Optional<LoadedModel> get(ModelRef ref) {
        return Optional.ofNullable(loaded.get(ref));
    }

    /** Every loaded version, by name then version. */
    public List<LoadedModel> all() {
        return loaded.values().stream()
                .sorted(Comparator.comparing(LoadedModel::ref))
                .toList();
    }

    /** The model that answers requests naming none. */
    public String defaultModel() {
        return defaultModel;
    }

    /** Ready to score: the default model has a loaded version. */
    public boolean ready() {
        return !versions(defaultModel).isEmpty();
    }

    /** Every version the source holds or that is loaded, with its state. */
    public List<VersionStatus> index() {
        Map<ModelRef, VersionStatus> out = new TreeMap<>();
        Instant now = Instant.now();
        for (ModelSource.Available a : source.versions()) {
            out.put(
                    a.ref(),
                    a.valid()
                            ? new VersionStatus(a.ref(), State.AVAILABLE, "", now)
                            : new VersionStatus(
                                    a.ref(), State.UNAVAILABLE, a.problem().get(), now));
        }
        transitions.forEach(out::put);
        loaded.values().forEach(m -> out.put(m.ref(), new VersionStatus(m.ref(), State.READY, "", m.loadedAt())));
        return List.copyOf(out.values());
    }

    /**
     * The version policy {@link #apply} uses for {@code model}: its repository {@code config.json}'s, else the newest
     * version.
     *
     * @throws ServeException FAILED_PRECONDITION when the model's config.json is invalid
     */
    public VersionPolicy versionPolicy(String model) {
        try {
            return source.settings(model).versionPolicy().orElse(DEFAULT_POLICY);
        } catch (BundleException e) {
            throw new ServeException(Reason.INVALID_MODEL_CONFIG, e.getMessage(), e);
        }
    }

    /** Where models come from, in words. */
    public String sourceDescription() {
        return source.describe();
    }

    /** Estimated bytes of every loaded version. */
    public long memoryBytes() {
        return loaded.values().stream().mapToLong(LoadedModel::memoryBytes).sum();
    }

    private static long mib(long bytes) {
        return bytes >> 20;
    }

    @PreDestroy
    void close() {
        lifecycle.lock();
        try {
            for (ModelRef ref : List.copyOf(loaded.keySet())) {
                LoadedModel m = loaded.remove(ref);
                if (m != null) {
                    m.close();
                }
            }
        } finally {
            lifecycle.unlock();
        }
    }
}
