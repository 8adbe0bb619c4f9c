package io.inctrl.serve.batching;

import java.time.Duration;

/**
 * Metrics hooks. Called on submitter, worker and timer threads, never under the batcher's lock; must be
 * cheap and thread-safe. A job's hooks run before its future completes (cancellation aside). An exception
 * thrown here is logged and ignored.
 */
public interface BatchListener {

    /** A listener that does nothing. */
    static BatchListener noop() {
        return Noop.INSTANCE;
    }

    /** A job was accepted; {@code queueDepth} counts jobs waiting after it was added. */
    default void onQueued(String tenant, int queueDepth) {}

    /** A job left the queue for a batch, after waiting {@code queueTime}. */
    default void onDequeued(String tenant, Duration queueTime) {}

    /** A batch of {@code batchSize} jobs ran on {@code device} for {@code busyTime} and succeeded. */
    default void onBatchCompleted(String device, int batchSize, Duration busyTime) {}

    /** A batch ran on {@code device} for {@code busyTime} and failed with {@code cause}. */
    default void onBatchFailed(String device, int batchSize, Duration busyTime, Throwable cause) {}

    /** A job was refused at submit because a queue bound was reached. */
    default void onRejected(String tenant, QueueFullException rejection) {}

    /** A job's deadline passed while it waited; it was dropped without being computed. */
    default void onExpired(String tenant, Duration queueTime) {}

    /** The caller cancelled (or completed) the job's future before the batcher did. */
    default void onCancelled(String tenant) {}

    /** A worker moved from one state to another. */
    default void onWorkerStateChanged(String device, WorkerState from, WorkerState to) {}
}

/** Shared no-op instance (enum singleton). */
enum Noop implements BatchListener {
    INSTANCE
}
