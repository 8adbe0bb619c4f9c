package io.inctrl.serve.api;

import static io.inctrl.serve.api.ApiFixtures.as;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;

import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.registry.FakeModelPort;
import io.inctrl.serve.registry.TestImages;
import io.inctrl.serve.registry.TestStores;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * The app on the PostgreSQL datasource (runtime-activated, H2 deactivated), as in production. Runs when
 * INCTRL_TEST_PG_URL is set; the store contract itself is covered on both stores by RegistryStoreTest.
 */
@QuarkusTest
@TestProfile(PostgresStoreApiTest.Postgres.class)
@EnabledIf("io.inctrl.serve.api.PostgresStoreApiTest#pgConfigured")
class PostgresStoreApiTest {

    public static class Postgres implements QuarkusTestProfile {
        @Override
        public Set<Class<?>> getEnabledAlternatives() {
            return Set.of(FakeModelPort.class);
        }

        @Override
        public Map<String, String> getConfigOverrides() {
            String url = TestStores.pgUrl();
            return Map.of(
                    "inctrl.security.enabled",
                    "true",
                    "quarkus.datasource.active",
                    "false",
                    "quarkus.datasource.pg.active",
                    "true",
                    "quarkus.datasource.pg.jdbc.url",
                    url == null ? "jdbc:postgresql://localhost/none" : url,
                    "quarkus.datasource.pg.username",
                    "inctrl",
                    "quarkus.datasource.pg.password",
                    "inctrl");
        }
    }

    static boolean pgConfigured() {
        String url = TestStores.pgUrl();
        return url != null && !url.isBlank();
    }

    @Test
    void registerListScoreDelete_onPostgres() {
        TestTenant t = ApiFixtures.tenant();
        String id = ApiFixtures.upload(t, "pg-set", "screw", TestImages.normals(3))
                .multiPart("fp16", "true")
                .post("/v1/prompt-sets")
                .then()
                .statusCode(201)
                .extract()
                .path("id");
        as(t).get("/v1/prompt-sets").then().statusCode(200).body("items[0].id", equalTo(id));
        as(t).multiPart("image", "q.png", TestImages.anomalous(1), "image/png")
                .post("/v1/prompt-sets/" + id + "/score")
                .then()
                .statusCode(200);
        ApiFixtures.upload(t, "pg-set", "screw", TestImages.normals(3))
                .post("/v1/prompt-sets")
                .then()
                .statusCode(409);
        as(t).delete("/v1/prompt-sets/" + id).then().statusCode(204);
        as(t).get("/v1/prompt-sets/" + id).then().statusCode(404);
        // the audit log lives in the same PostgreSQL database: each change and the refused duplicate
        as(t).get("/v1/audit")
                .then()
                .statusCode(200)
                .body(
                        "items.action",
                        contains("prompt_set.delete", "prompt_set.create", "prompt_set.create", "tenant.create"))
                .body("items.outcome", contains("ok", "DUPLICATE_NAME", "ok", "ok"))
                .body("items[0].actor.keyId", equalTo(t.keyId()))
                .body("items[0].remoteAddress", equalTo("127.0.0.1"));
    }
}
