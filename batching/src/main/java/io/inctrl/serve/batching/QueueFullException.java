package io.inctrl.serve.batching;

import java.time.Duration;
import java.util.Objects;

/** The job was refused because a queue bound (total or per tenant) was reached; nothing was queued. */
public final class QueueFullException extends BatcherException {

    private final Duration retryAfter;

    public QueueFullException(String message, Duration retryAfter) {
        super(message, null);
        this.retryAfter = Objects.requireNonNull(retryAfter, "retryAfter");
    }

    /** Estimated wait before the queue has room again, from queue depth and recent throughput. */
    public Duration retryAfter() {
        return retryAfter;
    }
}
