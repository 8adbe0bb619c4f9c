package io.inctrl.serve.api.health;

import io.inctrl.serve.lifecycle.Drain;
import io.inctrl.serve.models.LoadedModel;
import io.inctrl.serve.models.ModelManager;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready (HTTP /q/health/ready) means "can score": a version of the default model is loaded and warmed up on every
 * device and the replica is not draining. The registry store is deliberately not part of it (see {@link RegistryHealthCheck}).
 */
@Readiness
@ApplicationScoped
public class ModelReadinessCheck implements HealthCheck {

    @Inject
    ModelManager models;

    @Inject
    Drain drain;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("model")
                .status(models.ready() && !drain.draining())
                .withData("draining", drain.draining())
                .withData("default_model", models.defaultModel())
                .withData(
                        "loaded",
                        String.join(
                                ",",
                                models.all().stream()
                                        .map(m -> m.ref().toString())
                                        .toList()))
                .withData("random_weights", models.all().stream().anyMatch(LoadedModel::randomWeights))
                .withData(
                        "devices",
                        String.join(
                                ",",
                                models.all().stream()
                                        .findFirst()
                                        .map(LoadedModel::devices)
                                        .orElse(java.util.List.of())))
                .build();
    }
}
