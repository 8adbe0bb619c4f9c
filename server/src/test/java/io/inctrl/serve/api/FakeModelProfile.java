package io.inctrl.serve.api;

import io.inctrl.serve.registry.FakeModelPort;
import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;
import java.util.Set;

/** Registry API tests: security on, and the registry's model port replaced by the counting fake. */
public class FakeModelProfile implements QuarkusTestProfile {

    @Override
    public Set<Class<?>> getEnabledAlternatives() {
        return Set.of(FakeModelPort.class);
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        // a small image limit so the oversize test needs no big upload
        return Map.of("inctrl.security.enabled", "true", "inctrl.limits.max-image-bytes", "262144");
    }
}
