package io.inctrl.serve.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.inctrl.serve.api.v1.ModelInfo;
import io.inctrl.serve.api.v1.ModelInfoRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The default bundle is a generic patch-kNN detector: the API must say so, report only s_p (the other InCTRL
 * signals absent, not zero) and return the map at the bundle's own grid.
 */
@QuarkusTest
@TestProfile(PatchResidualBundleProfile.class)
class PatchResidualServingTest {

    @GrpcClient("scorer")
    ScorerGrpc.ScorerBlockingStub scorer;

    @GrpcClient("scorer")
    io.inctrl.serve.api.v1.PromptRegistryGrpc.PromptRegistryBlockingStub registry;

    @Test
    void model_info_names_the_mode_and_the_weights_honestly() {
        ModelInfo info = scorer.getModelInfo(ModelInfoRequest.getDefaultInstance());
        assertThat(info.getKind()).isEqualTo("patch-residual");
        assertThat(info.getMode()).contains("not InCTRL");
        assertThat(info.getWeightsDescription()).contains("ImageNet").contains("not InCTRL");
        assertThat(info.getRandomWeights()).isFalse();
        assertThat(info.getMapHeight()).isEqualTo(17);
        assertThat(info.getImageSize()).isEqualTo(299);
    }

    @Test
    void scores_are_the_patch_residual_alone_and_rank_a_defect_above_a_normal_cell() {
        List<String> shots = List.of(
                "elpv/mono/shots/cell0449.png",
                "elpv/mono/shots/cell0988.png",
                "elpv/mono/shots/cell0990.png",
                "elpv/mono/shots/cell1051.png");
        ScoreResponse self = scorer.score(ScorerGrpcServiceTest.request("self", shots.get(0), shots, ""));
        assertThat(self.getScore()).as("a shot scored against its own set").isLessThan(1e-5f);

        ScoreResponse r = scorer.score(
                ScorerGrpcServiceTest.request("q", "elpv/mono/test/defective/cell0039.png", shots, "ignored category"));
        assertThat(r.hasSH()).isFalse();
        assertThat(r.hasSI()).isFalse();
        assertThat(r.hasSA()).isFalse();
        assertThat(r.getScore()).isEqualTo(r.getSP());
        assertThat(r.getMapCount()).isEqualTo(17 * 17);
        assertThat(r.getMapHeight()).isEqualTo(17);
        float max = 0;
        for (float v : r.getMapList()) {
            assertThat(v).isBetween(0f, 1f);
            max = Math.max(max, v);
        }
        assertThat(r.getSP()).isEqualTo(max);
    }

    @Test
    void inline_scoring_needs_no_category_and_ignores_one_given() {
        List<String> shots = List.of("elpv/mono/shots/cell0449.png", "elpv/mono/shots/cell0988.png");
        String query = "elpv/mono/test/defective/cell0039.png";
        ScoreResponse without = scorer.score(ScorerGrpcServiceTest.request("no-cat", query, shots, ""));
        ScoreResponse blank = scorer.score(ScorerGrpcServiceTest.request("blank-cat", query, shots, "   "));
        ScoreResponse with = scorer.score(ScorerGrpcServiceTest.request("cat", query, shots, "mono"));
        assertThat(without.getScore()).isGreaterThan(0f);
        assertThat(blank.getScore()).isEqualTo(without.getScore());
        assertThat(with.getScore()).isEqualTo(without.getScore());
        assertThat(with.getMapList()).isEqualTo(without.getMapList());
        assertThat(without.hasSA()).isFalse();
    }

    @Test
    void a_template_attached_to_a_prompt_set_is_flagged_as_having_no_effect() {
        String templateId = io.restassured.RestAssured.given()
                .contentType("application/json")
                .body(java.util.Map.of(
                        "name", "no-effect-templates",
                        "normalStates", List.of("{}", "flawless {}"),
                        "anomalousStates", List.of("damaged {}"),
                        "templates", List.of("a photo of a {}.")))
                .post("/v1/templates")
                .then()
                .statusCode(201)
                .extract()
                .path("id");
        List<String> shots = List.of("mvtec_ad/transistor/shots/013.png", "mvtec_ad/transistor/shots/021.png");

        List<String> withTemplate = register("with-template", templateId, shots)
                .statusCode(201)
                .extract()
                .path("warnings");
        assertThat(withTemplate).singleElement().asString().contains(templateId).contains("has no effect");
        List<String> withDefaults =
                register("with-defaults", null, shots).statusCode(201).extract().path("warnings");
        assertThat(withDefaults)
                .as("the built-in templates were not chosen: nothing to flag")
                .isEmpty();
    }

    private static io.restassured.response.ValidatableResponse register(
            String name, String templateId, List<String> shots) {
        io.restassured.specification.RequestSpecification r =
                io.restassured.RestAssured.given().multiPart("name", name).multiPart("category", "transistor");
        if (templateId != null) {
            r.multiPart("templateId", templateId);
        }
        for (String s : shots) {
            r.multiPart(
                    "shots",
                    s.substring(s.lastIndexOf('/') + 1),
                    ScorerGrpcServiceTest.bytes(s).toByteArray(),
                    "image/png");
        }
        return r.post("/v1/prompt-sets").then();
    }

    @Test
    void a_prompt_set_registers_calibrates_and_scores_by_id_without_a_text_encoder() {
        io.inctrl.serve.api.v1.CreatePromptSetRequest.Builder req =
                io.inctrl.serve.api.v1.CreatePromptSetRequest.newBuilder()
                        .setName("patch-residual-set")
                        .setCategory("transistor");
        for (String s : List.of(
                "mvtec_ad/transistor/shots/013.png",
                "mvtec_ad/transistor/shots/021.png",
                "mvtec_ad/transistor/shots/121.png")) {
            req.addShots(ScorerGrpcServiceTest.bytes(s));
        }
        io.inctrl.serve.api.v1.PromptSet set = registry.createPromptSet(req.build());
        assertThat(set.getCalibration().getShotScoresCount()).isEqualTo(3);
        ScoreResponse r = scorer.score(io.inctrl.serve.api.v1.ScoreRequest.newBuilder()
                .setRequestId("by-id")
                .setImage(ScorerGrpcServiceTest.bytes("mvtec_ad/transistor/shots/148.png"))
                .setPromptSetId(set.getId())
                .build());
        assertThat(r.hasSA()).isFalse();
        assertThat(r.getScore()).isEqualTo(r.getSP()).isBetween(0f, 1f);
        assertThat(r.hasIsAnomalous()).isTrue();
    }
}
