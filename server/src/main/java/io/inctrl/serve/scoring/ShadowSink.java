package io.inctrl.serve.scoring;

import io.inctrl.serve.models.ModelRef;

/** Where shadow scores go: a request's answered score beside the shadow version's (implemented by the roll-out). */
public interface ShadowSink {

    /** Must not block: called on batcher completion threads. */
    void record(
            String tenant,
            String promptSetId,
            ModelRef baseline,
            float baselineScore,
            ModelRef candidate,
            float candidateScore);
}
