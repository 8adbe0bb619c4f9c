package io.inctrl.serve.api;

import static io.inctrl.serve.api.ApiFixtures.as;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.api.v1.GetPromptSetRequest;
import io.inctrl.serve.registry.PromptSetService;
import io.inctrl.serve.registry.TestImages;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every REST failure under /v1 is an application/problem+json body with a clear reason, whatever produced it
 * (JAX-RS routing, parameter parsing, JSON mapping, the form parser, a bug), and none carries internals.
 */
@QuarkusTest
@TestProfile(FakeModelProfile.class)
class RestProblemsApiTest {

    @Inject
    PromptSetService service;

    ManagedChannel channel;
    TestTenant t;

    @BeforeEach
    void setUp() {
        channel = ApiFixtures.channel();
        t = ApiFixtures.tenant();
    }

    @AfterEach
    void tearDown() {
        channel.shutdownNow();
    }

    @Test
    void unknownPathUnderV1_isA404Problem() {
        for (String path : new String[] {"/v1/no-such-thing", "/v1/prompt-sets/x/no-such-thing", "/v1"}) {
            as(t).get(path)
                    .then()
                    .statusCode(404)
                    .contentType("application/problem+json")
                    .body("status", equalTo(404))
                    .body("reason", equalTo("NO_SUCH_ENDPOINT"));
        }
    }

    @Test
    void wrongMethod_isA405Problem() {
        as(t).patch("/v1/prompt-sets")
                .then()
                .statusCode(405)
                .contentType("application/problem+json")
                .body("reason", equalTo("METHOD_NOT_ALLOWED"))
                .body("detail", containsString("PATCH"));
    }

    @Test
    void unsupportedMediaType_isA415Problem() {
        as(t).contentType("text/plain")
                .body("name=x")
                .post("/v1/templates")
                .then()
                .statusCode(415)
                .contentType("application/problem+json")
                .body("reason", equalTo("UNSUPPORTED_MEDIA_TYPE"))
                .body("detail", containsString("text/plain"));
    }

    @Test
    void pageSizeThatIsNotANumber_isA400Problem_notAnEmpty404() {
        as(t).get("/v1/prompt-sets?pageSize=abc")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("reason", equalTo("INVALID_PARAMETER"))
                .body("detail", containsString("pageSize"));
        as(t).get("/v1/prompt-sets?pageSize=-1").then().statusCode(400);
        as(t).get("/v1/prompt-sets?pageSize=2").then().statusCode(200);
    }

    @Test
    void fp16ThatIsNotABoolean_isA400Problem_notSilentlyFalse() {
        ApiFixtures.upload(t, "maybe", "screw", TestImages.normals(2))
                .multiPart("fp16", "maybe")
                .post("/v1/prompt-sets")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("reason", equalTo("INVALID_PARAMETER"))
                .body("detail", containsString("fp16"));
        assertThat(service.list(t.id(), 10, null).items()).isEmpty();
        ApiFixtures.upload(t, "yes", "screw", TestImages.normals(2))
                .multiPart("fp16", "TRUE")
                .post("/v1/prompt-sets")
                .then()
                .statusCode(201)
                .body("precision", equalTo("FP16"));
    }

    @Test
    void moreMultipartPartsThanTheLimit_isA413Problem_notA500() {
        RequestSpecification r = as(t).multiPart("name", "many").multiPart("category", "screw");
        byte[] shot = TestImages.normal(1);
        for (int i = 0; i < 1001; i++) {
            r = r.multiPart("shots", "s" + i + ".png", shot, "image/png");
        }
        r.post("/v1/prompt-sets")
                .then()
                .statusCode(413)
                .contentType("application/problem+json")
                .body("reason", equalTo("TOO_MANY_PARTS"))
                .body("detail", containsString("1000"));
        assertThat(service.list(t.id(), 10, null).items()).isEmpty();
    }

    @Test
    void malformedOrMistypedJson_isA400ProblemWithoutJavaTypeNames() {
        as(t).contentType("application/json")
                .body("{\"name\": ")
                .post("/v1/templates")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("reason", equalTo("MALFORMED_BODY"));
        given(ApiFixtures.ADMIN_KEY)
                .contentType("application/json")
                .body(
                        "{\"name\":\"x\",\"quotas\":{\"maxPromptSets\":3000000000,\"maxShotsPerSet\":1,\"requestsPerSecond\":1}}")
                .post("/v1/admin/tenants")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("detail", not(containsString("java.")))
                .body("detail", not(containsString("`int`")));
    }

    @Test
    void unexpectedFailure_isA500ProblemWithAnErrorId_andNoExceptionText() {
        Response r = as(t).get("/v1/test-only/fail")
                .then()
                .statusCode(500)
                .contentType("application/problem+json")
                .body("reason", equalTo("INTERNAL"))
                .extract()
                .response();
        assertThat(r.asString())
                .containsPattern("error id [0-9a-f]{12}")
                .doesNotContain("db-host")
                .doesNotContain("hunter2")
                .doesNotContain("IllegalStateException")
                .doesNotContain("at io.");
    }

    /** A 9,000-character id overflowed gRPC's 8 KiB trailers (RESOURCE_EXHAUSTED/INTERNAL instead of NOT_FOUND). */
    @Test
    void overlongIds_areNotFound_withABoundedEcho_onGrpcAndRest() {
        String id = "x".repeat(9000);
        assertThatThrownBy(() -> ApiFixtures.stub(channel, t.key())
                        .getPromptSet(GetPromptSetRequest.newBuilder().setId(id).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                    assertThat(e.getStatus().getDescription()).hasSizeLessThan(300);
                });
        String restId = "y".repeat(3000);
        Response r = as(t).get("/v1/prompt-sets/" + restId)
                .then()
                .statusCode(404)
                .contentType("application/problem+json")
                .extract()
                .response();
        assertThat(r.<String>path("detail")).hasSizeLessThan(300);
    }

    private static RequestSpecification given(String key) {
        return io.restassured.RestAssured.given().header("X-API-Key", key);
    }
}
