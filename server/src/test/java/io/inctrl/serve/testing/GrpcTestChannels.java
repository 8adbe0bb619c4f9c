package io.inctrl.serve.testing;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.net.URL;
import java.util.concurrent.TimeUnit;

/** Plain grpc-java channels to the server under test (gRPC shares its HTTP port). */
public final class GrpcTestChannels {

    private GrpcTestChannels() {
    }

    public static ManagedChannel open(URL serverUrl) {
        return NettyChannelBuilder.forAddress(serverUrl.getHost(), serverUrl.getPort()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
    }

    /** A channel whose HTTP/2 receive window is tiny, so a client that stops reading pushes back quickly. */
    public static ManagedChannel openWithSmallWindow(URL serverUrl, int windowBytes) {
        return NettyChannelBuilder.forAddress(serverUrl.getHost(), serverUrl.getPort()).usePlaintext()
                .flowControlWindow(windowBytes).build();
    }

    public static void close(ManagedChannel channel) throws InterruptedException {
        channel.shutdownNow();
        channel.awaitTermination(10, TimeUnit.SECONDS);
    }
}
