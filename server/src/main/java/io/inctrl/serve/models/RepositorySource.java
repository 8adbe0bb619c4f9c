package io.inctrl.serve.models;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.models.repository.ModelConfig;
import io.inctrl.serve.models.repository.ModelRepository;
import io.inctrl.serve.models.repository.ModelRepositoryException;
import io.inctrl.serve.models.repository.RepositoryModel;
import io.inctrl.serve.models.repository.RepositoryVersion;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;

/** A model repository (local directory or object storage) as the manager's source of versions. */
final class RepositorySource implements ModelSource {

    private final ModelRepository repository;

    RepositorySource(ModelRepository repository) {
        this.repository = repository;
    }

    @Override
    public List<Available> versions() {
        List<Available> out = new ArrayList<>();
        for (RepositoryModel m : repository.index()) {
            for (RepositoryVersion v : m.versions()) {
                Optional<String> problem = m.invalidReason().or(v::reason);
                out.add(new Available(new ModelRef(m.name(), v.version()), problem));
            }
        }
        return out;
    }

    @Override
    public Path materialize(ModelRef ref) {
        try {
            return repository.materialize(ref.name(), ref.version());
        } catch (ModelRepositoryException e) {
            throw switch (e.kind()) {
                case NOT_FOUND -> new ServeException(Reason.MODEL_NOT_FOUND, e.getMessage(), e);
                case INVALID -> new ServeException(Reason.INVALID_BUNDLE, e.getMessage(), e);
                case UNAVAILABLE ->
                    new ServeException(Reason.MODEL_REPOSITORY_UNAVAILABLE, e.getMessage(), Duration.ofSeconds(5), e);
            };
        }
    }

    @Override
    public ModelSettings settings(String model) {
        RepositoryModel m = repository
                .model(model)
                .orElseThrow(() -> new ServeException(
                        Reason.MODEL_NOT_FOUND, "the model repository has no model '" + model + "'"));
        if (m.invalidReason().isPresent()) {
            throw new ServeException(
                    Reason.INVALID_MODEL_CONFIG, m.invalidReason().get());
        }
        ModelConfig c = m.config();
        return new ModelSettings(
                Optional.of(policy(c.versionPolicy())), c.precision().map(ModelConfig.Precision::configName));
    }

    private static VersionPolicy policy(ModelConfig.VersionPolicy p) {
        if (p instanceof ModelConfig.VersionPolicy.Latest l) {
            return new VersionPolicy.Latest(l.numVersions());
        }
        if (p instanceof ModelConfig.VersionPolicy.Specific s) {
            return new VersionPolicy.Specific(new HashSet<>(s.versions()));
        }
        return new VersionPolicy.All();
    }

    @Override
    public void refresh() {
        try {
            repository.refresh();
        } catch (ModelRepositoryException e) {
            // the previous index stays (e.g. object storage briefly unreachable): serve what is known
            org.jboss.logging.Logger.getLogger(RepositorySource.class)
                    .warnf("model repository %s could not be refreshed: %s", repository.location(), e.getMessage());
        }
    }

    @Override
    public String describe() {
        return repository.location();
    }
}
