package io.inctrl.serve.api;

import static io.inctrl.serve.api.ApiFixtures.as;
import static io.inctrl.serve.api.ApiFixtures.register;
import static io.inctrl.serve.api.ApiFixtures.upload;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.api.v1.CreatePromptSetRequest;
import io.inctrl.serve.api.v1.DeletePromptSetRequest;
import io.inctrl.serve.api.v1.GetPromptSetRequest;
import io.inctrl.serve.api.v1.ListPromptSetsRequest;
import io.inctrl.serve.api.v1.PromptRegistryGrpc;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.ReencodePromptSetRequest;
import io.inctrl.serve.api.v1.SetThresholdRequest;
import io.inctrl.serve.registry.FakeModelPort;
import io.inctrl.serve.registry.PromptSetService;
import io.inctrl.serve.registry.RegistryCounters;
import io.inctrl.serve.registry.ResolvedPromptSet;
import io.inctrl.serve.registry.TestImages;
import io.inctrl.serve.testing.GrpcTestChannels;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.net.URL;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Prompt-set lifecycle over REST and gRPC on the embedded H2 store, with the fake model. */
@QuarkusTest
@TestProfile(FakeModelProfile.class)
class PromptSetApiTest {

    @TestHTTPResource("/")
    URL url;

    @Inject
    FakeModelPort model;

    @Inject
    RegistryCounters counters;

    @Inject
    PromptSetService service;

    ManagedChannel channel;

    @BeforeEach
    void open() {
        channel = ApiFixtures.channel();
    }

    @AfterEach
    void close() {
        channel.shutdownNow();
    }

    @Test
    void rest_registerGetListThresholdReencodeDelete() {
        TestTenant t = ApiFixtures.tenant();
        String id = upload(t, "line-1", "metal_nut", TestImages.normals(4))
                .multiPart("fp16", "true")
                .post("/v1/prompt-sets")
                .then()
                .statusCode(201)
                .body("name", equalTo("line-1"))
                .body("shotCount", equalTo(4))
                .body("precision", equalTo("FP16"))
                .body("bundleId", equalTo(model.bundleId()))
                .body("stale", equalTo(false))
                .body("calibration.shotScores", hasSize(4))
                .body("calibration.suggestedThreshold", notNullValue())
                .body("calibration.fp16MaxAbsDiff", notNullValue())
                .extract()
                .path("id");
        as(t).get("/v1/prompt-sets/" + id).then().statusCode(200).body("id", equalTo(id));
        as(t).get("/v1/prompt-sets")
                .then()
                .statusCode(200)
                .body("items", hasSize(1))
                .body("nextPageToken", equalTo(""));
        as(t).get("/v1/prompt-sets/" + id + "/storage").then().statusCode(200).body("shotCount", equalTo(4));

        as(t).contentType("application/json")
                .body(Map.of("threshold", 0.75))
                .put("/v1/prompt-sets/" + id + "/threshold")
                .then()
                .statusCode(200)
                .body("calibration.threshold", equalTo(0.75f))
                .body("calibration.thresholdOverridden", equalTo(true))
                .body("version", equalTo(2));
        as(t).multiPart("image", "q.png", TestImages.anomalous(3), "image/png")
                .post("/v1/prompt-sets/" + id + "/score")
                .then()
                .statusCode(200)
                .body("threshold", equalTo(0.75f))
                .body("isAnomalous", notNullValue())
                .body("map", hasSize(4));
        as(t).post("/v1/prompt-sets/" + id + "/re-encode")
                .then()
                .statusCode(200)
                .body("version", equalTo(3))
                .body("calibration.threshold", equalTo(0.75f));
        as(t).delete("/v1/prompt-sets/" + id).then().statusCode(204);
        as(t).get("/v1/prompt-sets/" + id).then().statusCode(404);
    }

