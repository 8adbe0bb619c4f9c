package io.inctrl.serve.inference;

import io.inctrl.serve.batching.BatchListener;
import io.inctrl.serve.batching.BatchPolicy;
import io.inctrl.serve.batching.Batcher;
import io.inctrl.serve.batching.BatcherClosedException;
import io.inctrl.serve.batching.DeadlineExceededException;
import io.inctrl.serve.batching.ForegroundActivity;
import io.inctrl.serve.batching.QueueFullException;
import io.inctrl.serve.batching.WorkerSpec;
import io.inctrl.serve.batching.WorkerState;
import io.inctrl.serve.batching.WorkerUnavailableException;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlEngine;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The dynamic batcher of one loaded model version: one worker (lane) per engine replica, each device's batches mixing
 * requests of every stream and tenant. Model versions never share a batcher, so a batch never mixes weights or
 * precisions, and unloading a version drains exactly its own work.
 */
public final class ModelBatcher implements AutoCloseable {

    /** Lane of prompt sets encoded for a version that had not encoded them yet. */
    public static final String BACKGROUND_LANE = "background";
    /** Lane of shadow scoring (results compared, never returned). */
    public static final String SHADOW_LANE = "shadow";
    /** Served only while no other lane waits (see BatchPolicy#background). */
    public static final java.util.Set<String> BACKGROUND_LANES = java.util.Set.of(BACKGROUND_LANE, SHADOW_LANE);

    private final Batcher<ModelJob, ModelOutput> batcher;
    private final BatchMetrics metrics;
    private final ModelStatistics statistics = new ModelStatistics();
    private final MeterRegistry registry;
    private final List<Gauge> gauges = new ArrayList<>();

    /**
     * @param tags {@code model} and {@code version} tags of every meter this batcher registers
     * @param foreground request work of every version on this process's cores (background batches wait for it)
     */
    public ModelBatcher(
            BatchPolicy policy,
            List<InctrlEngine> engines,
            MeterRegistry registry,
            Tags tags,
            ForegroundActivity foreground) {
        this.registry = registry;
        this.metrics = new BatchMetrics(registry, tags);
        List<WorkerSpec<ModelJob, ModelOutput>> workers = new ArrayList<>();
        for (int i = 0; i < engines.size(); i++) {
            InctrlEngine engine = engines.get(i);
            // replicas on one device (e.g. "cpu,cpu") still get distinct names in logs and metrics
            String name = engine.device().getDeviceType() + engine.device().getDeviceId() + "-w" + i;
            workers.add(new WorkerSpec<>(name, () -> new EngineBatchProcessor(engine)));
        }
        batcher = new Batcher<>(policy, workers, new Both(metrics, statistics), foreground);
        gauges.add(Gauge.builder("inctrl.queue.depth", batcher, Batcher::queueDepth)
                .description("jobs waiting for a batch")
                .tags(tags)
                .register(registry));
        gauges.add(Gauge.builder("inctrl.inflight", batcher, Batcher::inFlight)
                .description("accepted jobs not yet completed")
                .tags(tags)
                .register(registry));
    }

    /** Queues one job; the future fails with a {@link ServeException} carrying the status to report. */
    public CompletableFuture<ModelOutput> submit(String lane, ModelJob job, Instant deadline) {
        return batcher.submit(lane == null ? "" : lane, job, deadline);
    }

    /** Encodes images (e.g. shots) through the batcher, as one encoding in input order. Blocking. */
    public EncodedImages encodeAll(String lane, List<float[]> pixels, Instant deadline) {
        List<CompletableFuture<ModelOutput>> futures = new ArrayList<>();
        for (float[] p : pixels) {
            futures.add(submit(lane, ModelJob.encode(p), deadline));
        }
        List<EncodedImages> parts = new ArrayList<>();
        for (CompletableFuture<ModelOutput> f : futures) {
            parts.add(await(f).encoded());
        }
        return EncodedImages.concat(parts);
    }

    /**
     * Scores already-encoded queries, each against its own prompts and prior, through the batcher (one job per
     * query, so they share batches with other work and obey the same limits). Blocking; results in input order.
     */
    public List<InctrlScores> scoreEncoded(
            String lane,
            ImageFeatures queries,
            List<PromptFeatures> prompts,
            List<TextPrior> priors,
            Instant deadline) {
        List<CompletableFuture<ModelOutput>> futures = new ArrayList<>(queries.count());
        for (int i = 0; i < queries.count(); i++) {
            futures.add(submit(lane, ModelJob.scoreEncoded(queries.slice(i), prompts.get(i), priors.get(i)), deadline));
        }
        List<InctrlScores> out = new ArrayList<>(futures.size());
        for (CompletableFuture<ModelOutput> f : futures) {
            out.add(await(f).scores());
        }
        return out;
    }

