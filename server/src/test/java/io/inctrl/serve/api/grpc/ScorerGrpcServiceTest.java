package io.inctrl.serve.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.inctrl.serve.api.v1.InlinePrompts;
import io.inctrl.serve.api.v1.ModelInfo;
import io.inctrl.serve.api.v1.ModelInfoRequest;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.Scorer;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.testing.Fixtures;
import io.inctrl.serve.testing.TestAssets;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.mutiny.Multi;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Real gRPC calls through the running server (tiny random-init bundle), checked against the Python reference. */
@QuarkusTest
public class ScorerGrpcServiceTest {

    @GrpcClient("scorer")
    ScorerGrpc.ScorerBlockingStub blocking;

    @GrpcClient("scorer")
    Scorer mutiny;

    @Test
    void unary_score_matches_python_reference_end_to_end_including_preprocessing() {
        Fixtures fixtures = new Fixtures(TestAssets.bundle("tiny"));
        for (Fixtures.Case c : fixtures.cases()) {
            ScoreResponse r = blocking.score(request(c.name(), c.query(), c.shots(), c.category()));
            assertThat(r.getRequestId()).isEqualTo(c.name());
            assertThat(r.getScore()).as(c.name() + " score").isCloseTo(c.scalar("score"), offset(1e-4f));
            assertThat(r.getSH()).as(c.name() + " s_h").isCloseTo(c.scalar("s_h"), offset(1e-4f));
            assertThat(r.getSP()).as(c.name() + " s_p").isCloseTo(c.scalar("s_p"), offset(1e-4f));
            assertThat(r.getSI()).as(c.name() + " s_i").isCloseTo(c.scalar("s_i"), offset(1e-4f));
            assertThat(r.getSA()).as(c.name() + " s_a").isCloseTo(c.scalar("s_a"), offset(1e-4f));
            assertThat(r.getMapList()).hasSize(225);
            float[] expected = c.arrays().get("M");
            for (int i = 0; i < 225; i++) {
                assertThat(r.getMap(i)).as(c.name() + " M[" + i + "]").isCloseTo(expected[i], offset(1e-4f));
            }
            assertThat(r.getMapHeight()).isEqualTo(15);
            assertThat(r.getMapWidth()).isEqualTo(15);
            assertThat(r.getBundleId()).isEqualTo("inctrl-tiny-random-seed7");
            assertThat(r.getTimings().getTotalUs()).isPositive();
            assertThat(r.hasIsAnomalous())
                    .as("inline prompts carry no threshold")
                    .isFalse();
        }
    }

    @Test
    void omit_map_leaves_the_map_out() {
        ScoreRequest req = request(
                        "x",
                        "mvtec_ad/transistor/test/good/" + firstFile("mvtec_ad/transistor/test/good"),
                        List.of("mvtec_ad/transistor/shots/013.png"),
                        "transistor")
                .toBuilder()
                .setOmitMap(true)
                .build();
        ScoreResponse r = blocking.score(req);
        assertThat(r.getMapCount()).isZero();
        assertThat(r.getScore()).isBetween(0f, 1f);
    }