    @Test
    void registryCounters_arePublishedAsMicrometerCounters() {
        TestTenant t = ApiFixtures.tenant();
        long before = counters.shotImagesEncoded.get();
        register(t, "metered", 3);
        assertThat(counters.shotImagesEncoded.get()).isEqualTo(before + 3);
        String metrics = given().get(GrpcTestChannels.managementUrl("/q/metrics"))
                .then()
                .statusCode(200)
                .extract()
                .asString();
        double published = metrics.lines()
                .filter(l -> l.startsWith("inctrl_registry_shot_images_encoded_total"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .findFirst()
                .orElse(-1);
        assertThat(published).isEqualTo((double) counters.shotImagesEncoded.get());
        assertThat(metrics).contains("inctrl_registry_feature_cache_hits_total", "inctrl_registry_reencodes_total");
    }

    @Test
    void scoreById_reencodesNeitherShotsNorText() {
        TestTenant t = ApiFixtures.tenant();
        String id = register(t, "s", 3);
        long shots = counters.shotImagesEncoded.get();
        int modelText = model.textPriorCalls.get();
        for (int i = 0; i < 4; i++) {
            as(t).multiPart("image", "q.png", TestImages.normal(40 + i), "image/png")
                    .post("/v1/prompt-sets/" + id + "/score")
                    .then()
                    .statusCode(200);
        }
        ResolvedPromptSet r = service.resolve(t.id(), id); // what the Scorer's prompt_set_id path calls
        assertThat(r.features().shots()).isEqualTo(3);
        assertThat(r.threshold()).isPresent();
        assertThat(counters.shotImagesEncoded.get()).isEqualTo(shots);
        assertThat(model.textPriorCalls.get()).isEqualTo(modelText);
    }

    @Test
    void grpc_createGetListSetThresholdReencodeDelete() {
        TestTenant t = ApiFixtures.tenant();
        PromptRegistryGrpc.PromptRegistryBlockingStub stub = ApiFixtures.stub(channel, t.key());
        CreatePromptSetRequest.Builder req =
                CreatePromptSetRequest.newBuilder().setName("rig-1").setCategory("screw");
        TestImages.normals(3).forEach(b -> req.addShots(ByteString.copyFrom(b)));
        PromptSet p = stub.createPromptSet(req.build());
        assertThat(p.getShotCount()).isEqualTo(3);
        assertThat(p.getPrecision()).isEqualTo("FP32");
        assertThat(p.getCalibration().getShotScoresCount()).isEqualTo(3);
        assertThat(p.getCalibration().getSuggestedThreshold()).isPositive();
        assertThat(p.getCreatedAt().getSeconds()).isPositive();

        assertThat(stub.getPromptSet(GetPromptSetRequest.newBuilder()
                                .setId(p.getId())
                                .build())
                        .getName())
                .isEqualTo("rig-1");
        assertThat(stub.listPromptSets(ListPromptSetsRequest.getDefaultInstance())
                        .getPromptSetsList())
                .extracting(PromptSet::getId)
                .containsExactly(p.getId());
        PromptSet o = stub.setThreshold(SetThresholdRequest.newBuilder()
                .setId(p.getId())
                .setThreshold(0.5f)
                .build());
        assertThat(o.getCalibration().getThreshold()).isEqualTo(0.5f);
        assertThat(o.getCalibration().getThresholdOverridden()).isTrue();
        assertThat(service.threshold(t.id(), p.getId())).contains(0.5f);
        PromptSet cleared = stub.setThreshold(
                SetThresholdRequest.newBuilder().setId(p.getId()).build());
        assertThat(cleared.getCalibration().getThresholdOverridden()).isFalse();
        assertThat(stub.reencodePromptSet(ReencodePromptSetRequest.newBuilder()
                                .setId(p.getId())
                                .build())
                        .getVersion())
                .isEqualTo(cleared.getVersion() + 1);
        stub.deletePromptSet(
                DeletePromptSetRequest.newBuilder().setId(p.getId()).build());
        assertThat(stub.listPromptSets(ListPromptSetsRequest.getDefaultInstance())
                        .getPromptSetsCount())
                .isZero();
    }

    @Test
    void templates_crudAndUseInRegistration() {
        TestTenant t = ApiFixtures.tenant();
        as(t).get("/v1/templates/default")
                .then()
                .statusCode(200)
                .body("builtIn", equalTo(true))
                .body("normalStates", hasSize(7))
                .body("anomalousStates", hasSize(4))
                .body("templates", hasSize(22));
        String tid = as(t).contentType("application/json")
                .body(Map.of(
                        "name",
                        "short",
                        "normalStates",
                        java.util.List.of("{}", "good {}"),
                        "anomalousStates",
                        java.util.List.of("broken {}"),
                        "templates",
                        java.util.List.of("a photo of a {}.")))
                .post("/v1/templates")
                .then()
                .statusCode(201)
                .body("version", equalTo(1))
                .extract()
                .path("id");
        String setId = upload(t, "with-template", "screw", TestImages.normals(2))
                .multiPart("templateId", tid)
                .post("/v1/prompt-sets")
                .then()
                .statusCode(201)
                .body("templateId", equalTo(tid))
                .extract()
                .path("id");
        as(t).contentType("application/json")
                .body(Map.of(
                        "name",
                        "short",
                        "normalStates",
                        java.util.List.of("{}"),
                        "anomalousStates",
                        java.util.List.of("broken {}"),
                        "templates",
                        java.util.List.of("a photo of a {}.")))
                .put("/v1/templates/" + tid)
                .then()
                .statusCode(200)
                .body("version", equalTo(2));
        as(t).delete("/v1/templates/" + tid).then().statusCode(409).body("reason", equalTo("TEMPLATE_IN_USE"));
        as(t).delete("/v1/prompt-sets/" + setId).then().statusCode(204);
        as(t).delete("/v1/templates/" + tid).then().statusCode(204);
        as(t).get("/v1/templates").then().statusCode(200).body("", hasSize(1));
    }

    @Test
    void openApi_documentIsServed() {
        given().get("/q/openapi")
                .then()
                .statusCode(200)
                .body(containsString("/v1/prompt-sets"))
                .body(containsString("/v1/admin/tenants"));
    }

    @Test
    void problemDetails_shape() {
        TestTenant t = ApiFixtures.tenant();
        as(t).get("/v1/prompt-sets/nope")
                .then()
                .statusCode(404)
                .contentType("application/problem+json")
                .body("status", equalTo(404))
                .body("title", equalTo("NOT_FOUND"))
                .body("detail", equalTo("prompt set 'nope' not found"))
                .body("instance", equalTo("/v1/prompt-sets/nope"))
                .body("type", equalTo("urn:inctrl:problem:not-found"))
                .body("reason", equalTo("NOT_FOUND"))
                .body("missing", nullValue());
    }
}
