package io.inctrl.serve.registry;

import io.inctrl.serve.scoring.PromptSource;
import io.inctrl.serve.scoring.ScoringException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/** Serves ScoreRequest.prompt_set_id from the registry: cached features and text prior, plus the set's threshold. */
@ApplicationScoped
public class RegistryPromptSource implements PromptSource {

    @Inject
    PromptSetService service;

    @Override
    public Resolved resolve(String tenant, String promptSetId) {
        try {
            ResolvedPromptSet r = service.resolve(tenant, promptSetId);
            return new Resolved(r.features(), r.prior(), r.threshold());
        } catch (RegistryException e) {
            throw new ScoringException(kind(e.kind()), e.getMessage(), e);
        }
    }

    private static ScoringException.Kind kind(RegistryException.Kind k) {
        return switch (k) {
            case INVALID_ARGUMENT -> ScoringException.Kind.INVALID_ARGUMENT;
            case NOT_FOUND -> ScoringException.Kind.NOT_FOUND;
            case RESOURCE_EXHAUSTED -> ScoringException.Kind.RESOURCE_EXHAUSTED;
            case UNAVAILABLE -> ScoringException.Kind.UNAVAILABLE;
            case FAILED_PRECONDITION, ALREADY_EXISTS, UNAUTHENTICATED, PERMISSION_DENIED -> ScoringException.Kind.FAILED_PRECONDITION;
        };
    }
}
