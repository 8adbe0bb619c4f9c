package io.inctrl.serve.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.testing.GrpcTestChannels;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 20 items 3, 4, 6 and 8 through a real gRPC server: malformed protobuf is INVALID_ARGUMENT with a reason and
 * one short log line (never UNKNOWN with a SEVERE stack trace), also inside a ScoreStream; a gzip bomb is refused by
 * the server with RESOURCE_EXHAUSTED and a reason; ScoreStream item errors carry their reason; grpc.health.v1 answers
 * NOT_FOUND for a service it does not know.
 */
@QuarkusTest
class GrpcErrorContractTest {

    /** The Scorer's methods with the request left as bytes, so a test can send what no stub would. */
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    private static final MethodDescriptor<byte[], ScoreResponse> RAW_SCORE = ScorerGrpc.getScoreMethod().toBuilder(
                    BYTES, ScorerGrpc.getScoreMethod().getResponseMarshaller())
            .build();
    private static final MethodDescriptor<byte[], ScoreResponse> RAW_STREAM =
            ScorerGrpc.getScoreStreamMethod().toBuilder(
                            BYTES, ScorerGrpc.getScoreStreamMethod().getResponseMarshaller())
                    .build();

    /** A field-1 tag with an over-long varint length: no protobuf parser accepts it. */
    private static final byte[] JUNK = {(byte) 0x0a, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f, 'x'};

    @TestHTTPResource("/")
    URL url;

