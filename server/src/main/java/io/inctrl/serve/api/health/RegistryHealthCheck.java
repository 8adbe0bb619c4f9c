package io.inctrl.serve.api.health;

import io.inctrl.serve.registry.Store;
import io.smallrye.health.api.HealthGroup;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;

/**
 * The registry store's own check (/q/health/group/registry), deliberately not part of readiness: during a database
 * outage a replica still scores inline requests and cached prompt sets, so it must stay in service.
 */
@HealthGroup("registry")
@ApplicationScoped
public class RegistryHealthCheck implements HealthCheck {

    @Inject
    Store store;

    @Override
    public HealthCheckResponse call() {
        boolean up;
        try {
            up = store.tx(c -> c.isValid(2));
        } catch (RuntimeException e) {
            up = false;
        }
        return HealthCheckResponse.named("registry-store")
                .status(up)
                .withData("fatal", store.fatal())
                .build();
    }
}
