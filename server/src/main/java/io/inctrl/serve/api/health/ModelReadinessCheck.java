package io.inctrl.serve.api.health;

import io.inctrl.serve.lifecycle.Drain;
import io.inctrl.serve.model.ModelService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready (HTTP /q/health/ready) means "can score": the bundle is loaded and warmed up on every device and the replica
 * is not draining. The registry store is deliberately not part of it (see {@link RegistryHealthCheck}).
 */
@Readiness
@ApplicationScoped
public class ModelReadinessCheck implements HealthCheck {

    @Inject
    ModelService model;

    @Inject
    Drain drain;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("model")
                .status(model.ready() && !drain.draining())
                .withData("draining", drain.draining())
                .withData("bundle", model.bundleId())
                .withData("random_weights", model.randomWeights())
                .withData("devices", String.join(",", model.devices()))
                .build();
    }
}
