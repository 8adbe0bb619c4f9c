package io.inctrl.serve.scoring;

import java.time.Instant;
import java.util.List;

/**
 * One query to score: either inline shots + category, or a registered prompt set id.
 *
 * @param deadline when the caller stops waiting; null for none
 */
public record ScoreCommand(String tenant, String requestId, byte[] image, List<byte[]> shots, String category,
                           String promptSetId, boolean omitMap, Instant deadline) {

    public boolean inline() {
        return promptSetId == null || promptSetId.isEmpty();
    }
}
