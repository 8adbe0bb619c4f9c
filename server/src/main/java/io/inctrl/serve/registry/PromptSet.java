package io.inctrl.serve.registry;

import io.inctrl.serve.image.Inspection;
import java.time.Instant;

/**
 * A registered prompt set as stored: what the tenant registered (its shots live beside it, by revision); its
 * encodings by each model version are {@link Encoding}s.
 *
 * @param templateId set id of the text-prompt templates, or {@link TemplateSet#BUILT_IN_ID}
 * @param shotCount  shots in the current revision
 * @param precision  storage precision of encoded features
 * @param model      the model the set belongs to; null = the server's default model
 * @param revision   current shot revision (1 at registration; growing or shrinking the set adds one)
 * @param targetFpr  target false-positive rate of every version's suggested threshold; null = the server default
 * @param version    increases on every change a tenant makes to the set (threshold, target, re-encoding, shots)
 */
public record PromptSet(
        String id,
        String tenantId,
        String name,
        String category,
        String templateId,
        int shotCount,
        Precision precision,
        String model,
        long revision,
        Float targetFpr,
        long version,
        Instant createdAt,
        Instant updatedAt,
        Inspection inspection) {

    public PromptSet {
        inspection = inspection == null ? Inspection.CENTER_CROP : inspection;
    }
}
