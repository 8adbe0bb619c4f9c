package io.inctrl.serve.registry;

import io.inctrl.serve.scoring.PromptSource;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/** Serves ScoreRequest.prompt_set_id from the registry: cached features and text prior, plus the set's threshold. */
@ApplicationScoped
public class RegistryPromptSource implements PromptSource {

    @Inject
    PromptSetService service;

    @Override
    public Resolved resolve(String tenant, String promptSetId) {
        ResolvedPromptSet r = service.resolve(tenant, promptSetId);
        return new Resolved(
                r.features(), r.prior(), r.threshold(), r.promptSet().inspection());
    }
}
