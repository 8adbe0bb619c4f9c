package io.inctrl.serve.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.inctrl.serve.api.v1.CreatePromptSetRequest;
import io.inctrl.serve.api.v1.ModelInfo;
import io.inctrl.serve.api.v1.ModelInfoRequest;
import io.inctrl.serve.api.v1.PromptRegistryGrpc;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import java.util.List;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * A residual-heads bundle through the real server: s_h and s_i present, s_a absent (not zero), the final score is
 * (s_h + s_p) / 2, the category is ignored, and the API names the bundle as not being the CLIP InCTRL checkpoint.
 */
@QuarkusTest
@TestProfile(ResidualHeadsBundleProfile.class)
class ResidualHeadsServingTest {

    private static final List<String> SHOTS = List.of(
            "mvtec_ad/transistor/shots/013.png",
            "mvtec_ad/transistor/shots/021.png",
            "mvtec_ad/transistor/shots/121.png");

    @GrpcClient("scorer")
    ScorerGrpc.ScorerBlockingStub scorer;

    @GrpcClient("scorer")
    PromptRegistryGrpc.PromptRegistryBlockingStub registry;

    @Test
    void model_info_names_the_kind_and_says_the_weights_are_random() {
        ModelInfo info = scorer.getModelInfo(ModelInfoRequest.getDefaultInstance());
        assertThat(info.getKind()).isEqualTo("residual-heads");
        assertThat(info.getMode()).contains("not the CLIP InCTRL checkpoint");
        assertThat(info.getRandomWeights()).isTrue();
        assertThat(info.getWeightsDescription()).contains("meaningless");
        RestAssured.given()
                .get("/v1/model")
                .then()
                .statusCode(200)
                .body("kind", org.hamcrest.Matchers.equalTo("residual-heads"))
                .body("inctrl", org.hamcrest.Matchers.equalTo(false));
    }

    @Test
    void inline_scores_carry_the_heads_but_no_text_prior_and_ignore_the_category() {
        String query = "mvtec_ad/transistor/test/bent_lead/002.png";
        ScoreResponse r = scorer.score(ScorerGrpcServiceTest.request("q", query, SHOTS, ""));
        assertThat(r.hasSH()).isTrue();
        assertThat(r.hasSI()).isTrue();
        assertThat(r.hasSA()).isFalse();
        assertThat(r.getScore()).isCloseTo((r.getSH() + r.getSP()) / 2f, Offset.offset(1e-6f));
        assertThat(r.getMapCount()).isEqualTo(r.getMapHeight() * r.getMapWidth());
        ScoreResponse named = scorer.score(ScorerGrpcServiceTest.request("q2", query, SHOTS, "transistor"));
        assertThat(named.getScore()).isEqualTo(r.getScore());
    }

    @Test
    void a_registered_set_stores_the_prototype_and_scores_like_inline_shots() {
        CreatePromptSetRequest.Builder req =
                CreatePromptSetRequest.newBuilder().setName("heads-set").setCategory("transistor");
        SHOTS.forEach(s -> req.addShots(ScorerGrpcServiceTest.bytes(s)));
        PromptSet set = registry.createPromptSet(req.build());
        assertThat(set.getCalibration().getShotScoresCount()).isEqualTo(3);
        String query = "mvtec_ad/transistor/test/good/006.png";
        ScoreResponse byId = scorer.score(ScoreRequest.newBuilder()
                .setRequestId("by-id")
                .setImage(ScorerGrpcServiceTest.bytes(query))
                .setPromptSetId(set.getId())
                .build());
        ScoreResponse inline = scorer.score(ScorerGrpcServiceTest.request("inline", query, SHOTS, ""));
        assertThat(byId.hasSA()).isFalse();
        assertThat(byId.getSI()).isCloseTo(inline.getSI(), Offset.offset(1e-5f));
        assertThat(byId.getScore()).isCloseTo(inline.getScore(), Offset.offset(1e-5f));
        assertThat(byId.hasIsAnomalous()).isTrue();
    }

    @Test
    void open_inference_metadata_lists_s_i_and_s_h_but_not_s_a() {
        String model =
                scorer.getModelInfo(ModelInfoRequest.getDefaultInstance()).getBundleId();
        List<String> outputs = RestAssured.given()
                .get("/v2/models/" + model)
                .then()
                .statusCode(200)
                .extract()
                .path("outputs.name");
        assertThat(outputs).contains("score", "s_p", "s_i", "s_h").doesNotContain("s_a");
    }
}
