package io.inctrl.serve.api;

import static io.inctrl.serve.api.ApiFixtures.ADMIN_KEY;
import static io.inctrl.serve.api.ApiFixtures.as;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.MetadataUtils;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.api.v1.InlinePrompts;
import io.inctrl.serve.api.v1.ListPromptSetsRequest;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.registry.Store;
import io.inctrl.serve.registry.TestImages;
import io.inctrl.serve.security.ApiKeys;
import io.inctrl.serve.security.Authenticator;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.net.URL;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Authentication on both transports, admin vs tenant credentials, key lifecycle, hashing and quotas. */
@QuarkusTest
@TestProfile(FakeModelProfile.class)
class SecurityApiTest {

    @TestHTTPResource("/")
    URL url;

    @Inject
    Store store;

    @Inject
    Authenticator authenticator;

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
        given().get("/v1/prompt-sets")
                .then()
                .statusCode(401)
                .contentType("application/problem+json")
                .header("WWW-Authenticate", startsWith("ApiKey"))
                .body("reason", equalTo("MISSING_API_KEY"));
        given().header("X-API-Key", "ik_wrong")
                .get("/v1/prompt-sets")
                .then()
                .statusCode(401)
                .body("reason", equalTo("INVALID_API_KEY"));
        given().get("/v1/admin/tenants").then().statusCode(401);
        given().get("/v1/templates").then().statusCode(401);
        given().get("/v1/metrics").then().statusCode(401); // the keyed scrape; the open one is on the management port
        given().post("/v1/keys").then().statusCode(401);
    }

    @Test
    void rest_oidcOff_bearerTokenIsIgnoredAndKeysStillWork() {
        // a well-formed (unsigned) JWT: with OIDC sign-in off it is never looked at
        String jwt = "eyJhbGciOiJub25lIn0.eyJncm91cHMiOlsiaW5jdHJsLWFkbWluIl19.";
        given().header("Authorization", "Bearer " + jwt)
                .get("/v1/admin/tenants")
                .then()
                .statusCode(401)
                .contentType("application/problem+json")
                .body("reason", equalTo("MISSING_API_KEY"));
        given().header("Authorization", "Bearer " + jwt)
                .header("X-API-Key", ADMIN_KEY)
                .get("/v1/admin/tenants")
                .then()
                .statusCode(200);
    }

    @Test
    void grpc_missingOrInvalidKey_isUnauthenticated() {
        for (String key : new String[] {null, "ik_wrong"}) {
            assertThatThrownBy(() ->
                            ApiFixtures.stub(channel, key).listPromptSets(ListPromptSetsRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                        assertThat(e.getStatus().getDescription()).contains("API key");
                    });
        }
    }

    @Test
    void grpcHealth_needsNoKey() {
        var status = grpc.health.v1.HealthGrpc.newBlockingStub(channel)
                .check(grpc.health.v1.HealthOuterClass.HealthCheckRequest.newBuilder()
                        .setService("inctrl.v1.Scorer")
                        .build())
                .getStatus();
        assertThat(status).isNotNull();
    }

    @Test
    void adminAndTenantCredentialsAreNotInterchangeable() {
        TestTenant t = ApiFixtures.tenant();
        as(t).get("/v1/admin/tenants").then().statusCode(403).body("reason", equalTo("ADMIN_KEY_REQUIRED"));
        given().header("X-API-Key", ADMIN_KEY)
                .get("/v1/prompt-sets")
                .then()
                .statusCode(403)
                .body("reason", equalTo("TENANT_KEY_REQUIRED"));
        assertThatThrownBy(() ->
                        ApiFixtures.stub(channel, ADMIN_KEY).listPromptSets(ListPromptSetsRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
    }

    @Test
    void keys_shownOnce_storedHashed_rotateAndRevoke() {
        TestTenant t = ApiFixtures.tenant();
        String second = as(t).post("/v1/keys").then().statusCode(201).extract().path("key");
        String secondId = given().header("X-API-Key", second)
                .get("/v1/keys")
                .then()
                .statusCode(200)
                .body("size()", equalTo(2))
                .body("[0]", not(hasKey("key")))
                .extract()
                .path("[1].id");

        List<String> hashes = new ArrayList<>();
        store.tx(c -> {
            try (ResultSet rs = c.createStatement()
                    .executeQuery("SELECT key_hash, key_prefix FROM api_keys WHERE tenant_id = '" + t.id() + "'")) {
                while (rs.next()) {
                    hashes.add(rs.getString(1));
                    assertThat(rs.getString(2)).hasSize(10);
                }
            }
            return null;
        });
        assertThat(hashes)
                .containsExactlyInAnyOrder(ApiKeys.hash(t.key()), ApiKeys.hash(second))
                .doesNotContain(t.key(), second);

        String rotated = as(t).post("/v1/keys/" + secondId + "/rotate")
                .then()
                .statusCode(201)
                .extract()
                .path("key");
        given().header("X-API-Key", second).get("/v1/prompt-sets").then().statusCode(401);
        given().header("X-API-Key", rotated).get("/v1/prompt-sets").then().statusCode(200);

        as(t).delete("/v1/keys/" + t.keyId()).then().statusCode(204);
        as(t).get("/v1/prompt-sets").then().statusCode(401);
        given().header("X-API-Key", rotated).get("/v1/prompt-sets").then().statusCode(200);
    }

    @Test
    void admin_tenantLifecycle() {
        TestTenant t = ApiFixtures.tenant();
        given().header("X-API-Key", ADMIN_KEY)
                .get("/v1/admin/tenants/" + t.id())
                .then()
                .statusCode(200)
                .body("quotas.maxShotsPerSet", equalTo(16));
        given().header("X-API-Key", ADMIN_KEY)
                .contentType("application/json")
                .body(Map.of("maxPromptSets", 1, "maxShotsPerSet", 2, "requestsPerSecond", 100))
                .put("/v1/admin/tenants/" + t.id() + "/quotas")
                .then()
                .statusCode(200)
                .body("quotas.maxPromptSets", equalTo(1));
        String issued = given().header("X-API-Key", ADMIN_KEY)
                .post("/v1/admin/tenants/" + t.id() + "/keys")
                .then()
                .statusCode(201)
                .extract()
                .path("key");
        given().header("X-API-Key", issued).get("/v1/prompt-sets").then().statusCode(200);
        given().header("X-API-Key", ADMIN_KEY)
                .delete("/v1/admin/tenants/" + t.id())
                .then()
                .statusCode(204);
        as(t).get("/v1/prompt-sets").then().statusCode(401);
        given().header("X-API-Key", ADMIN_KEY)
                .get("/v1/admin/tenants/" + t.id())
                .then()
                .statusCode(404);
    }

    @Test
    void quota_promptSets_is409NotARetryable429() {
        TestTenant t = ApiFixtures.tenant(Map.of("maxPromptSets", 1, "maxShotsPerSet", 4, "requestsPerSecond", 1000));
        ApiFixtures.register(t, "first", 2);
        ApiFixtures.upload(t, "second", "screw", io.inctrl.serve.registry.TestImages.normals(2))
                .post("/v1/prompt-sets")
                .then()
                .statusCode(409) // retry-on-429 clients would loop forever: waiting does not free a set
                .body("reason", equalTo("TOO_MANY_PROMPT_SETS"))
                .header("Retry-After", org.hamcrest.Matchers.nullValue()); // a quota: waiting does not help
    }

    @Test
    void quota_requestRate_is429AndResourceExhausted() {
        TestTenant t = ApiFixtures.tenant(Map.of("maxPromptSets", 1, "maxShotsPerSet", 4, "requestsPerSecond", 0.2));
        as(t).get("/v1/prompt-sets").then().statusCode(200);
        // one token per 5 s, just spent: the hint says when the next one is there (whole seconds, rounded up)
        String retryAfter = as(t).get("/v1/prompt-sets")
                .then()
                .statusCode(429)
                .body("reason", equalTo("RATE_LIMITED"))
                .extract()
                .header("Retry-After");
        assertThat(Integer.parseInt(retryAfter)).isBetween(1, 5);
        assertThatThrownBy(() ->
                        ApiFixtures.stub(channel, t.key()).listPromptSets(ListPromptSetsRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                    com.google.rpc.Status details = StatusProto.fromThrowable(e);
                    assertThat(details).isNotNull();
                    assertThat(details.getDetailsList()).anySatisfy(a -> {
                        assertThat(a.is(ErrorInfo.class)).isTrue();
                        assertThat(a.unpack(ErrorInfo.class).getReason()).isEqualTo("RATE_LIMITED");
                        assertThat(a.unpack(ErrorInfo.class).getDomain()).isEqualTo("inctrl.io");
                    });
                    assertThat(details.getDetailsList()).anySatisfy(a -> {
                        assertThat(a.is(RetryInfo.class)).isTrue();
                        com.google.protobuf.Duration d =
                                a.unpack(RetryInfo.class).getRetryDelay();
                        assertThat(d.getSeconds() * 1_000_000_000L + d.getNanos())
                                .isBetween(1L, 5_000_000_000L);
                    });
                });
    }

    /** NaN locked a tenant out, Infinity lifted its limit, 1e-300 was stored as 0 and broke the tenant listing. */
    @Test
    void quotasThatAreNaNInfiniteTinyHugeOrNegative_are400_onCreateAndUpdate() {
        TestTenant t = ApiFixtures.tenant();
        String[] bad = {"\"NaN\"", "\"Infinity\"", "1e400", "1e-300", "0", "-5", "1e12"};
        for (String rps : bad) {
            String quotas = "{\"maxPromptSets\":1,\"maxShotsPerSet\":2,\"requestsPerSecond\":" + rps + "}";
            given().header("X-API-Key", ADMIN_KEY)
                    .contentType("application/json")
                    .body("{\"name\":\"q-" + java.util.UUID.randomUUID() + "\",\"quotas\":" + quotas + "}")
                    .post("/v1/admin/tenants")
                    .then()
                    .statusCode(400)
                    .contentType("application/problem+json");
            given().header("X-API-Key", ADMIN_KEY)
                    .contentType("application/json")
                    .body(quotas)
                    .put("/v1/admin/tenants/" + t.id() + "/quotas")
                    .then()
                    .statusCode(400)
                    .contentType("application/problem+json");
        }
        for (String ints : new String[] {
            "\"maxPromptSets\":-1,\"maxShotsPerSet\":2",
            "\"maxPromptSets\":1,\"maxShotsPerSet\":0",
            "\"maxPromptSets\":2000000000,\"maxShotsPerSet\":2"
        }) {
            given().header("X-API-Key", ADMIN_KEY)
                    .contentType("application/json")
                    .body("{" + ints + ",\"requestsPerSecond\":5}")
                    .put("/v1/admin/tenants/" + t.id() + "/quotas")
                    .then()
                    .statusCode(400)
                    .body("reason", equalTo("INVALID_QUOTAS"));
        }
        given().header("X-API-Key", ADMIN_KEY)
                .get("/v1/admin/tenants/" + t.id())
                .then()
                .statusCode(200)
                .body("quotas.requestsPerSecond", equalTo(50f)); // unchanged
        as(t).get("/v1/prompt-sets").then().statusCode(200);
    }

    /** A row an older version stored out of range must not break the listing for everyone. */
    @Test
    void tenantListing_survivesOutOfRangeQuotasAlreadyStored() {
        TestTenant t = ApiFixtures.tenant();
        setStoredRate(t.id(), 0f);
        given().header("X-API-Key", ADMIN_KEY).get("/v1/admin/tenants").then().statusCode(200);
        given().header("X-API-Key", ADMIN_KEY)
                .get("/v1/admin/tenants/" + t.id())
                .then()
                .statusCode(200);
        setStoredRate(t.id(), Float.NaN);
        given().header("X-API-Key", ADMIN_KEY).get("/v1/admin/tenants").then().statusCode(200);
    }

    /** A NaN rate left NaN tokens in the in-memory bucket: the tenant stayed locked out after the fix until restart. */
    @Test
    void quotaChange_resetsTheTenantsRateLimiterState() {
        TestTenant t = ApiFixtures.tenant();
        setStoredRate(t.id(), Float.NaN);
        as(t).get("/v1/prompt-sets").then().statusCode(409).body("reason", equalTo("QUOTA_MISCONFIGURED"));
        given().header("X-API-Key", ADMIN_KEY)
                .contentType("application/json")
                .body(Map.of("maxPromptSets", 5, "maxShotsPerSet", 4, "requestsPerSecond", 100))
                .put("/v1/admin/tenants/" + t.id() + "/quotas")
                .then()
                .statusCode(200);
        as(t).get("/v1/prompt-sets").then().statusCode(200);
    }

    /** The admin key scored as tenant 'default' with no rate limit on gRPC but got 403 on REST. */
    @Test
    void adminKey_cannotScore_onGrpcNorRest_butMayReadModelInfo() {
        ScorerGrpc.ScorerBlockingStub scorer = ScorerGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(keyHeader(ADMIN_KEY)));
        ScoreRequest request = ScoreRequest.newBuilder()
                .setRequestId("admin")
                .setImage(ByteString.copyFrom(TestImages.normal(1)))
                .setInline(InlinePrompts.newBuilder()
                        .setCategory("screw")
                        .addShots(ByteString.copyFrom(TestImages.normal(2))))
                .build();
        assertThatThrownBy(() -> scorer.score(request)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(e.getStatus().getDescription()).contains("tenant API key");
        });
        assertThat(scorer.getModelInfo(io.inctrl.serve.api.v1.ModelInfoRequest.getDefaultInstance())
                        .getBundleId())
                .isNotEmpty();
        String restMessage = given().header("X-API-Key", ADMIN_KEY)
                .multiPart("image", "q.png", TestImages.normal(1), "image/png")
                .post("/v1/prompt-sets/any/score")
                .then()
                .statusCode(403)
                .body("reason", equalTo("TENANT_KEY_REQUIRED"))
                .extract()
                .path("detail");
        assertThat(restMessage).contains("tenant API key");
    }

    private static io.grpc.Metadata keyHeader(String key) {
        io.grpc.Metadata md = new io.grpc.Metadata();
        md.put(io.grpc.Metadata.Key.of("x-api-key", io.grpc.Metadata.ASCII_STRING_MARSHALLER), key);
        return md;
    }

    private void setStoredRate(String tenantId, float rate) {
        store.tx(c -> {
            try (java.sql.PreparedStatement ps =
                    c.prepareStatement("UPDATE tenants SET requests_per_second = ? WHERE id = ?")) {
                ps.setFloat(1, rate);
                ps.setString(2, tenantId);
                assertThat(ps.executeUpdate()).isEqualTo(1);
            }
            return null;
        });
        authenticator.forgetAll(); // what a key-cache expiry would do
    }

    @Test
    void bootstrapTenantKey_works() {
        given().header("X-API-Key", "test-tenant-key")
                .get("/v1/prompt-sets")
                .then()
                .statusCode(200);
    }
}
