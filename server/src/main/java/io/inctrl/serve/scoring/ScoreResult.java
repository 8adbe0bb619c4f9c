package io.inctrl.serve.scoring;

import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.models.ModelRef;
import java.util.Optional;

/**
 * Scores of one query, the model version that produced them, plus where its time went (nanoseconds); {@code queryId}
 * names a query scored against a prompt set while the replica keeps it (confirmable as normal), else null.
 */
public record ScoreResult(
        String requestId,
        InctrlScores scores,
        String bundleId,
        ModelRef servedBy,
        Optional<Float> threshold,
        long decodeNanos,
        long preprocessNanos,
        long encodeNanos,
        long scoreNanos,
        long queueNanos,
        long totalNanos,
        String queryId) {}
