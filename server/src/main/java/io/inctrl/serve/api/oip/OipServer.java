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

    /** The REST binary tensor extension (what tritonclient.http sends) is the only protocol extension served. */
    public List<String> extensions() {
        return List.of("binary_tensor_data");
    }
}
