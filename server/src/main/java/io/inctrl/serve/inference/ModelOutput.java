package io.inctrl.serve.inference;

import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.TextPrior;

/**
 * What a job got back: its encoding, its scores or its text prior (the others null), the shared stage times of its
 * batch and its own queue time.
 */
public record ModelOutput(
        EncodedImages encoded,
        InctrlScores scores,
        TextPrior prior,
        int batchSize,
        String device,
        long queueNanos,
        long encodeNanos,
        long scoreNanos) {

    public ModelOutput(
            EncodedImages encoded,
            InctrlScores scores,
            int batchSize,
            String device,
            long queueNanos,
            long encodeNanos,
            long scoreNanos) {
        this(encoded, scores, null, batchSize, device, queueNanos, encodeNanos, scoreNanos);
    }
}
