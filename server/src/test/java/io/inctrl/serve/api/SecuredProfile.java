package io.inctrl.serve.api;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/** Security on, real model (the tiny test bundle). */
public class SecuredProfile implements QuarkusTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("inctrl.security.enabled", "true");
    }
}
