package io.inctrl.serve.api;

import static io.inctrl.serve.api.ApiFixtures.as;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.api.v1.DeletePromptSetRequest;
import io.inctrl.serve.api.v1.GetPromptSetRequest;
import io.inctrl.serve.api.v1.ListPromptSetsRequest;
import io.inctrl.serve.api.v1.PromptRegistryGrpc;
import io.inctrl.serve.api.v1.ReencodePromptSetRequest;
import io.inctrl.serve.api.v1.SetThresholdRequest;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.registry.PromptSetService;
import io.inctrl.serve.registry.TestImages;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.net.URL;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tenant B must not be able to tell tenant A's objects from missing ones: for every operation, B on A's id gets
 * exactly the response (status and body, instance path aside) that B on a never-existing id gets.
 */
@QuarkusTest
@TestProfile(FakeModelProfile.class)
class TenantIsolationApiTest {

    private static final String MISSING = "00000000-0000-0000-0000-000000000000";

    @TestHTTPResource("/")
    URL url;

    @Inject
    PromptSetService service;

    ManagedChannel channel;
    TestTenant a;
    TestTenant b;
    String setId;
    String templateId;

    @BeforeEach
    void setUp() {
        channel = ApiFixtures.channel();
        a = ApiFixtures.tenant();
        b = ApiFixtures.tenant();
        setId = ApiFixtures.register(a, "secret-line", 2);
        templateId = as(a).contentType("application/json")
                .body(Map.of(
                        "name",
                        "a-templates",
                        "normalStates",
                        List.of("{}"),
                        "anomalousStates",
                        List.of("bad {}"),
                        "templates",
                        List.of("a photo of a {}.")))
                .post("/v1/templates")
                .then()
                .statusCode(201)
                .extract()
                .path("id");
    }

    @AfterEach
    void tearDown() {
        channel.shutdownNow();
    }

    @Test
    void rest_list_showsOnlyOwnSets() {
        as(b).get("/v1/prompt-sets").then().statusCode(200).body("items.size()", org.hamcrest.Matchers.equalTo(0));
        as(b).get("/v1/templates")
                .then()
                .statusCode(200)
                .body("size()", org.hamcrest.Matchers.equalTo(1)); // built-in only
        as(a).get("/v1/prompt-sets").then().statusCode(200).body("items.size()", org.hamcrest.Matchers.equalTo(1));
    }

    @Test
    void rest_get() {
        sameAsMissing(id -> as(b).get("/v1/prompt-sets/" + id), setId);
        sameAsMissing(id -> as(b).get("/v1/prompt-sets/" + id + "/storage"), setId);
    }

    @Test
    void rest_score() {
        sameAsMissing(
                id -> as(b).multiPart("image", "q.png", TestImages.normal(1), "image/png")
                        .post("/v1/prompt-sets/" + id + "/score"),
                setId);
    }

    @Test
    void rest_updateThreshold() {
        sameAsMissing(
                id -> as(b).contentType("application/json")
                        .body(Map.of("threshold", 0.1))
                        .put("/v1/prompt-sets/" + id + "/threshold"),
                setId);
        assertThat(service.get(a.id(), setId).thresholdOverride()).isNull();
    }

    @Test
    void rest_reencode() {
        sameAsMissing(id -> as(b).post("/v1/prompt-sets/" + id + "/re-encode"), setId);
        assertThat(service.get(a.id(), setId).version()).isEqualTo(1);
    }

    @Test
    void rest_delete() {
        sameAsMissing(id -> as(b).delete("/v1/prompt-sets/" + id), setId);
        as(a).get("/v1/prompt-sets/" + setId).then().statusCode(200);
    }

