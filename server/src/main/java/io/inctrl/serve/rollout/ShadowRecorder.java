package io.inctrl.serve.rollout;

import io.inctrl.serve.models.ModelRef;
import io.inctrl.serve.registry.Store;
import io.inctrl.serve.scoring.ShadowSink;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Stores shadow scores for the comparison report: samples are queued in memory (dropped, and counted, when the queue
 * is full or the store is away) and written in batches once a second; each set keeps its newest
 * {@value #KEEP_PER_PAIR} samples per version pair.
 */
@ApplicationScoped
public class ShadowRecorder implements ShadowSink {

    private static final Logger LOG = Logger.getLogger(ShadowRecorder.class);
    static final int KEEP_PER_PAIR = 1000;

    @Inject
    Store store;

    @Inject
    MeterRegistry registry;

    private final RolloutRepository repo = new RolloutRepository();
    private final BlockingQueue<RolloutRepository.ShadowRow> pending = new ArrayBlockingQueue<>(10_000);
    private ScheduledExecutorService flusher;
    private Counter recorded;
    private Counter dropped;

    @PostConstruct
    void start() {
        recorded = Counter.builder("inctrl.shadow.samples")
                .description("shadow scores recorded for comparison reports")
                .register(registry);
        dropped = Counter.builder("inctrl.shadow.samples.dropped")
                .description("shadow scores dropped (queue full or store unavailable)")
                .register(registry);
        flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "inctrl-shadow-writer");
            t.setDaemon(true);
            return t;
        });
        flusher.scheduleWithFixedDelay(this::flush, 1, 1, TimeUnit.SECONDS);
    }

    @Override
    public void record(
            String tenant,
            String promptSetId,
            ModelRef baseline,
            float baselineScore,
            ModelRef candidate,
            float candidateScore) {
        boolean queued = pending.offer(new RolloutRepository.ShadowRow(
                promptSetId,
                baseline.name(),
                baseline.version(),
                candidate.version(),
                baselineScore,
                candidateScore,
                Instant.now()));
        if (!queued) {
            dropped.increment();
        }
    }

    /** Writes what is queued; public for tests that read reports right after scoring. */
    public void flush() {
        List<RolloutRepository.ShadowRow> batch = new ArrayList<>();
        pending.drainTo(batch, 1000);
        if (batch.isEmpty()) {
            return;
        }
        try {
            store.tx(c -> {
                repo.insertShadow(c, batch);
                Set<List<Object>> pairs = new LinkedHashSet<>();
                batch.forEach(r -> pairs.add(List.of(r.setId(), r.model(), r.baseline(), r.candidate())));
                for (List<Object> p : pairs) {
                    repo.trimShadow(
                            c, (String) p.get(0), (String) p.get(1), (Long) p.get(2), (Long) p.get(3), KEEP_PER_PAIR);
                }
                return null;
            });
            recorded.increment(batch.size());
        } catch (RuntimeException e) {
            dropped.increment(batch.size());
            LOG.debugf("%d shadow samples dropped: %s", batch.size(), e.getMessage());
        }
    }

    @PreDestroy
    void stop() {
        flusher.shutdownNow();
    }
}
