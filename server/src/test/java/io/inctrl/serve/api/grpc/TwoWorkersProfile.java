package io.inctrl.serve.api.grpc;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/** Two CPU model replicas, so multi-device scheduling is exercised without GPUs. */
public class TwoWorkersProfile implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "inctrl.model.devices", "cpu,cpu",
                "inctrl.batching.max-batch-size", "2",
                "inctrl.batching.max-queue-delay", "0ms");
    }
}
