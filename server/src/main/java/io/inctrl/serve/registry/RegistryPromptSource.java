package io.inctrl.serve.registry;

import io.inctrl.serve.drift.Baseline;
import io.inctrl.serve.models.ModelChoice;
import io.inctrl.serve.models.ModelRef;
import io.inctrl.serve.scoring.PromptSource;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Serves ScoreRequest.prompt_set_id from the registry: cached features and text prior of the encoding that serves the
 * set, its threshold, and what the drift watch compares its traffic with.
 */
@ApplicationScoped
public class RegistryPromptSource implements PromptSource {

    @Inject
    PromptSetService service;

    @Override
    public Resolved resolve(String tenant, String promptSetId, ModelChoice choice, Instant deadline) {
        return resolved(service.resolve(tenant, promptSetId, choice, deadline));
    }

    @Override
    public Optional<Resolved> resolveEncoded(String tenant, String promptSetId, ModelRef version) {
        return service.resolveEncoded(tenant, promptSetId, version).map(RegistryPromptSource::resolved);
    }

    private static Resolved resolved(ResolvedPromptSet r) {
        return new Resolved(
                r.features(),
                r.prior(),
                r.threshold(),
                r.promptSet().inspection(),
                r.servedBy().ref(),
                baseline(r.promptSet(), r.encoding()));
    }

    /**
     * The drift watch's expectation of the encoding that serves the set: its threshold in force, its expected FPR and
     * leave-one-out shot scores. A change of revision, serving version or encoding starts a new window.
     */
    static Baseline baseline(PromptSet p, Encoding e) {
        Calibration c = e.calibration();
        Float t = e.threshold().orElse(null);
        Float expected = c == null ? null : c.expectedFprAt(t);
        List<Float> scores = c == null ? List.of() : c.shotScores();
        float[] shots = new float[scores.size()];
        for (int i = 0; i < shots.length; i++) {
            shots[i] = scores.get(i);
        }
        return new Baseline(
                baselineVersion(p, e), t == null ? Float.NaN : t, expected == null ? Float.NaN : expected, shots);
    }

    /** Identifies what a drift window was filled against: the set's revision and the serving encoding's version. */
    public static long baselineVersion(PromptSet p, Encoding e) {
        return java.util.Objects.hash(p.revision(), e.encoder(), e.version());
    }
}
