package io.inctrl.serve.batching;

import java.util.ArrayList;
import java.util.List;

/** Jobs cut together; owned by one worker at a time, or parked in the aggregator for its one retry. */
final class Batch<I, O> {

    final List<Job<I, O>> jobs;
    /** 0 on the first run, 1 on the retry. */
    int attempt;
    /** The worker whose failure parked this batch for retry; the retry must run elsewhere. */
    DeviceWorker<I, O> failedOn;
    Throwable failure;

    Batch(List<Job<I, O>> jobs) {
        this.jobs = new ArrayList<>(jobs);
    }

    void failAll(Throwable error) {
        for (Job<I, O> job : jobs) {
            job.fail(error);
        }
    }
}
