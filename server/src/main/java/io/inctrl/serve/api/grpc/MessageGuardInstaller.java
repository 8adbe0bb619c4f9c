package io.inctrl.serve.api.grpc;

import io.quarkus.grpc.api.ServerBuilderCustomizer;
import io.quarkus.grpc.runtime.config.GrpcServerConfiguration;
import io.vertx.grpc.VertxServerBuilder;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Installs {@link MessageGuard} on the gRPC server: grpc-java's own Netty server, which Quarkus builds with a
 * {@link VertxServerBuilder} when {@code quarkus.grpc.server.use-separate-server=true} (application.properties).
 */
@ApplicationScoped
public class MessageGuardInstaller implements ServerBuilderCustomizer<VertxServerBuilder> {

    @Override
    public void customize(GrpcServerConfiguration config, VertxServerBuilder builder) {
        builder.setBinaryLog(new MessageGuard());
    }
}
