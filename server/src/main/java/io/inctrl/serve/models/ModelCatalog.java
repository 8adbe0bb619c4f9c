package io.inctrl.serve.models;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** What the APIs tell about models: each with its versions (loaded or not), roll-out and serving version. */
@ApplicationScoped
public class ModelCatalog {

    @Inject
    ModelManager models;

    @Inject
    ModelRouter router;

    @Inject
    Rollouts rollouts;

    /**
     * @param loaded  the loaded version of each READY entry of {@code versions} (same order; null for the others)
     * @param serving the version answering requests that name none; 0 when none is loaded
     */
    public record Entry(
            String name,
            List<ModelManager.VersionStatus> versions,
            List<LoadedModel> loaded,
            Rollout rollout,
            long serving) {}

    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>();
        for (String name : models.modelNames()) {
            out.add(entry(name));
        }
        return out;
    }

    /** @throws ServeException NOT_FOUND for a model neither loaded nor in the repository */
    public Entry entry(String name) {
        List<ModelManager.VersionStatus> versions = models.index().stream()
                .filter(v -> v.ref().name().equals(name))
                .sorted((a, b) -> Long.compare(b.ref().version(), a.ref().version()))
                .toList();
        if (versions.isEmpty()) {
            throw new ServeException(
                    Reason.MODEL_NOT_FOUND, "model '" + io.inctrl.serve.logging.LogSafe.of(name) + "' not found");
        }
        List<LoadedModel> loaded =
                versions.stream().map(v -> models.get(v.ref()).orElse(null)).toList();
        long serving =
                models.versions(name).isEmpty() ? 0 : router.serving(name).version();
        return new Entry(name, versions, loaded, rollouts.of(name), serving);
    }

    /** The loaded version a request for {@code choice} is described by: the named one, else the serving one. */
    public LoadedModel describe(ModelChoice choice) {
        String name = choice.namesModel() ? choice.name() : models.defaultModel();
        if (choice.version() > 0) {
            return router.candidates(choice).get(0);
        }
        return router.serving(name);
    }

    public String defaultModel() {
        return models.defaultModel();
    }

    public Optional<LoadedModel> loaded(ModelRef ref) {
        return models.get(ref);
    }
}
