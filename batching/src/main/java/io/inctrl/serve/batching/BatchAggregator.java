package io.inctrl.serve.batching;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The shared queue: per-tenant FIFO queues served round-robin, admission bounds, batches parked for their
 * retry, and {@link #nextBatch} which cuts batches. One lock guards it all; futures are completed and
 * listeners called only after the lock is released, so caller callbacks never run under it.
 */
final class BatchAggregator<I, O> {

    /**
     * One tenant's FIFO; present in {@link #ring} (or, for a background lane not yet starving, in
     * {@link #backgroundRing}) exactly while it holds jobs.
     */
    static final class TenantQueue<I, O> {
        final String tenant;
        final ArrayDeque<Job<I, O>> jobs = new ArrayDeque<>();
        /** In {@link #backgroundRing}: served only when no foreground lane has work. */
        boolean background;

        TenantQueue(String tenant) {
            this.tenant = tenant;
        }
    }

    private static final long MIN_RETRY_AFTER_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long MAX_RETRY_AFTER_NANOS = TimeUnit.SECONDS.toNanos(60);
    /** Weight of the newest batch in the per-job service time average. */
    private static final double EWMA_ALPHA = 0.2;

    private final BatchPolicy policy;
    private final BatchListener listener;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled on every change a waiting worker may care about: new job, retry parked, batch done, close. */
    private final Condition changed = lock.newCondition();

    private final Map<String, TenantQueue<I, O>> byTenant = new HashMap<>();
    /** Tenants with queued jobs in round-robin order; the head gives the next job. */
    private final ArrayDeque<TenantQueue<I, O>> ring = new ArrayDeque<>();
    /** Background lanes with queued jobs, served when {@link #ring} is empty. */
    private final ArrayDeque<TenantQueue<I, O>> backgroundRing = new ArrayDeque<>();
    /** Jobs in {@link #backgroundRing}. */
    private int backgroundQueued;

    private final ArrayDeque<Batch<I, O>> retries = new ArrayDeque<>();
    private int queued;
    /** Request work of every batcher sharing the cores: background batches start only while there is none. */
    private final ForegroundActivity activity;

    private int runningBatches;
    private int liveWorkers;
    private boolean closed;
    private boolean abandoned;
    /** Average processor time per job on one worker; 0 until the first batch succeeds. */
    private double nanosPerJob;

    private static final long BACKGROUND_POLL_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(2);

    BatchAggregator(BatchPolicy policy, BatchListener listener, int workers, ForegroundActivity activity) {
        this.policy = policy;
        this.activity = activity;
        this.listener = listener;
        this.liveWorkers = workers;
    }

    /**
     * Queues the job, or throws the reason it may not wait: closed, no worker left, or a bound reached.
     *
     * @return the queue depth after adding it
     */
    int offer(Job<I, O> job) {
        lock.lock();
        try {
            if (closed) {
                throw new BatcherClosedException("batcher is closed; job not accepted");
            }
            if (liveWorkers == 0) {
                throw new WorkerUnavailableException("no worker is left to run this job", null);
            }
            if (queued >= policy.maxQueueSize()) {
                throw new QueueFullException(
                        "queue full: " + queued + " jobs queued (maxQueueSize " + policy.maxQueueSize() + ")",
                        retryAfter(queued));
            }
            TenantQueue<I, O> tq = byTenant.get(job.tenant);
            int tenantDepth = tq == null ? 0 : tq.jobs.size();
            if (tenantDepth >= policy.maxQueuedPerTenant()) {
                // round-robin serves this tenant once per active tenant, so its wait scales with both
                int ahead = (int) Math.min(queued, (long) tenantDepth * Math.max(1, ring.size()));
                throw new QueueFullException(
                        "tenant '" + job.tenant + "' has " + tenantDepth + " jobs queued (maxQueuedPerTenant "
                                + policy.maxQueuedPerTenant() + ")",
                        retryAfter(ahead));
            }
            if (tq == null) {
                tq = new TenantQueue<>(job.tenant);
                tq.background = policy.isBackground(job.tenant);
                byTenant.put(job.tenant, tq);
                (tq.background ? backgroundRing : ring).addLast(tq);
            }
            tq.jobs.addLast(job);
            job.queue = tq;
            queued++;
            if (tq.background) {
                backgroundQueued++;
            }
            changed.signalAll();
            return queued;
        } finally {
            lock.unlock();
        }
    }

    /** Removes a job its caller cancelled; a job already in a batch is skipped by the worker instead. */
    void discard(Job<I, O> job) {
        lock.lock();
        try {
            if (job.state == Job.State.QUEUED) {
                removeQueued(job);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Deadline timer: drops the job if it is still queued, so it is never computed. */
    void expire(Job<I, O> job) {
        boolean removed;
        lock.lock();
        try {
            removed = job.state == Job.State.QUEUED;
            if (removed) {
                removeQueued(job);
            }
        } finally {
            lock.unlock();
        }
        if (removed) {
            failExpired(List.of(job), System.nanoTime());
        }
    }

    /**
     * Blocks until there is a batch for {@code worker}; returns null once the batcher is closed and drained.
     * The one place batches are cut:
     * <ol>
     * <li>a batch parked for retry by another worker goes first, as it is;</li>
     * <li>up to maxBatchSize queued jobs are available: a full batch is sent at once;</li>
     * <li>otherwise, while the oldest job has waited less than maxQueueDelay, the largest preferred size
     * not above what is available is sent at once, and with no such size the worker waits for more;</li>
     * <li>once the oldest job has waited maxQueueDelay (or the batcher is draining), all available jobs go.</li>
     * </ol>
     * Jobs are taken round-robin across tenants, so a flooding tenant cannot starve another.
     */
    Batch<I, O> nextBatch(DeviceWorker<I, O> worker) throws InterruptedException {
        List<Job<I, O>> expired = new ArrayList<>();
        List<Batch<I, O>> unretryable = new ArrayList<>();
        long now = 0;
        lock.lock();
        try {
            while (true) {
                if (abandoned) {
                    return null;
                }
                now = System.nanoTime();
                Batch<I, O> retry = takeRetry(worker, now, expired, unretryable);
                if (retry != null) {
                    runningBatches++;
                    return retry;
                }
                promoteStarvedBackground(now);
                int foreground = queued - backgroundQueued;
                if (foreground == 0 && backgroundQueued > 0 && activity.inFlight() > 0) {
                    // requests of another batcher on these cores (or this one's running batches): look again soon;
                    // polled, because signalling across batchers would take their locks from inside this one
                    long age = now - backgroundRing.peekFirst().jobs.peekFirst().enqueuedNanos;
                    changed.awaitNanos(Math.max(
                            1,
                            Math.min(
                                    BACKGROUND_POLL_NANOS,
                                    policy.backgroundMaxWait().toNanos() - age)));
                    continue;
                }
                if (foreground == 0 && backgroundQueued > 0) {
                    // idle device: background work, in small batches so a request arriving meanwhile waits little
                    List<Job<I, O>> jobs = cut(backgroundRing, policy.backgroundBatchSize(), now, expired);
                    if (jobs.isEmpty()) {
                        continue;
                    }
                    runningBatches++;
                    changed.signalAll();
                    return new Batch<>(jobs);
                }
                int available = Math.min(foreground, policy.maxBatchSize());
                if (available == 0) {
                    if (closed && retries.isEmpty() && runningBatches == 0) {
                        return null; // drained: nothing queued, nothing that could still be parked for retry
                    }
                    if (backgroundRing.isEmpty()) {
                        changed.await();
                    } else {
                        // wake up when the oldest background job starts to starve
                        long age = now - backgroundRing.peekFirst().jobs.peekFirst().enqueuedNanos;
                        changed.awaitNanos(
                                Math.max(1, policy.backgroundMaxWait().toNanos() - age));
                    }
                    continue;
                }
                long waited = now - oldestEnqueuedNanos();
                long delay = policy.maxQueueDelay().toNanos();
                int size;
                if (available == policy.maxBatchSize() || closed || waited >= delay) {
                    size = available;
                } else {
                    size = policy.largestPreferredAtMost(available);
                }
                if (size > 0) {
                    List<Job<I, O>> jobs = cut(ring, size, now, expired);
                    if (jobs.isEmpty()) {
                        continue; // everything taken had expired or was cancelled
                    }
                    runningBatches++;
                    changed.signalAll(); // jobs may remain for another idle worker
                    return new Batch<>(jobs);
                }
                changed.awaitNanos(delay - waited);
            }
        } finally {
            lock.unlock();
            failExpired(expired, now);
            for (Batch<I, O> batch : unretryable) {
                batch.failAll(new WorkerUnavailableException(
                        "batch failed and no other worker is left to retry it", batch.failure));
            }
        }
    }

    /**
     * A background lane whose oldest job waited {@code backgroundMaxWait} joins the tenants' ring until it is
     * empty: under sustained load background work still gets a fair lane's share instead of none.
     */
    private void promoteStarvedBackground(long now) {
        long limit = policy.backgroundMaxWait().toNanos();
        for (java.util.Iterator<TenantQueue<I, O>> it = backgroundRing.iterator(); it.hasNext(); ) {
            TenantQueue<I, O> tq = it.next();
            if (now - tq.jobs.peekFirst().enqueuedNanos >= limit) {
                it.remove();
                tq.background = false;
                backgroundQueued -= tq.jobs.size();
                ring.addLast(tq);
            }
        }
    }

    /** Takes up to {@code size} jobs round-robin across the tenants of {@code from}, setting expired ones aside. */
    private List<Job<I, O>> cut(ArrayDeque<TenantQueue<I, O>> from, int size, long now, List<Job<I, O>> expired) {
        List<Job<I, O>> taken = new ArrayList<>(size);
        while (taken.size() < size && !from.isEmpty()) {
            TenantQueue<I, O> tq = from.pollFirst();
            Job<I, O> job = tq.jobs.pollFirst();
            queued--;
            if (tq.background) {
                backgroundQueued--;
            }
            if (tq.jobs.isEmpty()) {
                byTenant.remove(tq.tenant);
            } else {
                from.addLast(tq); // next turn goes to the next tenant
            }
            job.state = Job.State.TAKEN;
            if (job.isSettled()) {
                continue; // cancelled a moment ago; its discard() will find it gone
            }
            if (job.expiredAt(now)) {
                expired.add(job);
                continue;
            }
            job.dequeuedNanos = now;
            taken.add(job);
        }
        return taken;
    }

    private Batch<I, O> takeRetry(
            DeviceWorker<I, O> worker, long now, List<Job<I, O>> expired, List<Batch<I, O>> unretryable) {
        for (Iterator<Batch<I, O>> it = retries.iterator(); it.hasNext(); ) {
            Batch<I, O> batch = it.next();
            batch.jobs.removeIf(job -> {
                if (job.isSettled()) {
                    return true;
                }
                if (job.expiredAt(now)) {
                    expired.add(job);
                    return true;
                }
                return false;
            });
            if (batch.jobs.isEmpty()) {
                it.remove();
            } else if (batch.failedOn != worker) {
                it.remove();
                return batch;
            } else if (liveWorkers <= 1) {
                it.remove(); // the others are gone; nobody else can retry it
                unretryable.add(batch);
            }
        }
        return null;
    }

    private long oldestEnqueuedNanos() {
        // each tenant's head is its oldest job; compare nanoTime values by difference (they may wrap)
        long oldest = ring.peekFirst().jobs.peekFirst().enqueuedNanos;
        for (TenantQueue<I, O> tq : ring) {
            long t = tq.jobs.peekFirst().enqueuedNanos;
            if (t - oldest < 0) {
                oldest = t;
            }
        }
        return oldest;
    }

    private void removeQueued(Job<I, O> job) {
        TenantQueue<I, O> tq = job.queue;
        tq.jobs.remove(job);
        job.state = Job.State.REMOVED;
        queued--;
        if (tq.background) {
            backgroundQueued--;
        }
        if (tq.jobs.isEmpty()) {
            (tq.background ? backgroundRing : ring).remove(tq);
            byTenant.remove(tq.tenant);
        }
    }

    private void failExpired(List<Job<I, O>> jobs, long now) {
        for (Job<I, O> job : jobs) {
            Duration waited = Duration.ofNanos(now - job.enqueuedNanos);
            if (job.settle()) { // metrics first, so a caller woken by the future sees them
                listener.onExpired(job.tenant, waited);
                job.future.completeExceptionally(
                        new DeadlineExceededException("deadline passed after " + waited.toMillis()
                                + " ms in queue (tenant '" + job.tenant + "'); job dropped before compute"));
            }
        }
    }

    /** A batch succeeded: updates the service-time average behind the retry-after hint. */
    void batchSucceeded(int size, long busyNanos) {
        lock.lock();
        try {
            runningBatches--;
            double sample = (double) busyNanos / size;
            nanosPerJob = nanosPerJob == 0 ? sample : (1 - EWMA_ALPHA) * nanosPerJob + EWMA_ALPHA * sample;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** A batch held only jobs cancelled after the cut; nothing ran. */
    void batchSkipped() {
        lock.lock();
        try {
            runningBatches--;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * A batch failed. Parks it for one retry on another worker when {@code retryable}, it is the first attempt
     * and another worker is alive.
     *
     * @return true when parked (the batcher now owns its jobs again); false: the caller fails them
     */
    boolean batchFailed(DeviceWorker<I, O> worker, Batch<I, O> batch, Throwable failure, boolean retryable) {
        lock.lock();
        try {
            runningBatches--;
            boolean park = retryable && !abandoned && batch.attempt == 0 && liveWorkers > 1;
            if (park) {
                batch.attempt = 1;
                batch.failedOn = worker;
                batch.failure = failure;
                retries.addLast(batch);
            }
            changed.signalAll();
            return park;
        } finally {
            lock.unlock();
        }
    }

    /**
     * A worker thread ended. When the last one goes while open, queued work can never run: it fails now,
     * and later offers are refused.
     */
    void workerExited(boolean hadBatch) {
        List<Job<I, O>> orphaned = List.of();
        lock.lock();
        try {
            liveWorkers--;
            if (hadBatch) {
                runningBatches--;
            }
            if (liveWorkers == 0 && !closed) {
                orphaned = drainAll();
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        WorkerUnavailableException error = new WorkerUnavailableException("no worker is left to run this job", null);
        orphaned.forEach(job -> job.fail(error));
    }

    /** Stops admission; workers finish what is queued, cutting without waiting for the delay. */
    void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Stops everything: queued and parked jobs fail with {@code error}, workers take nothing more. */
    void abandon(BatcherClosedException error) {
        List<Job<I, O>> dropped;
        lock.lock();
        try {
            closed = true;
            abandoned = true;
            dropped = drainAll();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        dropped.forEach(job -> job.fail(error));
    }

    private List<Job<I, O>> drainAll() {
        List<Job<I, O>> all = new ArrayList<>(queued);
        for (ArrayDeque<TenantQueue<I, O>> r : List.of(ring, backgroundRing)) {
            for (TenantQueue<I, O> tq : r) {
                for (Job<I, O> job : tq.jobs) {
                    job.state = Job.State.REMOVED;
                    all.add(job);
                }
            }
            r.clear();
        }
        byTenant.clear();
        queued = 0;
        backgroundQueued = 0;
        for (Batch<I, O> batch : retries) {
            all.addAll(batch.jobs);
        }
        retries.clear();
        return all;
    }

    boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    boolean isAbandoned() {
        lock.lock();
        try {
            return abandoned;
        } finally {
            lock.unlock();
        }
    }

    /** Waits up to {@code nanos} for close (a recovering worker's back-off); true if closed. */
    boolean awaitClose(long nanos) throws InterruptedException {
        lock.lock();
        try {
            while (!closed && nanos > 0) {
                nanos = changed.awaitNanos(nanos);
            }
            return closed;
        } finally {
            lock.unlock();
        }
    }

    /** Jobs waiting for a worker: queued ones plus those parked for retry. */
    int depth() {
        lock.lock();
        try {
            int parked = 0;
            for (Batch<I, O> batch : retries) {
                for (Job<I, O> job : batch.jobs) {
                    if (!job.isSettled()) {
                        parked++;
                    }
                }
            }
            return queued + parked;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Time for {@code jobsAhead} jobs to drain at the recent rate across live workers. Before any batch has
     * finished, assumes one full batch per maxQueueDelay (at least 1 ms) per worker.
     */
    private Duration retryAfter(int jobsAhead) {
        double perJob = nanosPerJob;
        if (perJob == 0) {
            perJob = (double) Math.max(policy.maxQueueDelay().toNanos(), MIN_RETRY_AFTER_NANOS) / policy.maxBatchSize();
        }
        double nanos = Math.max(1, jobsAhead) * perJob / Math.max(1, liveWorkers);
        long clamped = (long) Math.min(MAX_RETRY_AFTER_NANOS, Math.max(MIN_RETRY_AFTER_NANOS, nanos));
        return Duration.ofNanos(clamped);
    }
}
