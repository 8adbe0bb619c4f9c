package io.inctrl.serve.models;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks the loaded version that answers a request: the named version, else the model's serving version (roll-out
 * state; the highest loaded one by default), or its canary for the canary's share of requests. Callers that need
 * something only some versions have (a prompt set's encoding) walk {@link #candidates} in order.
 */
@ApplicationScoped
public class ModelRouter {

    @Inject
    ModelManager models;

    @Inject
    Rollouts rollouts;

    /**
     * Versions that may answer {@code choice}, best first: the routed one (canary or serving), then the serving one,
     * then the other loaded versions, highest first. One entry when the choice names a version.
     *
     * @throws ServeException NOT_FOUND for an unknown model or a version that is not loaded; UNAVAILABLE while a
     *     model known to the repository has no loaded version
     */
    public List<LoadedModel> candidates(ModelChoice choice) {
        String name = choice.namesModel() ? choice.name() : models.defaultModel();
        List<LoadedModel> loaded = models.versions(name);
        if (choice.version() > 0) {
            return List.of(loaded.stream()
                    .filter(m -> m.version() == choice.version())
                    .findFirst()
                    .orElseThrow(() -> new ServeException(
                            Reason.MODEL_VERSION_NOT_LOADED,
                            "version " + choice.version() + " of model '" + name + "' is not loaded (loaded: "
                                    + loaded.stream()
                                            .map(m -> Long.toString(m.version()))
                                            .toList() + ")")));
        }
        if (loaded.isEmpty()) {
            throw noVersion(name);
        }
        Rollout r = rollouts.of(name);
        LoadedModel serving = find(loaded, r.servingVersion()).orElse(loaded.get(0));
        List<LoadedModel> out = new ArrayList<>(loaded.size());
        Optional<LoadedModel> canary = find(loaded, r.canaryVersion());
        if (canary.isPresent() && canary.get() != serving && sampled(r.canaryPercent())) {
            out.add(canary.get());
        }
        out.add(serving);
        for (LoadedModel m : loaded) {
            if (!out.contains(m)) {
                out.add(m);
            }
        }
        return out;
    }

    /**
     * The version that serves {@code model} when requests name no version: the roll-out's serving version, else the
     * highest loaded one (no canary draw).
     */
    public LoadedModel serving(String model) {
        String name = model == null || model.isBlank() ? models.defaultModel() : model;
        List<LoadedModel> loaded = models.versions(name);
        if (loaded.isEmpty()) {
            throw noVersion(name);
        }
        return find(loaded, rollouts.of(name).servingVersion()).orElse(loaded.get(0));
    }

    /** The version that answers {@code choice} when any of them will do (inline shots carry their own prompts). */
    public LoadedModel route(ModelChoice choice) {
        return candidates(choice).get(0);
    }

    /**
     * The version that should also score this request in the shadow, when the model has a shadow version loaded other
     * than the one that answered, and this request falls in its share.
     */
    public Optional<LoadedModel> shadow(LoadedModel answered) {
        Rollout r = rollouts.of(answered.name());
        if (r.shadowVersion() == 0 || r.shadowVersion() == answered.version() || !sampled(r.shadowPercent())) {
            return Optional.empty();
        }
        return find(models.versions(answered.name()), r.shadowVersion());
    }

    private ServeException noVersion(String name) {
        boolean known = models.modelNames().contains(name);
        return known
                ? new ServeException(
                        Reason.MODEL_NOT_LOADED,
                        "model '" + name + "' has no loaded version on this replica",
                        java.time.Duration.ofSeconds(1),
                        null)
                : new ServeException(
                        Reason.MODEL_NOT_FOUND, "model '" + io.inctrl.serve.logging.LogSafe.of(name) + "' not found");
    }

    private static Optional<LoadedModel> find(List<LoadedModel> loaded, long version) {
        return version == 0
                ? Optional.empty()
                : loaded.stream().filter(m -> m.version() == version).findFirst();
    }

    private static boolean sampled(double percent) {
        return percent > 0 && ThreadLocalRandom.current().nextDouble(100) < percent;
    }
}
