package io.inctrl.serve.api.health;

import io.inctrl.serve.model.ModelService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready (HTTP /q/health/ready) only once the bundle is loaded and warmed up on every device. */
@Readiness
@ApplicationScoped
public class ModelReadinessCheck implements HealthCheck {

    @Inject
    ModelService model;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("model")
                .status(model.ready())
                .withData("bundle", model.bundleId())
                .withData("random_weights", model.randomWeights())
                .withData("devices", String.join(",", model.devices()))
                .build();
    }
}
