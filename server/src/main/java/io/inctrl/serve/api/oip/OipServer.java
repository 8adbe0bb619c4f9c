package io.inctrl.serve.api.oip;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** What ServerMetadata reports on both transports. */
@ApplicationScoped
public class OipServer {

    @ConfigProperty(name = "quarkus.application.version", defaultValue = "unknown")
    String version;

    public String name() {
        return "inctrl-serve";
    }

    public String version() {
        return version;
    }

    /**
     * The protocol extensions served: REST binary tensors (what tritonclient.http sends), and Triton's model
     * repository, model configuration and statistics ({@link OipExtensions}).
     */
    public List<String> extensions() {
        List<String> out = new java.util.ArrayList<>();
        out.add("binary_tensor_data");
        out.addAll(OipExtensions.NAMES);
        return List.copyOf(out);
    }
}
