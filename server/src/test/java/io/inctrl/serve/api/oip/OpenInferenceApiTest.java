package io.inctrl.serve.api.oip;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;

import com.google.protobuf.ByteString;
import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.inctrl.serve.api.inference.GRPCInferenceServiceGrpc;
import io.inctrl.serve.api.inference.InferParameter;
import io.inctrl.serve.api.inference.InferTensorContents;
import io.inctrl.serve.api.inference.ModelInferRequest;
import io.inctrl.serve.api.inference.ModelInferResponse;
import io.inctrl.serve.api.inference.ModelMetadataRequest;
import io.inctrl.serve.api.inference.ModelMetadataResponse;
import io.inctrl.serve.api.inference.ModelReadyRequest;
import io.inctrl.serve.api.inference.ServerLiveRequest;
import io.inctrl.serve.api.inference.ServerReadyRequest;
import io.inctrl.serve.api.v1.InlinePrompts;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.testing.GrpcTestChannels;
import io.inctrl.serve.testing.TestAssets;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.ExtractableResponse;
import io.restassured.response.Response;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Open Inference Protocol mapping through the running server (tiny InCTRL bundle): gRPC GRPCInferenceService and
 * REST /v2 give exactly the scores of {@code inctrl.v1.Scorer.Score}, in both tensor encodings of each transport.
 */
@QuarkusTest
class OpenInferenceApiTest {

    /** The tiny bundle's directory name: the model name of a server serving one bundle. */
    private static final String MODEL = "tiny";
    /** Its bundle id, which older clients used as the model name and which still names it. */
    private static final String BUNDLE_ID = "inctrl-tiny-random-seed7";

    private static final List<String> QUERIES =
            List.of("elpv/mono/test/good/cell0369.png", "headct/head_ct/shots/116.png");
    private static final String SHOT = "elpv/mono/shots/cell0449.png";

    @TestHTTPResource("/")
    URL url;

    private ManagedChannel channel;
    private GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub oip;
    private ScorerGrpc.ScorerBlockingStub scorer;

    @BeforeEach
    void open() {
        channel = GrpcTestChannels.open(url);
        oip = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        scorer = ScorerGrpc.newBlockingStub(channel);
    }

    @AfterEach
    void close() throws InterruptedException {
        GrpcTestChannels.close(channel);
    }

