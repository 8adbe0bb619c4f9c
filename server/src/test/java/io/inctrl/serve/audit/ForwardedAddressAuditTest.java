package io.inctrl.serve.audit;

import static io.inctrl.serve.api.ApiFixtures.ADMIN_KEY;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import io.inctrl.serve.registry.FakeModelPort;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Behind a trusted proxy (Quarkus' forwarding enabled, the test client's 127.0.0.1 trusted) the audit log records
 * the client address from X-Forwarded-For; {@link AuditApiTest} shows the header is ignored when forwarding is off.
 */
@QuarkusTest
@TestProfile(ForwardedAddressAuditTest.TrustedProxy.class)
class ForwardedAddressAuditTest {

    public static class TrustedProxy implements QuarkusTestProfile {
        @Override
        public Set<Class<?>> getEnabledAlternatives() {
            return Set.of(FakeModelPort.class);
        }

        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "inctrl.security.enabled", "true",
                    "quarkus.http.proxy.proxy-address-forwarding", "true",
                    "quarkus.http.proxy.allow-x-forwarded", "true",
                    "quarkus.http.proxy.trusted-proxies", "127.0.0.1");
        }
    }

    @Test
    void trustedProxy_forwardedClientAddressIsRecorded() {
        String tenantId = given().header("X-API-Key", ADMIN_KEY)
                .header("X-Forwarded-For", "203.0.113.9")
                .contentType("application/json")
                .body(Map.of("name", "proxied-" + System.nanoTime()))
                .post("/v1/admin/tenants")
                .then()
                .statusCode(201)
                .extract()
                .path("tenant.id");
        given().header("X-API-Key", ADMIN_KEY)
                .queryParam("tenantId", tenantId)
                .get("/v1/audit")
                .then()
                .statusCode(200)
                .body("items[0].action", equalTo("tenant.create"))
                .body("items[0].remoteAddress", equalTo("203.0.113.9"));
    }
}
