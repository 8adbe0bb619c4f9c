package io.inctrl.serve.scoring;

import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ExecutorServiceMetrics;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * Threads for decoding and preprocessing, sized to the cores (decode is pure CPU: more threads than cores only
 * steal time from the device worker). The images of one request decode in parallel; no caller blocks on them.
 */
@ApplicationScoped
public class DecodePool {

    /** How long a client is told to wait when the decode queue is full: about one queue's worth of decodes. */
    private static final Duration RETRY_AFTER = Duration.ofMillis(200);

    @Inject
    InctrlConfig config;

    @Inject
    MeterRegistry registry;

    @Inject
    ImagePipeline images;

    private ThreadPoolExecutor executor;
    private int threads;

    @PostConstruct
    void start() {
        InctrlConfig.Decode cfg = config.decode();
        start(cfg.threads() > 0 ? cfg.threads() : Runtime.getRuntime().availableProcessors(), cfg.queueSize());
    }

    void start(int threads, int queueSize) {
        this.threads = threads;
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(
                threads, threads, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(queueSize), r -> {
                    Thread t = new Thread(r, "inctrl-decode-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        // bound, not wrapped: a wrapping executor would hide our tasks from pool.remove(...)
        new ExecutorServiceMetrics(pool, "inctrl.decode", List.of()).bindTo(registry);
        executor = pool;
    }

    @PreDestroy
    void stop() {
        executor.shutdownNow();
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code work} on a decode thread. Cancelling the returned future before the work starts skips it.
     *
     * @throws ServeException RESOURCE_EXHAUSTED with a retry hint when the decode queue is full
     */
    <T> CompletableFuture<T> submit(Supplier<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Runnable task = () -> {
            if (result.isDone()) {
                return; // cancelled while queued
            }
            try {
                result.complete(work.get());
            } catch (RuntimeException | Error e) {
                result.completeExceptionally(e);
            }
        };
        try {
            executor.execute(task);
            // a cancelled decode gives its queue slot back at once instead of when a thread reaches it
            result.whenComplete((v, t) -> {
                if (result.isCancelled()) {
                    executor.remove(task);
                }
            });
        } catch (RejectedExecutionException e) {
            throw new ServeException(
                    Reason.DECODE_QUEUE_FULL,
                    "the image decode queue is full; retry after " + RETRY_AFTER.toMillis() + " ms",
                    RETRY_AFTER,
                    e);
        }
        return result;
    }

    /**
     * Decodes every image in parallel and preprocesses it into the views of {@code mode} (one per tile in tiles mode)
     * for a model whose input is {@code input}. The result fails with the first failure in index order (errors name
     * images deterministically); cancelling it cancels the decodes not yet started.
     *
     * @param what names image i in error messages
     * @throws ServeException RESOURCE_EXHAUSTED when the decode queue is full (nothing stays queued then)
     */
    public CompletableFuture<List<ImagePipeline.Prepared>> prepareAll(
            List<byte[]> encoded,
            IntFunction<String> what,
            io.inctrl.serve.image.Inspection mode,
            io.inctrl.serve.image.PreprocessConfig input) {
        List<CompletableFuture<ImagePipeline.Prepared>> parts = new ArrayList<>(encoded.size());
        try {
            for (int i = 0; i < encoded.size(); i++) {
                byte[] bytes = encoded.get(i);
                String name = what.apply(i);
                parts.add(submit(() -> images.prepare(bytes, name, mode, input)));
            }
        } catch (ServeException e) {
            parts.forEach(f -> f.cancel(false));
            throw e;
        }
        CompletableFuture<List<ImagePipeline.Prepared>> all = CompletableFuture.allOf(
                        parts.toArray(CompletableFuture[]::new))
                .handle((v, t) -> parts.stream().map(CompletableFuture::join).toList());
        all.whenComplete((v, t) -> {
            if (all.isCancelled()) {
                parts.forEach(f -> f.cancel(false));
            }
        });
        return all;
    }
}
