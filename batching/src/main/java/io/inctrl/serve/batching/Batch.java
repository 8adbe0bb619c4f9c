package io.inctrl.serve.batching;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Jobs cut together; owned by one worker at a time, or parked in the aggregator for its one retry. */
final class Batch<I, O> {

    final List<Job<I, O>> jobs;
    /** 0 on the first run, 1 on the retry. */
    int attempt;
    /** The worker whose failure parked this batch for retry; the retry must run elsewhere. */
    DeviceWorker<I, O> failedOn;

    Throwable failure;

    Batch(List<Job<I, O>> jobs) {
        // copy-on-write: shutdown may fail a stuck worker's batch while that worker still holds it
        this.jobs = new CopyOnWriteArrayList<>(jobs);
    }

    void failAll(Throwable error) {
        for (Job<I, O> job : jobs) {
            job.fail(error);
        }
    }
}
