package io.inctrl.serve.api.health;

import io.inctrl.serve.registry.StoreStartup;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Part of readiness until the registry database has been reached and migrated once since start ({@link StoreStartup}):
 * before that no API key can be verified, so the replica could serve no tenant. It stays UP through later outages
 * (those are {@link RegistryHealthCheck}'s business, deliberately outside readiness).
 */
@Readiness
@ApplicationScoped
public class StoreStartupCheck implements HealthCheck {

    @Inject
    StoreStartup startup;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("registry-migrated")
                .status(startup.ready())
                .build();
    }
}
