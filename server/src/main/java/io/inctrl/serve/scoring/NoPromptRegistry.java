package io.inctrl.serve.scoring;

import io.inctrl.serve.error.ServeException;
import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.context.ApplicationScoped;

/** Used only when no prompt registry is deployed: every prompt_set_id is unknown. */
@DefaultBean
@ApplicationScoped
public class NoPromptRegistry implements PromptSource {

    @Override
    public Resolved resolve(
            String tenant, String promptSetId, io.inctrl.serve.models.ModelChoice choice, java.time.Instant deadline) {
        throw ServeException.notFound("prompt set", promptSetId);
    }

    @Override
    public java.util.Optional<Resolved> resolveEncoded(
            String tenant, String promptSetId, io.inctrl.serve.models.ModelRef version) {
        return java.util.Optional.empty();
    }
}
