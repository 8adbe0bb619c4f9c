package io.inctrl.serve.inference;

import io.inctrl.serve.batching.BatchListener;
import io.inctrl.serve.batching.QueueFullException;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Cumulative counts and times of one loaded model version since it loaded, in the shape of the Open Inference
 * Protocol's statistics extension (Triton's {@code ModelStatistics}): jobs that succeeded or failed, queue and compute
 * time, and per batch size how many batches ran and how long they took.
 */
public final class ModelStatistics implements BatchListener {

    /** Batches of one size: how many ran and their summed compute time. */
    public record BatchSizeStat(int batchSize, long count, long computeNanos) {}

    /**
     * @param inferenceCount jobs computed (a request of one image is one job; tiles and inline shots are more)
     * @param executionCount device batches run
     * @param lastInferenceMillis epoch milliseconds of the last completed batch, 0 before the first
     */
    public record Snapshot(
            long successCount,
            long failureCount,
            long queueCount,
            long queueNanos,
            long computeNanos,
            long inferenceCount,
            long executionCount,
            long lastInferenceMillis,
            java.util.List<BatchSizeStat> batchSizes) {}

    private static final class PerSize {
        final LongAdder count = new LongAdder();
        final LongAdder nanos = new LongAdder();
    }

    private final LongAdder success = new LongAdder();
    private final LongAdder failure = new LongAdder();
    private final LongAdder queueCount = new LongAdder();
    private final LongAdder queueNanos = new LongAdder();
    private final LongAdder computeNanos = new LongAdder();
    private final LongAdder executions = new LongAdder();
    private final AtomicLong lastInference = new AtomicLong();
    private final Map<Integer, PerSize> bySize = new ConcurrentHashMap<>();

    @Override
    public void onDequeued(String tenant, Duration queueTime) {
        queueCount.increment();
        queueNanos.add(queueTime.toNanos());
    }

    @Override
    public void onBatchCompleted(String device, int batchSize, Duration busyTime) {
        success.add(batchSize);
        executions.increment();
        computeNanos.add(busyTime.toNanos());
        PerSize s = bySize.computeIfAbsent(batchSize, k -> new PerSize());
        s.count.increment();
        s.nanos.add(busyTime.toNanos());
        lastInference.set(System.currentTimeMillis());
    }

    @Override
    public void onBatchFailed(String device, int batchSize, Duration busyTime, Throwable cause) {
        failure.add(batchSize);
        executions.increment();
        computeNanos.add(busyTime.toNanos());
    }

    @Override
    public void onRejected(String tenant, QueueFullException rejection) {
        failure.increment();
    }

    @Override
    public void onExpired(String tenant, Duration queueTime) {
        failure.increment();
    }

    public Snapshot snapshot() {
        Map<Integer, BatchSizeStat> sizes = new TreeMap<>();
        bySize.forEach((size, s) -> sizes.put(size, new BatchSizeStat(size, s.count.sum(), s.nanos.sum())));
        return new Snapshot(
                success.sum(),
                failure.sum(),
                queueCount.sum(),
                queueNanos.sum(),
                computeNanos.sum(),
                success.sum(),
                executions.sum(),
                lastInference.get(),
                java.util.List.copyOf(sizes.values()));
    }
}
