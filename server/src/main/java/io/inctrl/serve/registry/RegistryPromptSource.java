package io.inctrl.serve.registry;

import io.inctrl.serve.drift.Baseline;
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
                r.features(), r.prior(), r.threshold(), r.promptSet().inspection(), baseline(r.promptSet()));
    }

    /** The drift watch's expectation: the threshold in force, its expected FPR, the leave-one-out shot scores. */
    static Baseline baseline(PromptSet p) {
        Float t = p.threshold().orElse(null);
        Float expected = p.calibration().expectedFprAt(t);
        float[] shots = new float[p.calibration().shotScores().size()];
        for (int i = 0; i < shots.length; i++) {
            shots[i] = p.calibration().shotScores().get(i);
        }
        return new Baseline(p.version(), t == null ? Float.NaN : t, expected == null ? Float.NaN : expected, shots);
    }
}
