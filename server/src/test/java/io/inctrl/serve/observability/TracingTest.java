package io.inctrl.serve.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.inctrl.serve.api.grpc.ScorerGrpcServiceTest;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.testing.GrpcTestChannels;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.net.URL;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** With tracing switched on, a scored request leaves one trace with a span per pipeline stage. */
@QuarkusTest
@TestProfile(TracingTest.TracingOn.class)
class TracingTest {

    public static class TracingOn implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.otel.sdk.disabled", "false", "quarkus.otel.simple", "true");
        }
    }

    @TestHTTPResource("/")
    URL url;

    private final InMemorySpanExporter spans = InMemorySpans.exporter();

    @Test
    void a_score_request_is_traced_stage_by_stage() throws Exception {
        spans.reset();
        ManagedChannel channel = GrpcTestChannels.open(url);
        try {
            ScorerGrpc.newBlockingStub(channel)
                    .score(ScorerGrpcServiceTest.request(
                            "traced",
                            "elpv/mono/test/good/cell0369.png",
                            List.of("elpv/mono/shots/cell0449.png"),
                            "mono"));
        } finally {
            GrpcTestChannels.close(channel);
        }
        List<SpanData> all = spans.getFinishedSpanItems();
        SpanData root = all.stream()
                .filter(s -> s.getName().equals("score-request"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no score-request span among "
                        + all.stream().map(SpanData::getName).toList()));
        assertThat(root.getAttributes().asMap().toString()).contains("traced");
        Set<String> inTrace = all.stream()
                .filter(s -> s.getTraceId().equals(root.getTraceId()))
                .map(SpanData::getName)
                .collect(Collectors.toSet());
        assertThat(inTrace).contains("decode", "preprocess", "queue", "batch", "encode", "score");
        // the gRPC server span (Quarkus' instrumentation) is the parent of ours when it exists
        assertThat(all.stream().anyMatch(s -> s.getName().contains("Scorer/Score")))
                .isTrue();
    }
}
