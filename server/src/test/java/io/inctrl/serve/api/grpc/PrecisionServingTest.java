package io.inctrl.serve.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import ai.djl.Device;
import io.grpc.ManagedChannel;
import io.inctrl.serve.api.inference.GRPCInferenceServiceGrpc;
import io.inctrl.serve.api.inference.ModelMetadataRequest;
import io.inctrl.serve.api.v1.ModelInfo;
import io.inctrl.serve.api.v1.ModelInfoRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.image.ImageDecoder;
import io.inctrl.serve.image.ImagePreprocessor;
import io.inctrl.serve.image.PreprocessConfig;
import io.inctrl.serve.model.BundleManifest;
import io.inctrl.serve.model.ComputePrecision;
import io.inctrl.serve.model.InctrlEngine;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.testing.GrpcTestChannels;
import io.inctrl.serve.testing.TestAssets;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The committed default bundle served at bf16 (inctrl.model.precision): every API names the precision, and the scores
 * the server returns sit within the manifest's bf16 parity bound of an fp32 engine's scores for the same images.
 */
@QuarkusTest
@TestProfile(PrecisionServingTest.Bf16Profile.class)
class PrecisionServingTest {

    static final String BUNDLE = "../models/nsfwjs-inception-v3";

    public static class Bf16Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("inctrl.model.bundle", BUNDLE, "inctrl.model.precision", "bf16");
        }
    }

    private static final List<String> SHOTS = List.of(
            "mvtec_ad/transistor/shots/013.png",
            "mvtec_ad/transistor/shots/021.png",
            "mvtec_ad/transistor/shots/121.png",
            "mvtec_ad/transistor/shots/148.png");
    private static final List<String> QUERIES = List.of(
            "mvtec_ad/transistor/test/good/006.png",
            "mvtec_ad/transistor/test/bent_lead/002.png",
            "elpv/mono/test/defective/cell0039.png");

    @GrpcClient("scorer")
    ScorerGrpc.ScorerBlockingStub scorer;

    @TestHTTPResource("/")
    URL url;

    @Test
    void model_info_rest_and_open_inference_metadata_name_the_precision() throws InterruptedException {
        ModelInfo info = scorer.getModelInfo(ModelInfoRequest.getDefaultInstance());
        assertThat(info.getPrecision()).isEqualTo("bf16");
        assertThat(info.getManifestJson()).contains("\"variants\"");
        RestAssured.given().get("/v1/model").then().statusCode(200).body("precision", equalTo("bf16"));
        String model = info.getBundleId();
        RestAssured.given()
                .get("/v2/models/" + model)
                .then()
                .statusCode(200)
                .body("platform", equalTo("patch-residual@bf16"))
                .body("parameters.precision", equalTo("bf16"));
        ManagedChannel channel = GrpcTestChannels.open(url);
        try {
            assertThat(GRPCInferenceServiceGrpc.newBlockingStub(channel)
                            .modelMetadata(ModelMetadataRequest.newBuilder()
                                    .setName(model)
                                    .build())
                            .getPlatform())
                    .isEqualTo("patch-residual@bf16");
        } finally {
            GrpcTestChannels.close(channel);
        }
    }

    @Test
    void served_scores_are_within_the_manifest_bound_of_fp32() throws IOException {
        Path bundle = Path.of(BUNDLE);
        BundleManifest manifest = BundleManifest.read(bundle);
        double bound = manifest.variant(ComputePrecision.BF16)
                .orElseThrow()
                .parityBound("score")
                .orElseThrow();
        BundleManifest.Image img = manifest.image();
        ImagePreprocessor pre = new ImagePreprocessor(new PreprocessConfig(img.size(), img.mean(), img.std()));
        ImageDecoder decoder = new ImageDecoder();
        double worst = 0;
        try (InctrlEngine fp32 = InctrlEngine.load(bundle, Device.cpu(), 1L << 26, ComputePrecision.FP32)) {
            List<float[]> shots = new ArrayList<>();
            for (String s : SHOTS) {
                shots.add(pre.tensor(
                        decoder.decode(Files.readAllBytes(TestAssets.dataDir().resolve(s)))));
            }
            PromptFeatures prompts = fp32.encode(shots).pool();
            for (String q : QUERIES) {
                float[] px = pre.tensor(
                        decoder.decode(Files.readAllBytes(TestAssets.dataDir().resolve(q))));
                InctrlScores want = fp32.encodeAndScore(List.of(px), List.of(prompts), List.of(TextPrior.NONE))
                        .get(0);
                ScoreResponse got = scorer.score(ScorerGrpcServiceTest.request(q, q, SHOTS, ""));
                double d = Math.abs(got.getScore() - want.score());
                assertThat(d)
                        .as("%s: |served bf16 - fp32| (bound %s)", q, bound)
                        .isLessThanOrEqualTo(bound);
                worst = Math.max(worst, d);
            }
        }
        // the same score as fp32 to the last bit would mean the bf16 files are not what served
        assertThat(worst).as("largest |bf16 - fp32| over the queries").isGreaterThan(1e-6);
    }
}
