package io.inctrl.serve.batching;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Request (foreground) jobs in flight, queued or running, across every batcher that shares one set of cores, e.g. all
 * model versions of a process. Background batches of any of those batchers start only while it is zero: versions
 * loaded side by side each have their own queue but compete for the same cores.
 */
public final class ForegroundActivity {

    private final AtomicInteger inFlight = new AtomicInteger();

    void started() {
        inFlight.incrementAndGet();
    }

    void ended() {
        inFlight.decrementAndGet();
    }

    /** Foreground jobs accepted by the batchers sharing this and not yet answered. */
    public int inFlight() {
        return inFlight.get();
    }
}
