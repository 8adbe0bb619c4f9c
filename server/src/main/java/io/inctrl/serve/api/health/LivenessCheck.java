package io.inctrl.serve.api.health;

import io.inctrl.serve.lifecycle.FatalErrors;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;

/** Live (HTTP /q/health/live) until a fatal error (out of memory, embedded store closed) makes a restart necessary. */
@Liveness
@ApplicationScoped
public class LivenessCheck implements HealthCheck {

    @Inject
    FatalErrors fatalErrors;

    @Override
    public HealthCheckResponse call() {
        String fatal = fatalErrors.first();
        HealthCheckResponseBuilder b = HealthCheckResponse.named("process").status(fatal == null);
        if (fatal != null) {
            b.withData("fatal", fatal);
        }
        return b.build();
    }
}
