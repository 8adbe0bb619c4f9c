package io.inctrl.serve.api.grpc;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/** The committed default bundle: ImageNet InceptionV3 features from nsfwjs, kind patch-residual. */
public class PatchResidualBundleProfile implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("inctrl.model.bundle", "../models/nsfwjs-inception-v3");
    }
}
