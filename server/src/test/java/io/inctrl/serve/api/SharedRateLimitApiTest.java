package io.inctrl.serve.api;

import static io.inctrl.serve.api.ApiFixtures.as;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.registry.TestStores;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * The app on PostgreSQL keeps tenant rate buckets in the registry database (the pg-only migration ran), so other
 * replicas see them. Shares PostgresStoreApiTest's profile: no extra Quarkus restart.
 */
@QuarkusTest
@TestProfile(PostgresStoreApiTest.Postgres.class)
@EnabledIf("io.inctrl.serve.api.PostgresStoreApiTest#pgConfigured")
class SharedRateLimitApiTest {

    @Test
    void requestRate_isCountedInTheDatabase() throws Exception {
        TestTenant t = ApiFixtures.tenant(Map.of("maxPromptSets", 1, "maxShotsPerSet", 4, "requestsPerSecond", 0.2));
        as(t).get("/v1/prompt-sets").then().statusCode(200);
        as(t).get("/v1/prompt-sets").then().statusCode(429).body("reason", equalTo("RATE_LIMITED"));

        try (Connection c = DriverManager.getConnection(TestStores.pgUrl(), "inctrl", "inctrl");
                PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM rate_limit_buckets WHERE id LIKE ?")) {
            ps.setString(1, t.id() + "@%");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(1);
            }
        }
    }
}
