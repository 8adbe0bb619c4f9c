package io.inctrl.serve.api.grpc;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * Security on (tenants of their own per test) and small pixel budgets: 10 megapixels per request, and a tenant
 * pixel rate of 1 pixel/s, so the bucket (one full request, 10 Mpx) does not refill during a test.
 */
public class ScoreLimitsProfile implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "inctrl.security.enabled", "true",
                "inctrl.limits.max-request-pixels", "10000000",
                "inctrl.limits.tenant-pixels-per-second", "1");
    }
}
