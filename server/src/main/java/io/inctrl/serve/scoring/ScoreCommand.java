package io.inctrl.serve.scoring;

import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.models.ModelChoice;
import java.time.Instant;
import java.util.List;

/**
 * One query to score against its prompts.
 *
 * @param deadline when the caller stops waiting; null for none
 * @param model    the model (and version) the request names; {@link ModelChoice#ANY} = the default model, or the
 *                 registered set's own model
 */
public record ScoreCommand(
        String tenant, String requestId, byte[] image, Prompts prompts, Instant deadline, ModelChoice model) {

    public ScoreCommand {
        model = model == null ? ModelChoice.ANY : model;
    }

    public ScoreCommand(String tenant, String requestId, byte[] image, Prompts prompts, Instant deadline) {
        this(tenant, requestId, image, prompts, deadline, ModelChoice.ANY);
    }

    /** What the query is compared with: the proto's {@code oneof prompts}. */
    public sealed interface Prompts permits Inline, Registered {}

    /** Ad-hoc shots and category, encoded for this request only (shots may be empty: refused by validation). */
    public record Inline(List<byte[]> shots, String category, Inspection inspection) implements Prompts {
        public Inline {
            shots = shots == null ? List.of() : shots;
            inspection = inspection == null ? Inspection.CENTER_CROP : inspection;
        }

        /** Centre crop, the official preprocessing. */
        public Inline(List<byte[]> shots, String category) {
            this(shots, category, Inspection.CENTER_CROP);
        }
    }

    /** A prompt set of the caller's tenant in the registry. */
    public record Registered(String promptSetId) implements Prompts {}
}
