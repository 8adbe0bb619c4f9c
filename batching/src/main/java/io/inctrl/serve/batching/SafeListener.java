package io.inctrl.serve.batching;

import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Shields the batcher from a throwing listener: a metrics bug must not lose a job. */
final class SafeListener implements BatchListener {

    private static final Logger LOG = LoggerFactory.getLogger(SafeListener.class);

    private final BatchListener delegate;

    SafeListener(BatchListener delegate) {
        this.delegate = Objects.requireNonNull(delegate, "listener (use BatchListener.noop())");
    }

    private void guard(String hook, Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            LOG.warn("BatchListener.{} threw; ignored", hook, e);
        }
    }

    @Override
    public void onQueued(String tenant, int queueDepth) {
        guard("onQueued", () -> delegate.onQueued(tenant, queueDepth));
    }

    @Override
    public void onDequeued(String tenant, Duration queueTime) {
        guard("onDequeued", () -> delegate.onDequeued(tenant, queueTime));
    }

    @Override
    public void onBatchCompleted(String device, int batchSize, Duration busyTime) {
        guard("onBatchCompleted", () -> delegate.onBatchCompleted(device, batchSize, busyTime));
    }

    @Override
    public void onBatchFailed(String device, int batchSize, Duration busyTime, Throwable cause) {
        guard("onBatchFailed", () -> delegate.onBatchFailed(device, batchSize, busyTime, cause));
    }

    @Override
    public void onRejected(String tenant, QueueFullException rejection) {
        guard("onRejected", () -> delegate.onRejected(tenant, rejection));
    }

    @Override
    public void onExpired(String tenant, Duration queueTime) {
        guard("onExpired", () -> delegate.onExpired(tenant, queueTime));
    }

    @Override
    public void onCancelled(String tenant) {
        guard("onCancelled", () -> delegate.onCancelled(tenant));
    }

    @Override
    public void onWorkerStateChanged(String device, WorkerState from, WorkerState to) {
        guard("onWorkerStateChanged", () -> delegate.onWorkerStateChanged(device, from, to));
    }
}
