package io.inctrl.serve.inference;

import io.inctrl.serve.batching.BatchPolicy;
import io.inctrl.serve.batching.Batcher;
import io.inctrl.serve.batching.BatcherClosedException;
import io.inctrl.serve.batching.DeadlineExceededException;
import io.inctrl.serve.batching.QueueFullException;
import io.inctrl.serve.batching.WorkerSpec;
import io.inctrl.serve.batching.WorkerUnavailableException;
import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlEngine;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.ModelService;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The dynamic batcher in front of the device workers: one worker per engine replica, one encoder batch mixing
 * requests of every stream and tenant.
 */
@Startup
@ApplicationScoped
public class InferenceService {

    @Inject
    InctrlConfig config;

    @Inject
    ModelService model;

    @Inject
    MeterRegistry registry;

    private Batcher<ModelJob, ModelOutput> batcher;

    @PostConstruct
    void start() {
        InctrlConfig.Batching b = config.batching();
        BatchPolicy policy = new BatchPolicy(
                b.maxBatchSize(),
                b.maxQueueDelay(),
                b.preferredBatchSizes().orElse(List.of()),
                b.maxQueueSize(),
                b.maxQueuedPerTenant());
        List<WorkerSpec<ModelJob, ModelOutput>> workers = new ArrayList<>();
        List<InctrlEngine> engines = model.replicas();
        for (int i = 0; i < engines.size(); i++) {
            InctrlEngine engine = engines.get(i);
            // replicas on one device (e.g. "cpu,cpu") still get distinct names in logs and metrics
            String name = engine.device().getDeviceType() + engine.device().getDeviceId() + "-w" + i;
            workers.add(new WorkerSpec<>(name, () -> new EngineBatchProcessor(engine)));
        }
        batcher = new Batcher<>(policy, workers, new BatchMetrics(registry));
        Gauge.builder("inctrl.queue.depth", batcher, Batcher::queueDepth)
                .description("jobs waiting for a batch")
                .register(registry);
        Gauge.builder("inctrl.inflight", batcher, Batcher::inFlight)
                .description("accepted jobs not yet completed")
                .register(registry);
    }

    /** Queues one job; the future fails with a {@link ServeException} carrying the status to report. */
    public CompletableFuture<ModelOutput> submit(String tenant, ModelJob job, Instant deadline) {
        return batcher.submit(tenant == null ? "" : tenant, job, deadline);
    }

    /** Encodes images (e.g. shots) through the batcher, as one encoding in input order. Blocking. */
    public EncodedImages encodeAll(String tenant, List<float[]> pixels, Instant deadline) {
        List<CompletableFuture<ModelOutput>> futures = new ArrayList<>();
        for (float[] p : pixels) {
            futures.add(submit(tenant, ModelJob.encode(p), deadline));
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
            String tenant,
            ImageFeatures queries,
            List<PromptFeatures> prompts,
            List<TextPrior> priors,
            Instant deadline) {
        List<CompletableFuture<ModelOutput>> futures = new ArrayList<>(queries.count());
        for (int i = 0; i < queries.count(); i++) {
            futures.add(
                    submit(tenant, ModelJob.scoreEncoded(queries.slice(i), prompts.get(i), priors.get(i)), deadline));
        }
        List<InctrlScores> out = new ArrayList<>(futures.size());
        for (CompletableFuture<ModelOutput> f : futures) {
            out.add(await(f).scores());
        }
        return out;
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
            return new ServeException(Reason.SHUTTING_DOWN, "server is shutting down", c);
        }
        if (t instanceof java.util.concurrent.CancellationException) {
            return ServeException.cancelled();
        }
        if (t instanceof RuntimeException r) {
            return r;
        }
        return new ServeException(Reason.INTERNAL, String.valueOf(t), t);
    }

    public int queueDepth() {
        return batcher.queueDepth();
    }

    @PreDestroy
    void stop() {
        batcher.close();
    }
}
