package io.inctrl.serve.api.grpc;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/** The tiny random residual-heads bundle: InCTRL's heads over a vision-only trunk, no text tower. */
public class ResidualHeadsBundleProfile implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("inctrl.model.bundle", "../build/assets/residual-heads-tiny");
    }
}