    private ManagedChannel channel;
    private final List<LogRecord> logged = new ArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public synchronized void publish(LogRecord r) {
            logged.add(r);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    @BeforeEach
    void open() {
        channel = GrpcTestChannels.open(url);
        Logger.getLogger("").addHandler(capture);
    }

    @AfterEach
    void close() throws InterruptedException {
        Logger.getLogger("").removeHandler(capture);
        GrpcTestChannels.close(channel);
    }

    @Test
    void malformed_protobuf_is_invalid_argument_with_a_reason_and_one_short_log_line() {
        for (int i = 0; i < 3; i++) {
            assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, RAW_SCORE, CallOptions.DEFAULT, JUNK))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                        assertThat(reason(e)).isEqualTo("MALFORMED_MESSAGE");
                        assertThat(e.getStatus().getDescription()).contains("inctrl.v1.Scorer/Score");
                    });
        }
        List<LogRecord> lines = logged(r -> r.getLoggerName().endsWith("MessageGuard"));
        assertThat(lines).hasSize(3);
        assertThat(lines).allSatisfy(r -> assertThat(r.getThrown()).isNull());
        assertThat(logged(r -> r.getLevel().intValue() >= Level.SEVERE.intValue()))
                .as("nothing logged at SEVERE/ERROR")
                .isEmpty();
    }

    @Test
    void a_junk_message_inside_a_stream_ends_it_invalid_argument_after_answering_what_came_before() throws Exception {
        ScoreRequest ok = ScorerGrpcServiceTest.request(
                        "before",
                        "mvtec_ad/transistor/shots/021.png",
                        List.of("mvtec_ad/transistor/shots/013.png"),
                        "transistor")
                .toBuilder()
                .setOmitMap(true)
                .build();
        StreamResult r = stream(List.of(
                ok.toByteArray(),
                JUNK,
                ok.toBuilder().setRequestId("after").build().toByteArray()));
        assertThat(r.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(reason(r.error())).isEqualTo("MALFORMED_MESSAGE");
        List<ScoreResponse> answers = r.answers();
        assertThat(answers).extracting(ScoreResponse::getRequestId).containsExactly("before");
        assertThat(answers.get(0).hasError()).isFalse();
        assertThat(logged(rec -> rec.getLevel().intValue() >= Level.SEVERE.intValue()))
                .isEmpty();
    }

    @Test
    void a_gzip_bomb_is_refused_by_the_server_with_resource_exhausted_and_a_reason() {
        // 100 MiB of zeros, about 100 KiB on the wire: over the 64 MiB inbound limit only once decompressed. The
        // client sends it (grpc-java has no outbound limit); only the server can refuse it, with our ErrorInfo.
        ScoreRequest bomb = ScoreRequest.newBuilder()
                .setPromptSetId("x")
                .setImage(ByteString.copyFrom(new byte[100 << 20]))
                .build();
        assertThatThrownBy(() -> ScorerGrpc.newBlockingStub(channel)
                        .withCompression("gzip")
                        .withDeadlineAfter(60, TimeUnit.SECONDS)
                        .score(bomb))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                    assertThat(reason(e)).isEqualTo("PAYLOAD_TOO_LARGE");
                    assertThat(StatusProto.fromThrowable(e).getDetailsList().stream()
                                    .anyMatch(a -> a.is(com.google.rpc.RetryInfo.class)))
                            .as("waiting does not help: no retry hint")
                            .isFalse();
                });
        assertThat(logged(r -> r.getLevel().intValue() >= Level.SEVERE.intValue()))
                .isEmpty();
    }

    @Test
    void a_failed_stream_item_carries_its_reason_and_no_retry_hint_when_waiting_does_not_help() throws Exception {
        StreamResult r = stream(List.of(ScoreRequest.newBuilder()
                .setRequestId("empty")
                .setPromptSetId("x")
                .build()
                .toByteArray()));
        assertThat(r.status().getCode()).isEqualTo(Status.Code.OK);
        assertThat(r.answers()).hasSize(1);
        ScoreResponse.Builder expected = ScoreResponse.newBuilder().setRequestId("empty");
        assertThat(r.answers().get(0).getRequestId()).isEqualTo(expected.getRequestId());
        assertThat(r.answers().get(0).getError().getCode()).isEqualTo("INVALID_ARGUMENT");
        assertThat(r.answers().get(0).getError().getReason()).isEqualTo("EMPTY_IMAGE");
        assertThat(r.answers().get(0).getError().hasRetryAfter()).isFalse();
    }

    record StreamResult(List<ScoreResponse> answers, Status status, Throwable error) {}

    /** Sends raw messages on one ScoreStream, half-closes, and collects the answers and the final status. */
    private StreamResult stream(List<byte[]> messages) throws Exception {
        List<ScoreResponse> answers = new java.util.concurrent.CopyOnWriteArrayList<>();
        CompletableFuture<Throwable> end = new CompletableFuture<>();
        StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(
                channel.newCall(RAW_STREAM, CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS)),
                new StreamObserver<>() {
                    @Override
                    public void onNext(ScoreResponse r) {
                        answers.add(r);
                    }

                    @Override
                    public void onError(Throwable t) {
                        end.complete(t);
                    }

                    @Override
                    public void onCompleted() {
                        end.complete(null);
                    }
                });
        messages.forEach(requests::onNext);
        requests.onCompleted();
        Throwable error = end.get(60, TimeUnit.SECONDS);
        return new StreamResult(answers, error == null ? Status.OK : Status.fromThrowable(error), error);
    }

    @Test
    void health_answers_not_found_for_an_unknown_service_and_serving_for_known_ones() throws Exception {
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
        assertThatThrownBy(() -> health.check(HealthCheckRequest.newBuilder()
                        .setService("no.such.Service")
                        .build()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThat(health.check(HealthCheckRequest.newBuilder()
                                .setService("inference.GRPCInferenceService")
                                .build())
                        .getStatus())
                .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        // Watch of an unknown name streams SERVICE_UNKNOWN (3) and stays open
        Iterator<HealthCheckResponse> watch = HealthGrpc.newBlockingStub(channel)
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .watch(HealthCheckRequest.newBuilder()
                        .setService("no.such.Service")
                        .build());
        assertThat(watch.next().getStatusValue()).isEqualTo(UnknownHealthServiceStatus.SERVICE_UNKNOWN);
    }

    private List<LogRecord> logged(java.util.function.Predicate<LogRecord> p) {
        synchronized (capture) {
            return logged.stream().filter(p).toList();
        }
    }

    private static String reason(Throwable e) {
        com.google.rpc.Status details = StatusProto.fromThrowable(e);
        assertThat(details).as("status details from the server").isNotNull();
        return details.getDetailsList().stream()
                .filter(a -> a.is(ErrorInfo.class))
                .map(a -> {
                    try {
                        return a.unpack(ErrorInfo.class).getReason();
                    } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
                        throw new AssertionError(ex);
                    }
                })
                .findFirst()
                .orElseThrow();
    }

    /** grpc.health.v1's SERVICE_UNKNOWN, missing from the health.proto bundled with Quarkus. */
    private static final class UnknownHealthServiceStatus {
        static final int SERVICE_UNKNOWN = 3;
    }
}