    @Test
    void rest_templates_getUpdateDeleteUse() {
        sameAsMissing(id -> as(b).get("/v1/templates/" + id), templateId);
        sameAsMissing(
                id -> as(b).contentType("application/json")
                        .body(Map.of(
                                "name",
                                "x",
                                "normalStates",
                                List.of("{}"),
                                "anomalousStates",
                                List.of("bad {}"),
                                "templates",
                                List.of("{}")))
                        .put("/v1/templates/" + id),
                templateId);
        sameAsMissing(id -> as(b).delete("/v1/templates/" + id), templateId);
        sameAsMissing(
                id -> ApiFixtures.upload(b, "uses-" + id, "screw", TestImages.normals(2))
                        .multiPart("templateId", id)
                        .post("/v1/prompt-sets"),
                templateId);
        as(a).get("/v1/templates/" + templateId).then().statusCode(200);
    }

    @Test
    void rest_keys_rotateRevoke() {
        sameAsMissing(id -> as(b).delete("/v1/keys/" + id), a.keyId());
        sameAsMissing(id -> as(b).post("/v1/keys/" + id + "/rotate"), a.keyId());
        as(a).get("/v1/prompt-sets").then().statusCode(200); // A's key still works
    }

    @Test
    void grpc_get() {
        grpcSameAsMissing(id ->
                stub(b).getPromptSet(GetPromptSetRequest.newBuilder().setId(id).build()));
    }

    @Test
    void grpc_list() {
        assertThat(stub(b).listPromptSets(ListPromptSetsRequest.getDefaultInstance())
                        .getPromptSetsCount())
                .isZero();
        assertThat(stub(a).listPromptSets(ListPromptSetsRequest.getDefaultInstance())
                        .getPromptSetsCount())
                .isEqualTo(1);
    }

    @Test
    void grpc_setThreshold() {
        grpcSameAsMissing(id -> stub(b).setThreshold(SetThresholdRequest.newBuilder()
                .setId(id)
                .setThreshold(0.2f)
                .build()));
    }

    @Test
    void grpc_reencode() {
        grpcSameAsMissing(id -> stub(b).reencodePromptSet(
                        ReencodePromptSetRequest.newBuilder().setId(id).build()));
    }

    @Test
    void grpc_delete() {
        grpcSameAsMissing(id -> stub(b).deletePromptSet(
                        DeletePromptSetRequest.newBuilder().setId(id).build()));
        assertThat(service.get(a.id(), setId).id()).isEqualTo(setId);
    }

    @Test
    void scorePath_resolveAndThreshold() {
        for (String id : List.of(setId, MISSING)) {
            assertThatThrownBy(() -> service.resolve(b.id(), id))
                    .isInstanceOfSatisfying(
                            ServeException.class,
                            e -> assertThat(e.getMessage()).isEqualTo("prompt set '" + id + "' not found"));
            assertThatThrownBy(() -> service.threshold(b.id(), id)).isInstanceOf(ServeException.class);
        }
    }

    private PromptRegistryGrpc.PromptRegistryBlockingStub stub(TestTenant t) {
        return ApiFixtures.stub(channel, t.key());
    }

    /** Same status and same body (with the id and path normalised) for the foreign id and a missing one. */
    private static void sameAsMissing(Function<String, Response> call, String foreignId) {
        Response foreign = call.apply(foreignId);
        Response missing = call.apply(MISSING);
        assertThat(foreign.statusCode()).isEqualTo(404);
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(foreign.contentType()).isEqualTo(missing.contentType());
        assertThat(foreign.asString().replace(foreignId, "ID"))
                .isEqualTo(missing.asString().replace(MISSING, "ID"));
    }

    private void grpcSameAsMissing(Function<String, Object> call) {
        StatusRuntimeException foreign = catchStatus(() -> call.apply(setId));
        StatusRuntimeException missing = catchStatus(() -> call.apply(MISSING));
        assertThat(foreign.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(missing.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(foreign.getStatus().getDescription().replace(setId, "ID"))
                .isEqualTo(missing.getStatus().getDescription().replace(MISSING, "ID"));
    }

    private static StatusRuntimeException catchStatus(Runnable r) {
        try {
            r.run();
        } catch (StatusRuntimeException e) {
            return e;
        }
        throw new AssertionError("expected a gRPC error");
    }
}
