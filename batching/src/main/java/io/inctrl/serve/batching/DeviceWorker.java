package io.inctrl.serve.batching;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread on one device: builds its processor, takes batches from the aggregator, runs them, and
 * rebuilds the processor after a failure. Every job it takes is completed, failed or handed back for
 * retry on every exit path.
 */
final class DeviceWorker<I, O> implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(DeviceWorker.class);
    private static final long MIN_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final WorkerSpec<I, O> spec;
    private final BatchAggregator<I, O> aggregator;
    private final BatchListener listener;
    private final Thread thread;

    private BatchProcessor<I, O> processor;
    private WorkerState state = WorkerState.STARTING;
    /** The batch taken but not yet accounted for to the aggregator; read by {@link #failBatchInHand} when shutdown gives up on this thread. */
    private volatile Batch<I, O> inHand;

    DeviceWorker(WorkerSpec<I, O> spec, String threadName, BatchAggregator<I, O> aggregator, BatchListener listener) {
        this.spec = spec;
        this.aggregator = aggregator;
        this.listener = listener;
        this.thread = new Thread(this, threadName);
        thread.setDaemon(true); // a batcher someone forgot to close must not keep the JVM alive
    }

    String device() {
        return spec.device();
    }

    Thread thread() {
        return thread;
    }

    void start() {
        thread.start();
    }

    @Override
    public void run() {
        try {
            while (processor != null || buildProcessor()) {
                Batch<I, O> batch = aggregator.nextBatch(this);
                if (batch == null) {
                    break; // closed and drained, or abandoned
                }
                inHand = batch;
                execute(batch);
                inHand = null;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // shutdown gave up waiting for us
        } catch (Throwable t) {
            LOG.error("worker {} died", spec.device(), t);
        } finally {
            Batch<I, O> batch = inHand;
            inHand = null;
            aggregator.workerExited(batch != null);
            if (batch != null) {
                batch.failAll(
                        aggregator.isAbandoned()
                                ? new BatcherClosedException("batcher closed while the batch was running")
                                : new WorkerUnavailableException(
                                        "worker " + spec.device() + " stopped while running the batch", null));
            }
            closeProcessor();
            setState(WorkerState.STOPPED);
        }
    }

    /** Builds the processor, backing off while the factory fails; false when closed meanwhile. */
    private boolean buildProcessor() throws InterruptedException {
        long backoff = MIN_BACKOFF_NANOS;
        while (true) {
            try {
                BatchProcessor<I, O> built = spec.processorFactory().get();
                if (built == null) {
                    throw new IllegalStateException("processor factory returned null");
                }
                processor = built;
                setState(WorkerState.READY);
                return true;
            } catch (RuntimeException | LinkageError e) {
                LOG.warn(
                        "worker {}: building the processor failed; retrying in {} ms",
                        spec.device(),
                        TimeUnit.NANOSECONDS.toMillis(backoff),
                        e);
            }
            if (aggregator.awaitClose(backoff)) {
                return false; // closing: other workers (or shutdown) account for the queued jobs
            }
            backoff = Math.min(backoff * 2, MAX_BACKOFF_NANOS);
        }
    }

    private void execute(Batch<I, O> batch) {
        List<Job<I, O>> jobs = batch.jobs;
        if (batch.attempt == 0) {
            for (Job<I, O> job : jobs) {
                job.cancelExpiryTimer();
                listener.onDequeued(job.tenant, Duration.ofNanos(job.dequeuedNanos - job.enqueuedNanos));
            }
        }
        jobs.removeIf(Job::isSettled); // cancelled after the cut: never computed
        if (jobs.isEmpty()) {
            aggregator.batchSkipped();
            inHand = null;
            return;
        }
        List<I> inputs = new ArrayList<>(jobs.size());
        for (Job<I, O> job : jobs) {
            inputs.add(job.input);
        }
        long start = System.nanoTime();
        List<O> outputs = null;
        Throwable failure = null;
        try {
            outputs = processor.process(List.copyOf(inputs));
        } catch (VirtualMachineError e) {
            throw e; // run()'s finally fails the batch in hand
        } catch (Throwable t) {
            failure = t;
        }
        long busy = System.nanoTime() - start;
        Duration busyTime = Duration.ofNanos(busy);

        if (failure == null && (outputs == null || outputs.size() != jobs.size())) {
            // a processor bug, not a device fault: retrying elsewhere would fail the same way
            IllegalStateException mismatch = new IllegalStateException("processor on " + spec.device() + " returned "
                    + (outputs == null ? "null" : outputs.size() + " outputs") + " for a batch of " + jobs.size());
            aggregator.batchFailed(this, batch, mismatch, false);
            inHand = null;
            listener.onBatchFailed(spec.device(), jobs.size(), busyTime, mismatch);
            batch.failAll(mismatch);
            return;
        }
        if (failure == null) {
            aggregator.batchSucceeded(jobs.size(), busy);
            inHand = null;
            listener.onBatchCompleted(spec.device(), jobs.size(), busyTime);
            for (int i = 0; i < jobs.size(); i++) {
                jobs.get(i).complete(outputs.get(i));
            }
            return;
        }

        listener.onBatchFailed(spec.device(), jobs.size(), busyTime, failure);
        if (failure instanceof InterruptedException || aggregator.isAbandoned()) {
            aggregator.batchFailed(this, batch, failure, false);
            inHand = null;
            batch.failAll(new BatcherClosedException("batcher closed while the batch was running", failure));
            Thread.currentThread().interrupt();
            return;
        }
        int size = jobs.size();
        boolean parked = aggregator.batchFailed(this, batch, failure, true);
        inHand = null; // accounted for: parked for retry (owned by the aggregator) or failed below
        if (parked) {
            LOG.warn("worker {}: batch of {} failed; retrying it on another worker", spec.device(), size, failure);
        } else {
            LOG.warn(
                    "worker {}: batch of {} failed{}",
                    spec.device(),
                    size,
                    batch.attempt > 0 ? " on its retry" : "",
                    failure);
            batch.failAll(new WorkerUnavailableException(
                    "batch of " + size + " failed on " + spec.device() + (batch.attempt > 0 ? " (after a retry)" : ""),
                    failure));
        }
        // the processor may be in a bad state (device reset, OOM): drop it and build a fresh one
        setState(WorkerState.RECOVERING);
        closeProcessor();
    }

    /** Shutdown gave up joining this thread: fail whatever it holds (completion is idempotent). */
    void failBatchInHand(BatcherClosedException error) {
        Batch<I, O> batch = inHand;
        if (batch != null) {
            batch.failAll(error);
        }
    }

    private void closeProcessor() {
        BatchProcessor<I, O> p = processor;
        processor = null;
        if (p != null) {
            try {
                p.close();
            } catch (Exception e) {
                LOG.warn("worker {}: closing the processor failed", spec.device(), e);
            }
        }
    }

    private void setState(WorkerState next) {
        WorkerState previous = state;
        if (previous == next) {
            return;
        }
        state = next;
        LOG.debug("worker {}: {} -> {}", spec.device(), previous, next);
        listener.onWorkerStateChanged(spec.device(), previous, next);
    }
}
