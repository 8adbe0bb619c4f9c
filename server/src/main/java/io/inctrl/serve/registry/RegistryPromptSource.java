package io.inctrl.serve.registry;

import io.inctrl.serve.drift.Baseline;
import io.inctrl.serve.models.ModelChoice;
import io.inctrl.serve.scoring.PromptSource;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.List;

/** Serves ScoreRequest.prompt_set_id from the registry: cached features and text prior, plus the set's threshold. */
@ApplicationScoped
public class RegistryPromptSource implements PromptSource {

    @Inject
    PromptSetService service;

    @Override
    public Resolved resolve(String tenant, String promptSetId, ModelChoice choice, Instant deadline) {
        ResolvedPromptSet r = service.resolve(tenant, promptSetId, choice, deadline);
        return new Resolved(
                r.features(),
                r.prior(),
                r.threshold(),
                r.promptSet().inspection(),
                r.servedBy().ref());
    }

    @Override
    public java.util.Optional<Resolved> resolveEncoded(
            String tenant, String promptSetId, io.inctrl.serve.models.ModelRef version) {
        return service.resolveEncoded(tenant, promptSetId, version)
                .map(r -> new Resolved(
                        r.features(),
                        r.prior(),
                        r.threshold(),
                        r.promptSet().inspection(),
                        r.servedBy().ref()));
    }
}
