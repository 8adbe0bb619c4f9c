package io.inctrl.serve.audit;

import static io.inctrl.serve.api.ApiFixtures.ADMIN_KEY;
import static io.inctrl.serve.api.ApiFixtures.as;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hamcrest.Matchers.equalTo;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.inctrl.serve.api.ApiFixtures;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.api.FakeModelProfile;
import io.inctrl.serve.api.v1.CreatePromptSetRequest;
import io.inctrl.serve.api.v1.DeletePromptSetRequest;
import io.inctrl.serve.api.v1.PromptRegistryGrpc;
import io.inctrl.serve.registry.AuditRetention;
import io.inctrl.serve.registry.TestImages;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Real REST and gRPC changes end up in the audit log with actor, action, target, address and request id; a tenant
 * reads only its own tenant's entries; retention purges by age.
 */
@QuarkusTest
@TestProfile(FakeModelProfile.class)
class AuditApiTest {

    @Inject
    AuditRetention retention;

    ManagedChannel channel;

    @BeforeEach
    void open() {
        channel = ApiFixtures.channel();
    }

    @AfterEach
    void close() {
        channel.shutdownNow();
    }

    static RequestSpecification admin() {
        return given().header("X-API-Key", ADMIN_KEY);
    }

    /** The entries of one tenant as the admin reads them, newest first. */
    static List<Map<String, Object>> entries(String tenantId) {
        return admin().queryParam("tenantId", tenantId)
                .get("/v1/audit")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath()
                .getList("items");
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> actor(Map<String, Object> entry) {
        return (Map<String, Object>) entry.get("actor");
    }

    @Test
    void restAdminChanges_areRecordedWithActorAddressAndRequestId() {
        String tenantId = admin().header("X-Request-Id", "req-create-1")
                .header("X-Forwarded-For", "203.0.113.9") // no trusted proxy configured: must be ignored
                .contentType("application/json")
                .body(Map.of("name", "audit-" + System.nanoTime()))
                .post("/v1/admin/tenants")
                .then()
                .statusCode(201)
                .extract()
                .path("tenant.id");
        String keyId = admin().post("/v1/admin/tenants/" + tenantId + "/keys")
                .then()
                .statusCode(201)
                .extract()
                .path("id");
        admin().delete("/v1/admin/tenants/" + tenantId + "/keys/" + keyId)
                .then()
                .statusCode(204);

        List<Map<String, Object>> e = entries(tenantId);
        assertThat(e).extracting(m -> m.get("action")).containsExactly("key.revoke", "key.create", "tenant.create");
        Map<String, Object> created = e.get(2);
        assertThat(created)
                .containsEntry("tenantId", tenantId)
                .containsEntry("targetId", tenantId)
                .containsEntry("outcome", "ok")
                .containsEntry("remoteAddress", "127.0.0.1")
                .containsEntry("requestId", "req-create-1");
        assertThat(actor(created)).containsEntry("kind", "admin").containsEntry("keyId", null);
        assertThat(e.get(1)).containsEntry("targetId", keyId);
        assertThat(e.get(0)).containsEntry("targetId", keyId).containsEntry("requestId", null);
        assertThat(Instant.parse((String) created.get("time")))
                .isBetween(Instant.now().minusSeconds(60), Instant.now());

        // the entries outlive the tenant (no cascade), and its deletion is one more
        admin().delete("/v1/admin/tenants/" + tenantId).then().statusCode(204);
        assertThat(entries(tenantId))
                .extracting(m -> m.get("action"))
                .containsExactly("tenant.delete", "key.revoke", "key.create", "tenant.create");
    }

    @Test
    void openApi_documentsTheAuditResource() {
        given().get("/q/openapi")
                .then()
                .statusCode(200)
                .body(org.hamcrest.Matchers.containsString("/v1/audit"))
                .body(org.hamcrest.Matchers.containsString("AuditEntryView"));
    }

    @Test
    void grpcTenantChanges_areRecordedWithKeyIdAndPeerAddress() {
        TestTenant t = ApiFixtures.tenant();
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), t.key());
        md.put(Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER), "rig-7");
        var stub = PromptRegistryGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
        CreatePromptSetRequest.Builder req =
                CreatePromptSetRequest.newBuilder().setName("line").setCategory("screw");
        TestImages.normals(2).forEach(b -> req.addShots(ByteString.copyFrom(b)));
        String setId = stub.createPromptSet(req.build()).getId();
        stub.deletePromptSet(DeletePromptSetRequest.newBuilder().setId(setId).build());
        assertThatThrownBy(() -> stub.deletePromptSet(
                        DeletePromptSetRequest.newBuilder().setId(setId).build()))
                .isInstanceOf(StatusRuntimeException.class);

        List<Map<String, Object>> e = entries(t.id());
        assertThat(e)
                .extracting(m -> m.get("action") + " " + m.get("outcome"))
                .containsExactly(
                        "prompt_set.delete NOT_FOUND",
                        "prompt_set.delete ok",
                        "prompt_set.create ok",
                        "tenant.create ok");
        for (Map<String, Object> m : e.subList(0, 3)) {
            assertThat(m)
                    .containsEntry("targetId", setId)
                    .containsEntry("remoteAddress", "127.0.0.1")
                    .containsEntry("requestId", "rig-7");
            assertThat(m.get("actor")).isEqualTo(Map.of("kind", "key", "tenantId", t.id(), "keyId", t.keyId()));
        }
    }

    /** Issue 20 item 10: a refused attempt must not write text of the caller's choosing into the log. */
    @Test
    void refusedAttempts_recordNoClientChosenText() {
        TestTenant t = ApiFixtures.tenant();
        String forged = "x\nERROR forged line " + "y".repeat(300);
        as(t).delete("/v1/prompt-sets/{id}", forged).then().statusCode(404);
        String plausible = "00000000-0000-0000-0000-000000000000";
        as(t).delete("/v1/prompt-sets/{id}", plausible).then().statusCode(404);

        List<Map<String, Object>> e = entries(t.id());
        assertThat(e)
                .extracting(m -> m.get("action") + " " + m.get("outcome") + " " + m.get("targetId"))
                .startsWith(
                        "prompt_set.delete NOT_FOUND " + plausible, // the shape of an issued id: kept
                        "prompt_set.delete NOT_FOUND (not an id)");
    }

    @Test
    void restTenantChanges_templatesThresholdKeys() {
        TestTenant t = ApiFixtures.tenant();
        String tid = as(t).contentType("application/json")
                .body(Map.of(
                        "name",
                        "tpl",
                        "normalStates",
                        List.of("{}"),
                        "anomalousStates",
                        List.of("broken {}"),
                        "templates",
                        List.of("a photo of a {}.")))
                .post("/v1/templates")
                .then()
                .statusCode(201)
                .extract()
                .path("id");
        as(t).delete("/v1/templates/" + tid).then().statusCode(204);
        String setId = ApiFixtures.register(t, "s", 2);
        as(t).contentType("application/json")
                .body(Map.of("threshold", 0.4))
                .put("/v1/prompt-sets/" + setId + "/threshold")
                .then()
                .statusCode(200);
        String rotated = as(t).post("/v1/keys/" + t.keyId() + "/rotate")
                .then()
                .statusCode(201)
                .extract()
                .path("key");

        List<Map<String, Object>> e = entries(t.id());
        assertThat(e)
                .extracting(m -> m.get("action") + " " + m.get("targetId"))
                .containsExactly(
                        "key.rotate " + t.keyId(),
                        "prompt_set.threshold " + setId,
                        "prompt_set.create " + setId,
                        "template.delete " + tid,
                        "template.create " + tid,
                        "tenant.create " + t.id());
        // the tenant reads its own log with the new key; the admin's creation shows without the admin's address
        JsonPath own = given().header("X-API-Key", rotated)
                .get("/v1/audit")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
        assertThat(own.getList("items.action")).hasSize(6);
        assertThat(own.getString("items[5].remoteAddress")).isNull();
        assertThat(own.getString("items[0].remoteAddress")).isEqualTo("127.0.0.1");
    }

    @Test
    void tenant_cannotReadAnotherTenantsEntries() {
        TestTenant a = ApiFixtures.tenant();
        TestTenant b = ApiFixtures.tenant();
        ApiFixtures.register(a, "secret-line", 2);
        as(b).queryParam("tenantId", a.id())
                .get("/v1/audit")
                .then()
                .statusCode(403)
                .contentType("application/problem+json")
                .body("reason", equalTo("OTHER_TENANT"));
        List<String> tenants = as(b).queryParam("pageSize", 500)
                .get("/v1/audit")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath()
                .getList("items.tenantId");
        assertThat(tenants).isNotEmpty().containsOnly(b.id());
    }

    @Test
    void filters_andPagination() {
        TestTenant t = ApiFixtures.tenant();
        Instant before = Instant.now();
        for (int i = 0; i < 3; i++) {
            as(t).post("/v1/keys").then().statusCode(201);
        }
        JsonPath p1 = admin().queryParam("tenantId", t.id())
                .queryParam("action", "key.create")
                .queryParam("pageSize", 2)
                .get("/v1/audit")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
        assertThat(p1.getList("items.action")).containsExactly("key.create", "key.create");
        String token = p1.getString("nextPageToken");
        assertThat(token).isNotEmpty();
        JsonPath p2 = admin().queryParam("tenantId", t.id())
                .queryParam("action", "key.create")
                .queryParam("pageSize", 2)
                .queryParam("pageToken", token)
                .get("/v1/audit")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
        assertThat(p2.getList("items.action")).containsExactly("key.create");
        assertThat(p2.getString("nextPageToken")).isEmpty();
        assertThat(p2.getLong("items[0].id")).isLessThan(p1.getLong("items[1].id"));
        // the time range: nothing of this tenant before the keys except its creation
        assertThat(admin().queryParam("tenantId", t.id())
                        .queryParam("until", before.toString())
                        .get("/v1/audit")
                        .then()
                        .statusCode(200)
                        .extract()
                        .jsonPath()
                        .getList("items.action"))
                .containsExactly("tenant.create");
        assertThat(admin().queryParam("tenantId", t.id())
                        .queryParam("since", before.toString())
                        .get("/v1/audit")
                        .then()
                        .extract()
                        .jsonPath()
                        .getList("items"))
                .hasSize(3);
        admin().queryParam("action", "tenant.explode")
                .get("/v1/audit")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("reason", equalTo("INVALID_PARAMETER"));
        admin().queryParam("since", "yesterday")
                .get("/v1/audit")
                .then()
                .statusCode(400)
                .body("reason", equalTo("INVALID_PARAMETER"));
        given().get("/v1/audit").then().statusCode(401);
    }

    @Test
    void retention_purgesEntriesOlderThanTheRetention() throws InterruptedException {
        TestTenant old = ApiFixtures.tenant();
        Instant oldTime = Instant.parse((String) entries(old.id()).get(0).get("time"));
        Thread.sleep(5);
        TestTenant recent = ApiFixtures.tenant();
        // as if now were 90 days (inctrl.audit.retention default) after the first creation, plus a microsecond
        int purged = retention.purge(oldTime.plus(Duration.ofDays(90)).plusNanos(1_000));
        assertThat(purged).isPositive();
        assertThat(entries(old.id())).isEmpty();
        assertThat(entries(recent.id())).extracting(m -> m.get("action")).containsExactly("tenant.create");
    }
}
