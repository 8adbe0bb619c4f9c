package io.inctrl.serve.scoring;

import io.inctrl.serve.model.InctrlScores;
import java.util.Optional;

/** Scores of one query plus where its time went (nanoseconds). */
public record ScoreResult(
        String requestId,
        InctrlScores scores,
        String bundleId,
        Optional<Float> threshold,
        long decodeNanos,
        long preprocessNanos,
        long encodeNanos,
        long scoreNanos,
        long queueNanos,
        long totalNanos) {}
