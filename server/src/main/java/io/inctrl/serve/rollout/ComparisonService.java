package io.inctrl.serve.rollout;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.models.LoadedModel;
import io.inctrl.serve.models.ModelManager;
import io.inctrl.serve.models.Rollout;
import io.inctrl.serve.registry.Encoding;
import io.inctrl.serve.registry.PromptSetDetails;
import io.inctrl.serve.registry.PromptSetService;
import io.inctrl.serve.registry.Store;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The per-set comparison of two versions of its model (see {@link VersionComparison}). */
@ApplicationScoped
public class ComparisonService {

    /** Most shadow samples a report reads (the newest). */
    static final int MAX_TRAFFIC_PAIRS = ShadowRecorder.KEEP_PER_PAIR;

    @Inject
    PromptSetService sets;

    @Inject
    ModelManager models;

    @Inject
    RolloutService rollouts;

    @Inject
    ShadowRecorder shadows;

    @Inject
    Store store;

    private final RolloutRepository repo = new RolloutRepository();

    /**
     * Compares versions {@code baseline} and {@code candidate} (0 = the serving version, and the shadow, canary or
     * newest other version) of the set's model on the set of {@code tenantId}.
     *
     * @throws ServeException NOT_FOUND (set), FAILED_PRECONDITION when a version has not encoded the set
     */
    public VersionComparison compare(String tenantId, String setId, long baseline, long candidate) {
        shadows.flush();
        PromptSetDetails d = sets.get(tenantId, setId);
        String model = d.set().model() == null ? models.defaultModel() : d.set().model();
        Rollout r = rollouts.current(model);
        long base = baseline > 0 ? baseline : serving(model, r);
        long cand = candidate > 0 ? candidate : other(model, r, base);
        if (base == 0 || cand == 0 || base == cand) {
            throw new ServeException(
                    Reason.NO_VERSIONS_TO_COMPARE,
                    "name two different versions of model '" + model + "' to compare (baseline " + base + ", candidate "
                            + cand + ")");
        }
        Encoding a = encoding(d, model, base);
        Encoding b = encoding(d, model, cand);
        Float ta = a.threshold().orElse(null);
        Float tb = b.threshold().orElse(null);
        List<float[]> shotPairs = VersionComparison.zip(
                a.calibration() == null ? List.of() : a.calibration().shotScores(),
                b.calibration() == null ? List.of() : b.calibration().shotScores());
        List<float[]> traffic =
                new ArrayList<>(store.tx(c -> repo.shadowPairs(c, setId, model, base, cand, MAX_TRAFFIC_PAIRS)));
        // samples taken the other way round (candidate served, baseline in the shadow) count as well
        store.tx(c -> repo.shadowPairs(c, setId, model, cand, base, MAX_TRAFFIC_PAIRS))
                .forEach(p -> traffic.add(new float[] {p[1], p[0]}));
        return new VersionComparison(
                setId,
                model,
                base,
                cand,
                ta,
                tb,
                VersionComparison.Agreement.of(shotPairs, ta, tb),
                VersionComparison.Agreement.of(traffic, ta, tb));
    }

    private long serving(String model, Rollout r) {
        if (r.servingVersion() > 0) {
            return r.servingVersion();
        }
        List<LoadedModel> loaded = models.versions(model);
        return loaded.isEmpty() ? 0 : loaded.get(0).version();
    }

    private long other(String model, Rollout r, long base) {
        if (r.shadowVersion() > 0 && r.shadowVersion() != base) {
            return r.shadowVersion();
        }
        if (r.canaryVersion() > 0 && r.canaryVersion() != base) {
            return r.canaryVersion();
        }
        return models.versions(model).stream()
                .mapToLong(LoadedModel::version)
                .filter(v -> v != base)
                .max()
                .orElse(0);
    }

    private Encoding encoding(PromptSetDetails d, String model, long version) {
        Optional<String> loadedEncoder = models.versions(model).stream()
                .filter(m -> m.version() == version)
                .map(LoadedModel::encoderId)
                .findFirst();
        return d.encodings().stream()
                .filter(Encoding::ready)
                .filter(e -> loadedEncoder.map(x -> x.equals(e.encoder())).orElse(false)
                        || (model.equals(e.model()) && e.modelVersion() == version))
                .findFirst()
                .orElseThrow(() -> new ServeException(
                        Reason.PROMPT_SET_NOT_ENCODED,
                        "version " + version + " of model '" + model + "' has not encoded prompt set '"
                                + d.set().id() + "' yet"));
    }
}
