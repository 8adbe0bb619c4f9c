package io.inctrl.serve.batching;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dynamic batcher: jobs from all tenants are queued per tenant, cut into batches round-robin and run by
 * one worker thread per {@link WorkerSpec}. {@link #submit} never blocks; every returned future completes
 * exactly once, with the output or with a {@link BatcherException} (or the processor's error when a
 * processor returns the wrong number of outputs).
 *
 * <p>Futures complete on worker threads in batch-completion order, not submission order; callers
 * correlate by their own ids and should move heavy follow-up work off the worker with the async variants.
 *
 * @param <I> one job's input
 * @param <O> one job's output
 */
public final class Batcher<I, O> implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Batcher.class);
    /** How long {@link #close()} lets queued and running work finish. */
    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);
    /** Deadlines further out than this are treated as none (keeps nanosecond arithmetic from overflowing). */
    private static final Duration MAX_DEADLINE = Duration.ofDays(1);
    /** How long shutdown waits for an interrupted worker before failing its batch itself. */
    private static final Duration INTERRUPT_GRACE = Duration.ofSeconds(1);

    private final BatchPolicy policy;
    private final BatchListener listener;
    private final BatchAggregator<I, O> aggregator;
    private final List<DeviceWorker<I, O>> workers;
    private final ScheduledThreadPoolExecutor deadlineTimer;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean closing = new AtomicBoolean();
    private final ForegroundActivity foreground;

    /** A batcher without metrics. */
    public Batcher(BatchPolicy policy, List<WorkerSpec<I, O>> workers) {
        this(policy, workers, BatchListener.noop());
    }

    /** Starts one worker thread per spec; each builds its processor on its own thread. */
    public Batcher(BatchPolicy policy, List<WorkerSpec<I, O>> workers, BatchListener listener) {
        this(policy, workers, listener, new ForegroundActivity());
    }

    /**
     * As above, with background lanes that also wait for the foreground work of the other batchers sharing
     * {@code foreground} (e.g. other model versions on the same cores).
     */
    public Batcher(
            BatchPolicy policy, List<WorkerSpec<I, O>> workers, BatchListener listener, ForegroundActivity foreground) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.foreground = Objects.requireNonNull(foreground, "foreground");
        Objects.requireNonNull(workers, "workers");
        if (workers.isEmpty()) {
            throw new IllegalArgumentException("at least one WorkerSpec is required");
        }
        this.listener = new SafeListener(listener);
        this.aggregator = new BatchAggregator<>(policy, this.listener, workers.size(), foreground);
        this.deadlineTimer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "batcher-deadlines");
            t.setDaemon(true);
            return t;
        });
        deadlineTimer.setRemoveOnCancelPolicy(true); // most timers are cancelled when their job is cut

        Map<String, Integer> seen = new HashMap<>();
        List<DeviceWorker<I, O>> built = new ArrayList<>(workers.size());
        for (WorkerSpec<I, O> spec : workers) {
            Objects.requireNonNull(spec, "workers must not contain null");
            int n = seen.merge(spec.device(), 1, Integer::sum);
            String threadName = "batcher-" + spec.device() + (n > 1 ? "-" + n : "");
            built.add(new DeviceWorker<>(spec, threadName, aggregator, this.listener));
        }
        this.workers = List.copyOf(built);
        this.workers.forEach(DeviceWorker::start);
    }

    /** Submits a job without a deadline. */
    public CompletableFuture<O> submit(String tenant, I input) {
        return submit(tenant, input, null);
    }

    /**
     * Queues one job; never blocks. The future fails with {@link QueueFullException} when a bound is hit,
     * {@link DeadlineExceededException} when {@code deadline} passes before the job reaches a processor,
     * {@link WorkerUnavailableException} when its batch failed (after one retry where another worker exists),
     * and {@link BatcherClosedException} after close. Cancelling the returned future removes a queued job.
     *
     * @param deadline when the answer is no longer useful; null for none
     */
    public CompletableFuture<O> submit(String tenant, I input, Instant deadline) {
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(input, "input");
        CompletableFuture<O> future = new CompletableFuture<>();
        if (!policy.isBackground(tenant)) {
            foreground.started();
            future.whenComplete((result, error) -> foreground.ended()); // every way a job ends completes its future
        }
        long now = System.nanoTime();
        Long deadlineNanos = null;
        long timeLeft = 0;
        if (deadline != null) {
            Duration left = Duration.between(Instant.now(), deadline);
            if (left.compareTo(MAX_DEADLINE) <= 0) {
                timeLeft = left.toNanos();
                deadlineNanos = now + timeLeft;
            }
        }
        Job<I, O> job = new Job<>(tenant, input, future, now, deadlineNanos, inFlight);
        inFlight.incrementAndGet(); // settle() takes it back, whichever way the job ends
        if (deadlineNanos != null && timeLeft <= 0) {
            listener.onExpired(tenant, Duration.ZERO);
            job.fail(new DeadlineExceededException(
                    "deadline " + deadline + " had passed at submit (tenant '" + tenant + "')"));
            return future;
        }
        int depth;
        try {
            depth = aggregator.offer(job);
        } catch (BatcherException refused) {
            if (refused instanceof QueueFullException full) {
                listener.onRejected(tenant, full);
            }
            job.fail(refused);
            return future;
        }
        listener.onQueued(tenant, depth);
        // the caller cancelled (or completed) the future: drop the job if it still waits
        future.whenComplete((result, error) -> {
            if (job.settle()) {
                aggregator.discard(job);
                listener.onCancelled(tenant);
            }
        });
        if (deadlineNanos != null) {
            try {
                job.expiryTimer = deadlineTimer.schedule(() -> aggregator.expire(job), timeLeft, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException closedMeanwhile) {
                // shutdown already failed or drained the job; the cut still checks the deadline
            }
        }
        return future;
    }

    /** Jobs waiting for a worker (queued, or parked for a retry). */
    public int queueDepth() {
        return aggregator.depth();
    }

    /** Jobs accepted and not yet completed: waiting plus running. Zero means drained. */
    public int inFlight() {
        return inFlight.get();
    }

    public BatchPolicy policy() {
        return policy;
    }

    /** True once {@link #close()} or {@link #shutdown} has begun; later submits fail. */
    public boolean isClosed() {
        return closing.get();
    }

    /** Graceful close: stops admission, drains for up to {@link #DEFAULT_DRAIN_TIMEOUT}, joins the workers. */
    @Override
    public void close() {
        shutdown(DEFAULT_DRAIN_TIMEOUT);
    }

    /**
     * Stops admission and lets the workers finish queued and running work for up to {@code drainTimeout}
     * (cutting partial batches at once). Whatever is left then fails with {@link BatcherClosedException}
     * and the workers are interrupted. {@code Duration.ZERO} fails queued work at once. Idempotent.
     *
     * @return true when the workers finished all work on their own within the timeout (never for ZERO)
     */
    public boolean shutdown(Duration drainTimeout) {
        Objects.requireNonNull(drainTimeout, "drainTimeout");
        if (!closing.compareAndSet(false, true)) {
            joinAll(System.nanoTime() + drainTimeout.toNanos());
            return inFlight.get() == 0;
        }
        aggregator.close();
        boolean drained = drainTimeout.isZero() ? false : joinAll(System.nanoTime() + drainTimeout.toNanos());
        if (!drained) {
            BatcherClosedException error = new BatcherClosedException("batcher closed before this job was processed");
            aggregator.abandon(error);
            workers.forEach(w -> w.thread().interrupt());
            joinAll(System.nanoTime() + INTERRUPT_GRACE.toNanos());
            for (DeviceWorker<I, O> worker : workers) {
                if (worker.thread().isAlive() && worker.thread() != Thread.currentThread()) {
                    LOG.warn("worker {} did not stop; failing its batch", worker.device());
                    worker.failBatchInHand(error);
                }
            }
        }
        // a worker that stopped early (closed while rebuilding) may leave jobs behind: account for them
        aggregator.abandon(new BatcherClosedException("batcher closed before this job was processed"));
        deadlineTimer.shutdownNow();
        return drained && inFlight.get() == 0;
    }

    /** Joins every worker except the calling thread (close() may run in a future callback on a worker). */
    private boolean joinAll(long deadlineNanos) {
        boolean all = true;
        for (DeviceWorker<I, O> worker : workers) {
            Thread t = worker.thread();
            if (t == Thread.currentThread()) {
                continue;
            }
            long left = deadlineNanos - System.nanoTime();
            try {
                if (left > 0) {
                    TimeUnit.NANOSECONDS.timedJoin(t, left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            all &= !t.isAlive();
        }
        return all;
    }
}
