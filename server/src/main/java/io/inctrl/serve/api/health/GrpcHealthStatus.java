package io.inctrl.serve.api.health;

import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.inctrl.serve.lifecycle.Drain;
import io.inctrl.serve.models.ModelEvent;
import io.inctrl.serve.models.ModelManager;
import io.inctrl.serve.registry.StoreStartup;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

/**
 * Standard grpc.health.v1: NOT_SERVING until the model is loaded and warmed up and the registry database was reached
 * and migrated once ({@link StoreStartup}), NOT_SERVING as soon as a drain begins.
 */
@ApplicationScoped
public class GrpcHealthStatus {

    static final String SCORER = "inctrl.v1.Scorer";

    /** The Open Inference Protocol service scores too: it is serving exactly when the Scorer is. */
    static final String OPEN_INFERENCE = "inference.GRPCInferenceService";

    @Inject
    GrpcHealthStorage health;

    @Inject
    ModelManager models;

    @Inject
    Drain drain;

    @Inject
    StoreStartup storeStartup;

    void onStart(@Observes StartupEvent event) {
        set(ServingStatus.NOT_SERVING);
        refresh();
        storeStartup.onReady(this::refresh);
        drain.onDrain(this::refresh);
    }

    /** Loading or unloading a version may make the default model (un)available. */
    void onModel(@Observes ModelEvent event) {
        refresh();
    }

    private synchronized void refresh() {
        boolean serving = models.ready() && storeStartup.ready() && !drain.draining();
        set(serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    }

    void onStop(@Observes ShutdownEvent event) {
        set(ServingStatus.NOT_SERVING);
    }

    private void set(ServingStatus status) {
        health.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, status);
        health.setStatus(SCORER, status);
        health.setStatus(OPEN_INFERENCE, status);
    }
}
