package io.inctrl.serve.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.ManagedChannel;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.testing.GrpcTestChannels;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.net.URL;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Two replicas share the batcher's queue: both run batches, and results do not depend on which one ran. */
@QuarkusTest
@TestProfile(TwoWorkersProfile.class)
class MultiDeviceSchedulingTest {

    @TestHTTPResource("/")
    URL url;

    @Inject
    MeterRegistry registry;

    @Test
    void both_workers_run_batches_and_agree() throws Exception {
        ManagedChannel channel = GrpcTestChannels.open(url);
        try {
            ScorerGrpc.ScorerFutureStub stub = ScorerGrpc.newFutureStub(channel);
            List<ListenableFuture<ScoreResponse>> calls = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                calls.add(stub.score(ScorerGrpcServiceTest.request(
                        "m" + i,
                        "elpv/mono/test/defective/cell0039.png",
                        List.of("elpv/mono/shots/cell0449.png", "elpv/mono/shots/cell0988.png"),
                        "mono")));
            }
            List<Float> scores = new ArrayList<>();
            for (ListenableFuture<ScoreResponse> c : calls) {
                scores.add(c.get(3, TimeUnit.MINUTES).getScore());
            }
            assertThat(scores)
                    .allSatisfy(
                            s -> assertThat(s).isCloseTo(scores.get(0), org.assertj.core.data.Offset.offset(1e-5f)));
            Map<String, Double> busy = registry.find("inctrl.device.busy.seconds").counters().stream()
                    .collect(Collectors.toMap(c -> c.getId().getTag("device"), Counter::count));
            assertThat(busy).as("busy seconds per worker").hasSize(2);
            assertThat(busy.values()).allSatisfy(v -> assertThat(v).isPositive());
        } finally {
            GrpcTestChannels.close(channel);
        }
    }
}