    /** The text prior of two sentence ensembles, as one job of {@code lane}. Blocking. */
    public TextPrior textPrior(String lane, List<String> normal, List<String> anomalous, Instant deadline) {
        return await(submit(lane, ModelJob.text(normal, anomalous), deadline)).prior();
    }

    public int queueDepth() {
        return batcher.queueDepth();
    }

    public int inFlight() {
        return batcher.inFlight();
    }

    public ModelStatistics.Snapshot statistics() {
        return statistics.snapshot();
    }

    /** Lets queued and running work finish (bounded by the batcher's drain timeout), then stops the workers. */
    @Override
    public void close() {
        batcher.close();
        gauges.forEach(registry::remove);
        metrics.remove();
    }

    /** Waits for a job, turning batcher failures into the statuses callers see. */
    public static ModelOutput await(CompletableFuture<ModelOutput> future) {
        try {
            return future.join();
        } catch (CompletionException e) {
            throw translate(e.getCause());
        } catch (java.util.concurrent.CancellationException e) {
            throw ServeException.cancelled();
        }
    }

    /** The batcher boundary: its exceptions become {@link ServeException}s; anything else passes unchanged. */
    public static RuntimeException translate(Throwable t) {
        if (t instanceof QueueFullException q) {
            return new ServeException(
                    Reason.QUEUE_FULL,
                    "server queue is full; retry after " + q.retryAfter().toMillis() + " ms",
                    q.retryAfter(),
                    q);
        }
        if (t instanceof DeadlineExceededException d) {
            return new ServeException(Reason.DEADLINE_EXCEEDED, "deadline passed while waiting for a device", d);
        }
        if (t instanceof WorkerUnavailableException w) {
            return new ServeException(Reason.NO_DEVICE, "no device could run the batch: " + w.getMessage(), w);
        }
        if (t instanceof BatcherClosedException c) {
            // a version being unloaded (or the server stopping): another replica or version can take the request
            return new ServeException(
                    Reason.MODEL_UNLOADING,
                    "the model version is unloading or the server is shutting down; retry",
                    Duration.ZERO,
                    c);
        }
        if (t instanceof java.util.concurrent.CancellationException) {
            return ServeException.cancelled();
        }
        if (t instanceof RuntimeException r) {
            return r;
        }
        return new ServeException(Reason.INTERNAL, String.valueOf(t), t);
    }

    /** Metrics and statistics both hear every event. */
    private record Both(BatchListener a, BatchListener b) implements BatchListener {
        @Override
        public void onQueued(String tenant, int queueDepth) {
            a.onQueued(tenant, queueDepth);
            b.onQueued(tenant, queueDepth);
        }

        @Override
        public void onDequeued(String tenant, Duration queueTime) {
            a.onDequeued(tenant, queueTime);
            b.onDequeued(tenant, queueTime);
        }

        @Override
        public void onBatchCompleted(String device, int batchSize, Duration busyTime) {
            a.onBatchCompleted(device, batchSize, busyTime);
            b.onBatchCompleted(device, batchSize, busyTime);
        }

        @Override
        public void onBatchFailed(String device, int batchSize, Duration busyTime, Throwable cause) {
            a.onBatchFailed(device, batchSize, busyTime, cause);
            b.onBatchFailed(device, batchSize, busyTime, cause);
        }

        @Override
        public void onRejected(String tenant, QueueFullException rejection) {
            a.onRejected(tenant, rejection);
            b.onRejected(tenant, rejection);
        }

        @Override
        public void onExpired(String tenant, Duration queueTime) {
            a.onExpired(tenant, queueTime);
            b.onExpired(tenant, queueTime);
        }

        @Override
        public void onCancelled(String tenant) {
            a.onCancelled(tenant);
            b.onCancelled(tenant);
        }

        @Override
        public void onWorkerStateChanged(String device, WorkerState from, WorkerState to) {
            a.onWorkerStateChanged(device, from, to);
            b.onWorkerStateChanged(device, from, to);
        }
    }
}
