package io.inctrl.serve.testing;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.net.URL;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.ConfigProvider;

/** Plain grpc-java channels to the server under test: its own gRPC port (random in tests), on the HTTP host. */
public final class GrpcTestChannels {

    private GrpcTestChannels() {}

    /** The port the gRPC server of the running test application bound (quarkus.grpc.server.test-port=0). */
    public static int grpcPort() {
        return ConfigProvider.getConfig().getValue("quarkus.grpc.server.test-port", Integer.class);
    }

    /** A URL on the management interface (health, metrics) of the running test application. */
    public static String managementUrl(String path) {
        return "http://localhost:" + ConfigProvider.getConfig().getValue("quarkus.management.test-port", Integer.class)
                + path;
    }

    public static ManagedChannel open(URL serverUrl) {
        return NettyChannelBuilder.forAddress(serverUrl.getHost(), grpcPort())
                .usePlaintext()
                .maxInboundMessageSize(64 << 20)
                .build();
    }

    /** A channel whose HTTP/2 receive window is tiny, so a client that stops reading pushes back quickly. */
    public static ManagedChannel openWithSmallWindow(URL serverUrl, int windowBytes) {
        return NettyChannelBuilder.forAddress(serverUrl.getHost(), grpcPort())
                .usePlaintext()
                .flowControlWindow(windowBytes)
                .build();
    }

    public static void close(ManagedChannel channel) throws InterruptedException {
        channel.shutdownNow();
        channel.awaitTermination(10, TimeUnit.SECONDS);
    }
}
