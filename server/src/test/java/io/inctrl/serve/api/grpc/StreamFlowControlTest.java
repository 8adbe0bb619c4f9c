package io.inctrl.serve.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.testing.GrpcTestChannels;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * A rig that sends fast and stops reading must stall its own stream: the server pulls only about a window of
 * requests, holds little memory, and delivers everything once the rig reads again.
 */
@QuarkusTest
class StreamFlowControlTest {

    private static final Logger LOG = Logger.getLogger(StreamFlowControlTest.class);
    private static final int SENT = 300;

    @TestHTTPResource("/")
    URL url;

    @Test
    void slow_consumer_bounds_what_the_server_pulls_and_holds() throws Exception {
        ManagedChannel channel = GrpcTestChannels.openWithSmallWindow(url, 16 * 1024);
        try {
            ScoreRequest template = ScorerGrpcServiceTest.request(
                    "x", "elpv/mono/test/good/cell0369.png", List.of("elpv/mono/shots/cell0449.png"), "mono");
            AtomicReference<ClientCallStreamObserver<ScoreRequest>> call = new AtomicReference<>();
            Set<String> received = ConcurrentHashMap.newKeySet();
            CountDownLatch done = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            ClientResponseObserver<ScoreRequest, ScoreResponse> observer = new ClientResponseObserver<>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<ScoreRequest> requestStream) {
                    call.set(requestStream);
                    requestStream.disableAutoRequestWithInitial(0); // the rig stops reading
                }

                @Override
                public void onNext(ScoreResponse value) {
                    received.add(value.getRequestId());
                    call.get().request(1);
                }

                @Override
                public void onError(Throwable t) {
                    failure.set(t);
                    done.countDown();
                }

                @Override
                public void onCompleted() {
                    done.countDown();
                }
            };
            long pulledBefore = ScoreStreamCall.PULLED.get();
            long heapBefore = usedHeap();
            ScorerGrpc.newStub(channel).scoreStream(observer);
            for (int i = 0; i < SENT; i++) {
                call.get().onNext(template.toBuilder().setRequestId("r" + i).build());
            }
            call.get().onCompleted();

            // let the server run as far as it can without the client reading
            long pulled = waitForPlateau(pulledBefore);
            long heapStalled = usedHeap();
            int window = 32;
            LOG.infof(
                    "slow consumer: server pulled %d of %d requests while the client did not read; heap %d -> %d MiB",
                    pulled, SENT, heapBefore >> 20, heapStalled >> 20);
            assertThat(pulled)
                    .as("requests pulled while the client is not reading")
                    .isLessThan(SENT / 2)
                    .isGreaterThanOrEqualTo(window);

            call.get().request(Integer.MAX_VALUE); // the rig reads again
            assertThat(done.await(3, TimeUnit.MINUTES)).as("stream completes").isTrue();
            assertThat(failure.get()).isNull();
            assertThat(received).hasSize(SENT);
        } finally {
            GrpcTestChannels.close(channel);
        }
    }

    private static long waitForPlateau(long base) throws InterruptedException {
        long last = -1;
        long now = ScoreStreamCall.PULLED.get() - base;
        int stable = 0;
        for (int i = 0; i < 120 && stable < 6; i++) {
            Thread.sleep(500);
            last = now;
            now = ScoreStreamCall.PULLED.get() - base;
            stable = now == last && now > 0 ? stable + 1 : 0;
        }
        return now;
    }

    private static long usedHeap() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
