package io.inctrl.serve.batching;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/** One submitted input with its future. Every exit path goes through {@link #settle()} exactly once. */
final class Job<I, O> {

    /** Where the job is; guarded by the aggregator's lock. */
    enum State {
        QUEUED,
        TAKEN,
        REMOVED
    }

    final String tenant;
    final I input;
    final CompletableFuture<O> future;
    final long enqueuedNanos;
    private final boolean hasDeadline;
    private final long deadlineNanos;
    private final AtomicInteger inFlight;
    private final AtomicBoolean settled = new AtomicBoolean();

    State state = State.QUEUED;
    BatchAggregator.TenantQueue<I, O> queue;
    long dequeuedNanos;
    volatile ScheduledFuture<?> expiryTimer;

    Job(
            String tenant,
            I input,
            CompletableFuture<O> future,
            long enqueuedNanos,
            Long deadlineNanos,
            AtomicInteger inFlight) {
        this.tenant = tenant;
        this.input = input;
        this.future = future;
        this.enqueuedNanos = enqueuedNanos;
        this.hasDeadline = deadlineNanos != null;
        this.deadlineNanos = hasDeadline ? deadlineNanos : 0L;
        this.inFlight = inFlight;
    }

    boolean expiredAt(long nowNanos) {
        return hasDeadline && nowNanos - deadlineNanos >= 0;
    }

    /** Claims the job's single completion; the in-flight count drops before any callback can observe it. */
    boolean settle() {
        if (settled.compareAndSet(false, true)) {
            inFlight.decrementAndGet();
            return true;
        }
        return false;
    }

    boolean isSettled() {
        return settled.get();
    }

    /** @return false when the job was already settled (cancelled, expired, failed) */
    boolean complete(O output) {
        if (settle()) {
            future.complete(output);
            return true;
        }
        return false;
    }

    /** @return false when the job was already settled */
    boolean fail(Throwable error) {
        if (settle()) {
            future.completeExceptionally(error);
            return true;
        }
        return false;
    }

    void cancelExpiryTimer() {
        ScheduledFuture<?> timer = expiryTimer;
        if (timer != null) {
            timer.cancel(false);
        }
    }
}
