package io.inctrl.serve.inference;

import io.inctrl.serve.batching.BatchListener;
import io.inctrl.serve.batching.QueueFullException;
import io.inctrl.serve.batching.WorkerState;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import org.jboss.logging.Logger;

/**
 * Batcher events of one model version as Prometheus metrics (queue wait, batch sizes, per-device busy time,
 * rejections), tagged {@code model} and {@code version}.
 */
final class BatchMetrics implements BatchListener {

    private static final Logger LOG = Logger.getLogger(BatchMetrics.class);

    private final MeterRegistry registry;
    private final Tags tags;
    private final DistributionSummary batchSize;
    private final Timer queueWait;

    BatchMetrics(MeterRegistry registry, Tags tags) {
        this.registry = registry;
        this.tags = tags;
        this.batchSize = DistributionSummary.builder("inctrl.batch.size")
                .description("images per device batch")
                .tags(tags)
                .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64)
                .register(registry);
        this.queueWait = Timer.builder("inctrl.queue.wait")
                .description("time a job waited for its batch")
                .tags(tags)
                .publishPercentileHistogram()
                .register(registry);
    }

    /** Removes this version's meters (an unloaded version must not keep exporting stale series). */
    void remove() {
        registry.getMeters().stream()
                .filter(m -> m.getId().getName().startsWith("inctrl.")
                        && tags.stream()
                                .allMatch(t -> t.getValue().equals(m.getId().getTag(t.getKey()))))
                .toList()
                .forEach(registry::remove);
    }

    @Override
    public void onDequeued(String tenant, Duration queueTime) {
        queueWait.record(queueTime);
    }

    @Override
    public void onBatchCompleted(String device, int size, Duration busyTime) {
        batchSize.record(size);
        busyCounter(device).increment(busyTime.toNanos() / 1e9);
    }

    @Override
    public void onBatchFailed(String device, int size, Duration busyTime, Throwable cause) {
        busyCounter(device).increment(busyTime.toNanos() / 1e9);
        Counter.builder("inctrl.batch.failures")
                .tags(tags)
                .tag("device", device)
                .register(registry)
                .increment();
        LOG.warnf(cause, "batch of %d failed on %s", size, device);
    }

    @Override
    public void onRejected(String tenant, QueueFullException rejection) {
        Counter.builder("inctrl.queue.rejected")
                .tags(tags)
                .tag("tenant", tenant)
                .register(registry)
                .increment();
    }

    @Override
    public void onExpired(String tenant, Duration queueTime) {
        Counter.builder("inctrl.queue.expired")
                .tags(tags)
                .tag("tenant", tenant)
                .register(registry)
                .increment();
    }

    @Override
    public void onCancelled(String tenant) {
        Counter.builder("inctrl.queue.cancelled")
                .tags(tags)
                .tag("tenant", tenant)
                .register(registry)
                .increment();
    }

    @Override
    public void onWorkerStateChanged(String device, WorkerState from, WorkerState to) {
        LOG.infof("worker %s %s: %s -> %s", tags, device, from, to);
    }

    private Counter busyCounter(String device) {
        return Counter.builder("inctrl.device.busy.seconds")
                .tags(tags)
                .tag("device", device)
                .description("seconds the device spent running batches")
                .register(registry);
    }
}
