package io.inctrl.serve.api;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.api.v1.ListPromptSetsRequest;
import io.inctrl.serve.registry.Store;
import io.inctrl.serve.security.ApiKeys;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.inctrl.serve.api.ApiFixtures.ADMIN_KEY;
import static io.inctrl.serve.api.ApiFixtures.as;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

/** Authentication on both transports, admin vs tenant credentials, key lifecycle, hashing and quotas. */
@QuarkusTest
@TestProfile(FakeModelProfile.class)
class SecurityApiTest {

    @TestHTTPResource("/")
    URL url;
    @Inject
    Store store;

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
    void rest_missingOrInvalidKey_is401ProblemJson() {
        given().get("/v1/prompt-sets").then().statusCode(401).contentType("application/problem+json")
                .header("WWW-Authenticate", startsWith("ApiKey")).body("reason", equalTo("MISSING_API_KEY"));
        given().header("X-API-Key", "ik_wrong").get("/v1/prompt-sets").then().statusCode(401)
                .body("reason", equalTo("INVALID_API_KEY"));
        given().get("/v1/admin/tenants").then().statusCode(401);
        given().get("/v1/templates").then().statusCode(401);
        given().post("/v1/keys").then().statusCode(401);
    }

    @Test
    void grpc_missingOrInvalidKey_isUnauthenticated() {
        for (String key : new String[] {null, "ik_wrong"}) {
            assertThatThrownBy(() -> ApiFixtures.stub(channel, key).listPromptSets(ListPromptSetsRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                        assertThat(e.getStatus().getDescription()).contains("API key");
                    });
        }
    }

    @Test
    void grpcHealth_needsNoKey() {
        var status = grpc.health.v1.HealthGrpc.newBlockingStub(channel)
                .check(grpc.health.v1.HealthOuterClass.HealthCheckRequest.newBuilder().setService("inctrl.v1.Scorer").build())
                .getStatus();
        assertThat(status).isNotNull();
    }

    @Test
    void adminAndTenantCredentialsAreNotInterchangeable() {
        TestTenant t = ApiFixtures.tenant();
        as(t).get("/v1/admin/tenants").then().statusCode(403).body("reason", equalTo("ADMIN_KEY_REQUIRED"));
        given().header("X-API-Key", ADMIN_KEY).get("/v1/prompt-sets").then().statusCode(403)
                .body("reason", equalTo("TENANT_KEY_REQUIRED"));
        assertThatThrownBy(() -> ApiFixtures.stub(channel, ADMIN_KEY).listPromptSets(ListPromptSetsRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
    }

    @Test
    void keys_shownOnce_storedHashed_rotateAndRevoke() {
        TestTenant t = ApiFixtures.tenant();
        String second = as(t).post("/v1/keys").then().statusCode(201).extract().path("key");
        String secondId = given().header("X-API-Key", second).get("/v1/keys").then().statusCode(200)
                .body("size()", equalTo(2)).body("[0]", not(hasKey("key"))).extract().path("[1].id");

        List<String> hashes = new ArrayList<>();
        store.tx(c -> {
            try (ResultSet rs = c.createStatement().executeQuery("SELECT key_hash, key_prefix FROM api_keys WHERE tenant_id = '" + t.id() + "'")) {
                while (rs.next()) {
                    hashes.add(rs.getString(1));
                    assertThat(rs.getString(2)).hasSize(10);
                }
            }
            return null;
        });
        assertThat(hashes).containsExactlyInAnyOrder(ApiKeys.hash(t.key()), ApiKeys.hash(second)).doesNotContain(t.key(), second);

        String rotated = as(t).post("/v1/keys/" + secondId + "/rotate").then().statusCode(201).extract().path("key");
        given().header("X-API-Key", second).get("/v1/prompt-sets").then().statusCode(401);
        given().header("X-API-Key", rotated).get("/v1/prompt-sets").then().statusCode(200);

        as(t).delete("/v1/keys/" + t.keyId()).then().statusCode(204);
        as(t).get("/v1/prompt-sets").then().statusCode(401);
        given().header("X-API-Key", rotated).get("/v1/prompt-sets").then().statusCode(200);
    }

    @Test
    void admin_tenantLifecycle() {
        TestTenant t = ApiFixtures.tenant();
        given().header("X-API-Key", ADMIN_KEY).get("/v1/admin/tenants/" + t.id()).then().statusCode(200)
                .body("quotas.maxShotsPerSet", equalTo(16));
        given().header("X-API-Key", ADMIN_KEY).contentType("application/json")
                .body(Map.of("maxPromptSets", 1, "maxShotsPerSet", 2, "requestsPerSecond", 100))
                .put("/v1/admin/tenants/" + t.id() + "/quotas").then().statusCode(200).body("quotas.maxPromptSets", equalTo(1));
        String issued = given().header("X-API-Key", ADMIN_KEY).post("/v1/admin/tenants/" + t.id() + "/keys")
                .then().statusCode(201).extract().path("key");
        given().header("X-API-Key", issued).get("/v1/prompt-sets").then().statusCode(200);
        given().header("X-API-Key", ADMIN_KEY).delete("/v1/admin/tenants/" + t.id()).then().statusCode(204);
        as(t).get("/v1/prompt-sets").then().statusCode(401);
        given().header("X-API-Key", ADMIN_KEY).get("/v1/admin/tenants/" + t.id()).then().statusCode(404);
    }

    @Test
    void quota_promptSets_is429() {
        TestTenant t = ApiFixtures.tenant(Map.of("maxPromptSets", 1, "maxShotsPerSet", 4, "requestsPerSecond", 1000));
        ApiFixtures.register(t, "first", 2);
        ApiFixtures.upload(t, "second", "screw", io.inctrl.serve.registry.TestImages.normals(2)).post("/v1/prompt-sets")
                .then().statusCode(429).body("reason", equalTo("TOO_MANY_PROMPT_SETS"));
    }

    @Test
    void quota_requestRate_is429AndResourceExhausted() {
        TestTenant t = ApiFixtures.tenant(Map.of("maxPromptSets", 1, "maxShotsPerSet", 4, "requestsPerSecond", 0.2));
        as(t).get("/v1/prompt-sets").then().statusCode(200);
        as(t).get("/v1/prompt-sets").then().statusCode(429).header("Retry-After", "1").body("reason", equalTo("RATE_LIMITED"));
        assertThatThrownBy(() -> ApiFixtures.stub(channel, t.key()).listPromptSets(ListPromptSetsRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
    }

    @Test
    void bootstrapTenantKey_works() {
        given().header("X-API-Key", "test-tenant-key").get("/v1/prompt-sets").then().statusCode(200);
    }
}