    @Test
    void grpc_health_and_metadata_describe_the_served_bundle() {
        assertThat(oip.serverLive(ServerLiveRequest.getDefaultInstance()).getLive())
                .isTrue();
        assertThat(oip.serverReady(ServerReadyRequest.getDefaultInstance()).getReady())
                .isTrue();
        assertThat(HealthGrpc.newBlockingStub(channel)
                        .check(HealthCheckRequest.newBuilder()
                                .setService("inference.GRPCInferenceService")
                                .build())
                        .getStatus())
                .isEqualTo(ServingStatus.SERVING);
        assertThat(oip.modelReady(ModelReadyRequest.newBuilder().setName(MODEL).build())
                        .getReady())
                .isTrue();
        ModelMetadataResponse m = oip.modelMetadata(
                ModelMetadataRequest.newBuilder().setName(MODEL).build());
        assertThat(m.getName()).isEqualTo(MODEL);
        // the bundle id still names the model (the single-bundle server's model name before models existed)
        assertThat(oip.modelMetadata(ModelMetadataRequest.newBuilder()
                                .setName(BUNDLE_ID)
                                .build())
                        .getName())
                .isEqualTo(MODEL);
        assertThat(m.getPlatform()).isEqualTo("inctrl@fp32"); // kind@precision: gRPC metadata has no parameters
        assertThat(m.getVersionsList()).containsExactly("1");
        assertThat(m.getInputsList())
                .extracting(ModelMetadataResponse.TensorMetadata::getName)
                .containsExactly("image", "shots");
        assertThat(m.getOutputsList())
                .extracting(ModelMetadataResponse.TensorMetadata::getName)
                .containsExactly("score", "map", "is_anomalous", "s_p", "s_i", "s_a", "s_h");
        assertThat(m.getOutputs(1).getShapeList()).containsExactly(-1L, 15L, 15L);
        assertThatThrownBy(() -> oip.modelMetadata(
                        ModelMetadataRequest.newBuilder().setName("other").build()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    }

    @Test
    void grpc_infer_scores_each_image_as_score_does_in_raw_and_typed_contents() throws IOException {
        ModelInferRequest typed = ModelInferRequest.newBuilder()
                .setModelName(MODEL)
                .setId("batch")
                .putParameters(
                        "category",
                        InferParameter.newBuilder().setStringParam("mono").build())
                .addInputs(bytesInput("image", QUERIES)
                        .setContents(InferTensorContents.newBuilder()
                                .addBytesContents(image(QUERIES.get(0)))
                                .addBytesContents(image(QUERIES.get(1)))))
                .addInputs(bytesInput("shots", List.of(SHOT))
                        .setContents(InferTensorContents.newBuilder().addBytesContents(image(SHOT))))
                .build();
        ModelInferRequest raw = typed.toBuilder()
                .setInputs(0, typed.getInputs(0).toBuilder().clearContents())
                .setInputs(1, typed.getInputs(1).toBuilder().clearContents())
                .addRawInputContents(serialized(QUERIES))
                .addRawInputContents(serialized(List.of(SHOT)))
                .build();
        for (ModelInferRequest request : List.of(typed, raw)) {
            ModelInferResponse r = oip.modelInfer(request);
            assertThat(r.getModelName()).isEqualTo(MODEL);
            assertThat(r.getId()).isEqualTo("batch");
            assertThat(r.getOutputsList())
                    .extracting(ModelInferResponse.InferOutputTensor::getName)
                    .as("no threshold with inline shots: no is_anomalous")
                    .containsExactly("score", "map", "s_p", "s_i", "s_a", "s_h");
            float[] scores = floats(r.getRawOutputContents(0));
            float[] map = floats(r.getRawOutputContents(1));
            assertThat(r.getOutputs(1).getShapeList()).containsExactly(2L, 15L, 15L);
            for (int i = 0; i < QUERIES.size(); i++) {
                ScoreResponse expected = scorer.score(ScoreRequest.newBuilder()
                        .setImage(image(QUERIES.get(i)))
                        .setInline(
                                InlinePrompts.newBuilder().addShots(image(SHOT)).setCategory("mono"))
                        .build());
                // the request's images decode in parallel and may share a device batch with each other, and a batch's
                // size changes the kernels' summation order (~1e-7): equal within 1e-6, as the tritonclient test
                assertThat(scores[i]).as("score of image " + i).isCloseTo(expected.getScore(), within(1e-6f));
                assertThat(map[i * 225 + 17]).isCloseTo(expected.getMap(17), within(1e-6f));
                assertThat(floats(r.getRawOutputContents(3))[i]).isCloseTo(expected.getSI(), within(1e-6f));
            }
        }
    }

    /**
     * A request's inline shots are encoded once for all its images (they were encoded again for every image): the
     * model's job count grows by the images plus the shots, not images x shots.
     */
    @Test
    void grpc_infer_encodes_a_requests_inline_shots_once_for_all_its_images() throws IOException {
        List<String> shots = List.of(SHOT, "elpv/mono/shots/cell0988.png", "elpv/mono/shots/cell0990.png");
        List<String> images = List.of(
                QUERIES.get(0), QUERIES.get(1), "elpv/mono/test/good/cell0369.png", "headct/head_ct/shots/116.png");
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder()
                .setModelName(MODEL)
                .putParameters(
                        "category",
                        InferParameter.newBuilder().setStringParam("mono").build())
                .addInputs(bytesInput("image", images))
                .addInputs(bytesInput("shots", shots))
                .addRawInputContents(serialized(images))
                .addRawInputContents(serialized(shots));
        long before = jobs();
        ModelInferResponse r = oip.modelInfer(request.build());
        assertThat(r.getOutputs(0).getShapeList()).containsExactly(4L);
        assertThat(jobs() - before).isEqualTo(images.size() + shots.size());
    }

    /** Jobs the served version ran (its statistics' inference count). */
    private long jobs() {
        return oip
                .modelStatistics(io.inctrl.serve.api.inference.ModelStatisticsRequest.newBuilder()
                        .setName(MODEL)
                        .build())
                .getModelStatsList()
                .stream()
                .mapToLong(io.inctrl.serve.api.inference.ModelStatistics::getInferenceCount)
                .sum();
    }

    @Test
    void grpc_infer_errors_follow_the_error_model() {
        ModelInferRequest.Builder good = ModelInferRequest.newBuilder()
                .setModelName(MODEL)
                .putParameters(
                        "category",
                        InferParameter.newBuilder().setStringParam("mono").build())
                .addInputs(bytesInput("image", List.of("a", "b")))
                .addInputs(bytesInput("shots", List.of(SHOT)))
                .addRawInputContents(serialized(List.of(QUERIES.get(0))).concat(garbage()))
                .addRawInputContents(serialized(List.of(SHOT)));
        assertCode(good.clone(), Status.Code.INVALID_ARGUMENT, "image 1");
        assertCode(good.clone().setModelName("nope"), Status.Code.NOT_FOUND, "nope");
        assertCode(
                good.clone()
                        .putParameters(
                                "prompt_set_id",
                                InferParameter.newBuilder().setStringParam("ps").build()),
                Status.Code.INVALID_ARGUMENT,
                "not both");
        assertCode(
                good.clone().setRawInputContents(0, ByteString.copyFrom(new byte[] {9, 0, 0, 0, 1})),
                Status.Code.INVALID_ARGUMENT,
                "malformed");
    }

    @Test
    void rest_health_metadata_and_unknown_models() {
        given().get("/v2/health/live").then().statusCode(200);
        given().get("/v2/health/ready").then().statusCode(200);
        given().get("/v2").then().statusCode(200).body("name", equalTo("inctrl-serve"));
        given().get("/v2/models/" + MODEL + "/ready").then().statusCode(200);
        given().get("/v2/models/" + MODEL)
                .then()
                .statusCode(200)
                .body("name", equalTo(MODEL))
                .body("platform", equalTo("inctrl@fp32"))
                .body("parameters.precision", equalTo("fp32"))
                .body("parameters.kind", equalTo("inctrl"))
                .body("outputs.name", hasItems("score", "map", "s_h"))
                .body("outputs.find { it.name == 'map' }.shape", equalTo(List.of(-1, 15, 15)));
        given().get("/v2/models/nope/ready")
                .then()
                .statusCode(404)
                .body("error", containsString("nope"))
                .body("reason", equalTo("NOT_FOUND"));
    }

    @Test
    void rest_infer_takes_the_inspection_parameter_and_refuses_unknown_modes() {
        ScoreResponse expected = scorer.score(ScoreRequest.newBuilder()
                .setImage(image(QUERIES.get(0)))
                .setInline(InlinePrompts.newBuilder()
                        .addShots(image(SHOT))
                        .setCategory("mono")
                        .setInspection(io.inctrl.serve.api.v1.Inspection.INSPECTION_TILES))
                .build());
        Base64.Encoder b64 = Base64.getEncoder();
        java.util.function.Function<String, String> body = mode -> "{\"parameters\":{\"category\":\"mono\","
                + "\"inspection\":\"" + mode + "\"},\"inputs\":["
                + "{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\""
                + b64.encodeToString(image(QUERIES.get(0)).toByteArray()) + "\"]},"
                + "{\"name\":\"shots\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\""
                + b64.encodeToString(image(SHOT).toByteArray()) + "\"]}],"
                + "\"outputs\":[{\"name\":\"score\"}]}";
        given().contentType("application/json")
                .body(body.apply("tiles"))
                .post("/v2/models/" + MODEL + "/infer")
                .then()
                .statusCode(200)
                .body("outputs[0].data[0]", equalTo(expected.getScore()));
        given().contentType("application/json")
                .body(body.apply("mosaic"))
                .post("/v2/models/" + MODEL + "/infer")
                .then()
                .statusCode(400)
                .body("reason", equalTo("INVALID_INSPECTION"));
    }

    @Test
    void rest_infer_in_json_and_in_the_binary_extension_gives_the_score_of_score() throws IOException {
        ScoreResponse expected = scorer.score(ScoreRequest.newBuilder()
                .setImage(image(QUERIES.get(0)))
                .setInline(InlinePrompts.newBuilder().addShots(image(SHOT)).setCategory("mono"))
                .build());
        Base64.Encoder b64 = Base64.getEncoder();
        String json = "{\"id\":\"j\",\"parameters\":{\"category\":\"mono\"},\"inputs\":["
                + "{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\""
                + b64.encodeToString(image(QUERIES.get(0)).toByteArray()) + "\"]},"
                + "{\"name\":\"shots\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\""
                + b64.encodeToString(image(SHOT).toByteArray()) + "\"]}],"
                + "\"outputs\":[{\"name\":\"score\"},{\"name\":\"s_i\"}]}";
        given().contentType("application/json")
                .body(json)
                .post("/v2/models/" + MODEL + "/infer")
                .then()
                .statusCode(200)
                .body("id", equalTo("j"))
                .body("outputs.name", equalTo(List.of("score", "s_i")))
                .body("outputs[0].data[0]", equalTo(expected.getScore()))
                .body("outputs[1].data[0]", equalTo(expected.getSI()));

        // what tritonclient.http sends: a JSON header, then each input's raw BYTES, and binary outputs back
        byte[] q = serialized(List.of(QUERIES.get(0))).toByteArray();
        byte[] s = serialized(List.of(SHOT)).toByteArray();
        String binaryInput =
                "{\"name\":\"%s\",\"datatype\":\"BYTES\",\"shape\":[1]," + "\"parameters\":{\"binary_data_size\":%d}}";
        byte[] header = ("{\"parameters\":{\"category\":\"mono\",\"binary_data_output\":true},\"inputs\":["
                        + binaryInput.formatted("image", q.length) + "," + binaryInput.formatted("shots", s.length)
                        + "]}")
                .getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(header);
        body.write(q);
        body.write(s);
        ExtractableResponse<Response> r = given().header("Inference-Header-Content-Length", header.length)
                .body(body.toByteArray())
                .post("/v2/models/" + MODEL + "/infer")
                .then()
                .statusCode(200)
                .extract();
        int jsonLength = Integer.parseInt(r.header("Inference-Header-Content-Length"));
        byte[] all = r.asByteArray();
        String responseJson = new String(all, 0, jsonLength, StandardCharsets.UTF_8);
        assertThat(responseJson).contains("\"name\":\"score\"").contains("\"binary_data_size\":4");
        assertThat(floats(ByteString.copyFrom(all, jsonLength, 4))[0]).isEqualTo(expected.getScore());

        given().header("Inference-Header-Content-Length", header.length)
                .body(java.util.Arrays.copyOf(body.toByteArray(), header.length + 10))
                .post("/v2/models/" + MODEL + "/infer")
                .then()
                .statusCode(400)
                .body("error", containsString("binary_data_size"));
    }

    private static ModelInferRequest.InferInputTensor.Builder bytesInput(String name, List<String> elements) {
        return ModelInferRequest.InferInputTensor.newBuilder()
                .setName(name)
                .setDatatype("BYTES")
                .addShape(elements.size());
    }

    private void assertCode(ModelInferRequest.Builder request, Status.Code code, String messagePart) {
        assertThatThrownBy(() -> oip.modelInfer(request.build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(code);
                    assertThat(e.getStatus().getDescription()).containsIgnoringCase(messagePart);
                });
    }

    private static ByteString garbage() {
        byte[] junk = "not an image".getBytes(StandardCharsets.UTF_8);
        return ByteString.copyFrom(ByteBuffer.allocate(4 + junk.length)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putInt(junk.length)
                .put(junk)
                .array());
    }

    /** tritonclient's BYTES serialisation: a 4-byte little-endian length before each element. */
    private static ByteString serialized(List<String> images) {
        ByteString out = ByteString.EMPTY;
        for (String p : images) {
            ByteString img = image(p);
            out = out.concat(ByteString.copyFrom(ByteBuffer.allocate(4)
                            .order(ByteOrder.LITTLE_ENDIAN)
                            .putInt(img.size())
                            .array()))
                    .concat(img);
        }
        return out;
    }

    private static float[] floats(ByteString raw) {
        ByteBuffer b = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[raw.size() / 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = b.getFloat();
        }
        return v;
    }

    private static ByteString image(String relative) {
        try {
            return ByteString.copyFrom(Files.readAllBytes(TestAssets.dataDir().resolve(relative)));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