    @Test
    void undecodable_empty_and_promptless_requests_are_invalid_argument_with_a_reason() {
        ScoreRequest good =
                request("a", "elpv/mono/test/good/cell0369.png", List.of("elpv/mono/shots/cell0449.png"), "mono");
        assertStatus(
                good.toBuilder()
                        .setImage(ByteString.copyFromUtf8("definitely not an image"))
                        .build(),
                Status.Code.INVALID_ARGUMENT,
                "image");
        assertStatus(good.toBuilder().setImage(ByteString.EMPTY).build(), Status.Code.INVALID_ARGUMENT, "empty");
        assertStatus(good.toBuilder().clearInline().build(), Status.Code.INVALID_ARGUMENT, "prompt");
        assertStatus(
                good.toBuilder()
                        .setInline(good.getInline().toBuilder().setCategory(""))
                        .build(),
                Status.Code.INVALID_ARGUMENT,
                "category");
        ScoreRequest badShot = good.toBuilder()
                .setInline(good.getInline().toBuilder()
                        .addShots(ByteString.copyFrom(new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3})))
                .build();
        assertStatus(badShot, Status.Code.INVALID_ARGUMENT, "shot 1 (0-based)");
    }

    @Test
    void stream_of_100_images_returns_100_correlated_responses() {
        List<String> queries = new ArrayList<>();
        for (String dir : List.of(
                "elpv/mono/test/good",
                "elpv/mono/test/defective",
                "headct/head_ct/test/good",
                "mvtec_ad/transistor/test/good")) {
            for (String f : files(dir)) {
                queries.add(dir + "/" + f);
            }
        }
        List<String> shots = List.of("elpv/mono/shots/cell0449.png", "elpv/mono/shots/cell0988.png");
        Map<String, String> byId = new HashMap<>();
        List<ScoreRequest> requests = IntStream.range(0, 100)
                .mapToObj(i -> {
                    String q = queries.get(i % queries.size());
                    byId.put("req-" + i, q);
                    return request("req-" + i, q, shots, "mono");
                })
                .toList();

        List<ScoreResponse> responses = mutiny.scoreStream(Multi.createFrom().iterable(requests))
                .collect()
                .asList()
                .await()
                .atMost(Duration.ofMinutes(3));

        assertThat(responses).hasSize(100);
        assertThat(responses.stream().map(ScoreResponse::getRequestId).collect(Collectors.toSet()))
                .isEqualTo(byId.keySet());
        Map<String, Float> unaryByImage = new HashMap<>();
        for (ScoreResponse r : responses) {
            assertThat(r.hasError())
                    .as(r.getRequestId() + " error " + r.getError())
                    .isFalse();
            String image = byId.get(r.getRequestId());
            float unary = unaryByImage.computeIfAbsent(
                    image, q -> blocking.score(request("u", q, shots, "mono")).getScore());
            assertThat(r.getScore()).as(r.getRequestId() + " same as unary").isCloseTo(unary, offset(1e-5f));
        }
    }

    @Test
    void a_bad_image_in_a_stream_fails_only_its_own_request() {
        List<String> shots = List.of("headct/head_ct/shots/116.png");
        List<ScoreRequest> requests = List.of(
                request("ok-1", "headct/head_ct/test/good/" + firstFile("headct/head_ct/test/good"), shots, "head_ct"),
                request("bad", "headct/head_ct/shots/120.png", shots, "head_ct").toBuilder()
                        .setImage(ByteString.copyFromUtf8("garbage"))
                        .build(),
                request("ok-2", "headct/head_ct/shots/121.png", shots, "head_ct"));
        Map<String, ScoreResponse> got = mutiny
                .scoreStream(Multi.createFrom().iterable(requests))
                .collect()
                .asList()
                .await()
                .atMost(Duration.ofMinutes(1))
                .stream()
                .collect(Collectors.toMap(ScoreResponse::getRequestId, r -> r));
        assertThat(got).containsOnlyKeys("ok-1", "bad", "ok-2");
        assertThat(got.get("bad").getError().getCode()).isEqualTo("INVALID_ARGUMENT");
        assertThat(got.get("bad").getError().getMessage()).isNotBlank();
        assertThat(got.get("ok-1").hasError()).isFalse();
        assertThat(got.get("ok-2").hasError()).isFalse();
    }

    @Test
    void model_info_states_the_weights_are_random() {
        ModelInfo info = blocking.getModelInfo(ModelInfoRequest.getDefaultInstance());
        assertThat(info.getRandomWeights()).isTrue();
        assertThat(info.getWeightsDescription()).contains("random");
        assertThat(info.getBundleId()).isEqualTo("inctrl-tiny-random-seed7");
        assertThat(info.getKind()).isEqualTo("inctrl");
        assertThat(info.getTappedBlocksList()).containsExactly(7, 9, 11);
        assertThat(info.getManifestJson()).contains("\"format_version\"");
        assertThat(info.getDevicesList()).isNotEmpty();
        assertThat(info.getPrecision()).isEqualTo("fp32"); // inctrl.model.precision's default
    }

    private void assertStatus(ScoreRequest req, Status.Code code, String messagePart) {
        assertThatThrownBy(
                        () -> blocking.withDeadlineAfter(60, TimeUnit.SECONDS).score(req))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(code);
                    assertThat(e.getStatus().getDescription()).containsIgnoringCase(messagePart);
                });
    }

    public static ScoreRequest request(String id, String query, List<String> shots, String category) {
        InlinePrompts.Builder inline = InlinePrompts.newBuilder().setCategory(category);
        shots.forEach(s -> inline.addShots(bytes(s)));
        return ScoreRequest.newBuilder()
                .setRequestId(id)
                .setImage(bytes(query))
                .setInline(inline)
                .build();
    }

    static ByteString bytes(String relative) {
        try {
            return ByteString.copyFrom(Files.readAllBytes(TestAssets.dataDir().resolve(relative)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<String> files(String relativeDir) {
        try (var s = Files.list(TestAssets.dataDir().resolve(relativeDir))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String firstFile(String relativeDir) {
        return files(relativeDir).get(0);
    }
}
