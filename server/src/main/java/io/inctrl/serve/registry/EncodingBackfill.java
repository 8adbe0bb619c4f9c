package io.inctrl.serve.registry;

import io.inctrl.serve.models.ModelEvent;
import io.inctrl.serve.models.ModelRef;
import io.inctrl.serve.models.ModelsConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * Encodes prompt sets for the loaded versions that have not encoded them yet, in the background: when a version
 * loads, when a set is registered or changed, and every {@code inctrl.models.encoding.sweep-interval} (to pick up sets
 * whose claim another replica abandoned). Most recently used sets go first; at most
 * {@code inctrl.models.encoding.concurrency} encodings run at once per replica, each in its version's background
 * batcher lane, which runs only while no request waits (and, starved for {@code inctrl.batching.background-max-wait},
 * like one more tenant). Progress is published per version.
 */
@Startup
@ApplicationScoped
public class EncodingBackfill {

    private static final Logger LOG = Logger.getLogger(EncodingBackfill.class);
    /** The batcher lane of background encodings: served while no request waits (BatchPolicy#background). */
    public static final String LANE = io.inctrl.serve.inference.ModelBatcher.BACKGROUND_LANE;

    private static final int BATCH = 50;

    @Inject
    Store store;

    @Inject
    PromptSetRepository sets;

    @Inject
    ModelPort models;

    @Inject
    Encodings encodings;

    @Inject
    ModelsConfig config;

    @Inject
    MeterRegistry registry;

    /** Per version: sets of its model, of which encoded at their current revision, when last counted. */
    public record Progress(ModelRef version, long sets, long encoded, Instant countedAt) {
        public long pending() {
            return Math.max(0, sets - encoded);
        }
    }

    private final Map<ModelRef, Progress> progress = new ConcurrentHashMap<>();
    private final Map<ModelRef, List<Gauge>> gauges = new ConcurrentHashMap<>();
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicBoolean sweepQueued = new AtomicBoolean();
    private ScheduledExecutorService scheduler;
    private ExecutorService workers;

    @PostConstruct
    void start() {
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "inctrl-encoding-sweep"));
        int n = Math.max(1, config.encoding().concurrency());
        AtomicInteger id = new AtomicInteger();
        workers = Executors.newFixedThreadPool(n, r -> daemon(r, "inctrl-encoding-" + id.incrementAndGet()));
        long every = config.encoding().sweepInterval().toMillis();
        scheduler.scheduleWithFixedDelay(this::sweepAll, every, every, TimeUnit.MILLISECONDS);
        requestSweep();
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    void onModelEvent(@Observes ModelEvent e) {
        if (e instanceof ModelEvent.Unloaded u) {
            progress.remove(u.ref());
            List<Gauge> g = gauges.remove(u.ref());
            if (g != null) {
                g.forEach(registry::remove);
            }
        }
        requestSweep();
    }

    void onSetChanged(@Observes PromptSetService.PromptSetChanged e) {
        requestSweep();
    }

    /** A sweep soon (coalesced: one queued sweep covers every request made before it starts). */
    public void requestSweep() {
        if (scheduler != null && sweepQueued.compareAndSet(false, true)) {
            scheduler.execute(() -> {
                sweepQueued.set(false);
                sweepAll();
            });
        }
    }

    /** Runs on the scheduler thread only. */
    private void sweepAll() {
        List<ModelVersionPort> loaded = new ArrayList<>();
        try {
            for (String model : modelsWithVersions()) {
                loaded.addAll(models.versions(model));
            }
            for (ModelVersionPort v : loaded) {
                sweep(v);
            }
        } catch (RuntimeException e) {
            // store unreachable, a version unloading...: the next sweep tries again
            LOG.debugf("background encoding sweep stopped: %s", e.getMessage());
        }
    }

    private List<String> modelsWithVersions() {
        List<String> names = new ArrayList<>();
        names.add(models.defaultModel());
        for (ModelVersionPort v : models.allVersions()) {
            if (!names.contains(v.ref().name())) {
                names.add(v.ref().name());
            }
        }
        return names;
    }

    private void sweep(ModelVersionPort v) {
        String model = v.ref().name();
        boolean isDefault = model.equals(models.defaultModel());
        count(v, isDefault);
        while (true) {
            Instant now = Store.now();
            List<String> pending = store.tx(c ->
                    sets.pendingFor(c, model, isDefault, v.encoderId(), now, now.minus(Encodings.FAILED_RETRY), BATCH));
            if (pending.isEmpty()) {
                break;
            }
            List<Future<Encodings.Outcome>> outcomes = new ArrayList<>();
            for (String id : pending) {
                outcomes.add(workers.submit(() -> encodeOne(id, v)));
            }
            int progressed = 0;
            for (Future<Encodings.Outcome> f : outcomes) {
                try {
                    Encodings.Outcome o = f.get();
                    if (o == Encodings.Outcome.ENCODED || o == Encodings.Outcome.READY || o == Encodings.Outcome.GONE) {
                        progressed++;
                    }
                } catch (java.util.concurrent.ExecutionException e) {
                    LOG.debugf("background encoding failed: %s", e.getCause().getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            count(v, isDefault);
            if (progressed == 0) {
                break; // the rest is claimed elsewhere or failing: the next sweep looks again
            }
        }
    }

    private Encodings.Outcome encodeOne(String id, ModelVersionPort v) {
        running.incrementAndGet();
        try {
            return encodings.tryEncode(id, v, LANE);
        } finally {
            running.decrementAndGet();
        }
    }

    private void count(ModelVersionPort v, boolean isDefault) {
        long[] n = store.tx(c -> sets.encodedCount(c, v.ref().name(), isDefault, v.encoderId()));
        progress.put(v.ref(), new Progress(v.ref(), n[0], n[1], Instant.now()));
        gauges.computeIfAbsent(v.ref(), ref -> {
            Tags tags = Tags.of("model", ref.name(), "version", Long.toString(ref.version()));
            return List.of(
                    Gauge.builder("inctrl.encoding.pending", progress, p -> value(p, ref, true))
                            .description("prompt sets of the model not yet encoded by this version")
                            .tags(tags)
                            .register(registry),
                    Gauge.builder("inctrl.encoding.encoded", progress, p -> value(p, ref, false))
                            .description("prompt sets of the model encoded by this version")
                            .tags(tags)
                            .register(registry));
        });
    }

    private static double value(Map<ModelRef, Progress> p, ModelRef ref, boolean pending) {
        Progress x = p.get(ref);
        return x == null ? Double.NaN : pending ? x.pending() : x.encoded();
    }

    /** The latest count of a loaded version (recounted now), or null when it is not loaded. */
    public Progress progress(ModelRef ref) {
        ModelVersionPort v = models.version(ref).orElse(null);
        if (v == null) {
            return null;
        }
        count(v, ref.name().equals(models.defaultModel()));
        return progress.get(ref);
    }

    /** Background encodings running now on this replica. */
    public int running() {
        return running.get();
    }

    @PreDestroy
    void stop() {
        scheduler.shutdownNow();
        workers.shutdownNow();
    }
}
