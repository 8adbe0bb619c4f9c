package io.inctrl.serve.api.grpc;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/** Batches that wait long for company and a tiny queue, so deadlines, cancels and overload can be provoked. */
public class SlowBatchingProfile implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "inctrl.batching.max-batch-size", "64",
                "inctrl.batching.max-queue-delay", "1500ms",
                "inctrl.batching.max-queue-size", "6",
                "inctrl.batching.max-queued-per-tenant", "6",
                // a 6-job queue must still hold one whole request (lifecycle.LimitsAgree): 1 shot, 1 tile
                "inctrl.limits.max-shots", "1",
                "inctrl.inspection.max-tiles", "1");
    }
}
