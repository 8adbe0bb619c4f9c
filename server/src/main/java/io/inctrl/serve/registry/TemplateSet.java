package io.inctrl.serve.registry;

import io.inctrl.serve.text.PromptTemplates;
import java.time.Instant;

/** A tenant's named text-prompt template set; {@code version} increases on every update (text-prior cache key). */
public record TemplateSet(
        String id,
        String tenantId,
        String name,
        PromptTemplates templates,
        long version,
        Instant createdAt,
        Instant updatedAt) {

    /** Id used for prompt sets that name no template set: the official defaults (spec §6). */
    public static final String BUILT_IN_ID = "default";
}
