package io.inctrl.serve.inference;

import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.InctrlScores;

/**
 * What a job got back: its encoding or its scores, the shared stage times of its batch and its own queue time.
 */
public record ModelOutput(
        EncodedImages encoded,
        InctrlScores scores,
        int batchSize,
        String device,
        long queueNanos,
        long encodeNanos,
        long scoreNanos) {}
