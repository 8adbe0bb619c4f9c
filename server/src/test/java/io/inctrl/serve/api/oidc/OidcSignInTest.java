package io.inctrl.serve.api.oidc;

import static io.inctrl.serve.api.ApiFixtures.ADMIN_KEY;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;

import io.inctrl.serve.api.ApiFixtures;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.specification.RequestSpecification;
import io.smallrye.jwt.build.Jwt;
import io.smallrye.jwt.build.JwtClaimsBuilder;
import java.security.KeyPairGenerator;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * OIDC bearer tokens on the REST API: roles map to admin or one tenant, the tenant boundary holds as with keys, and
 * a token from another issuer, an expired one or one with a bad signature is a 401 problem. API keys keep working.
 */
@QuarkusTest
@TestProfile(OidcProfile.class)
class OidcSignInTest {

    private static JwtClaimsBuilder claims(Set<String> groups) {
        return Jwt.issuer(OidcProfile.ISSUER)
                .subject("alice")
                .preferredUserName("alice")
                .groups(groups)
                .expiresAt(Instant.now().plusSeconds(300));
    }

    private static RequestSpecification bearer(String token) {
        return given().header("Authorization", "Bearer " + token);
    }

    @Test
    void adminToken_managesTenants() {
        String admin = claims(Set.of("inctrl-admin")).sign();
        String id = bearer(admin)
                .contentType("application/json")
                .body("{\"name\":\"oidc-made\"}")
                .post("/v1/admin/tenants")
                .then()
                .statusCode(201)
                .extract()
                .path("tenant.id");
        bearer(admin).get("/v1/admin/tenants").then().statusCode(200).body("id", hasItem(id));
    }

    @Test
    void tenantToken_seesOnlyItsTenant() {
        TestTenant a = ApiFixtures.tenant();
        TestTenant b = ApiFixtures.tenant();
        String setOfA = ApiFixtures.register(a, "of-a", 2);
        String tokenA = claims(Set.of("inctrl-tenant:" + a.id())).sign();
        String tokenB = claims(Set.of("staff", "inctrl-tenant:" + b.id())).sign();

        bearer(tokenA).get("/v1/prompt-sets/" + setOfA).then().statusCode(200).body("id", equalTo(setOfA));
        bearer(tokenA).get("/v1/prompt-sets").then().statusCode(200).body("items.id", hasItem(setOfA));
        // the other tenant's token: the set does not exist for it, and it lists none of A's
        bearer(tokenB).get("/v1/prompt-sets/" + setOfA).then().statusCode(404);
        bearer(tokenB).get("/v1/prompt-sets").then().statusCode(200).body("items.id", not(hasItem(setOfA)));
        // a tenant is no admin
        bearer(tokenA)
                .get("/v1/admin/tenants")
                .then()
                .statusCode(403)
                .contentType("application/problem+json")
                .body("reason", equalTo("ADMIN_KEY_REQUIRED"));
    }

    @Test
    void tenantClaim_namesTheTenant() {
        TestTenant a = ApiFixtures.tenant();
        String setOfA = ApiFixtures.register(a, "by-claim", 2);
        String token = claims(Set.of()).claim("inctrl_tenant", a.id()).sign();
        bearer(token).get("/v1/prompt-sets/" + setOfA).then().statusCode(200);
    }

    @Test
    void tokenWithoutInctrlRoleOrForUnknownTenant_is403() {
        bearer(claims(Set.of("staff")).sign())
                .get("/v1/prompt-sets")
                .then()
                .statusCode(403)
                .contentType("application/problem+json")
                .body("reason", equalTo("NO_INCTRL_ROLE"));
        bearer(claims(Set.of("inctrl-tenant:no-such-tenant")).sign())
                .get("/v1/prompt-sets")
                .then()
                .statusCode(403)
                .body("reason", equalTo("UNKNOWN_TENANT"));
    }

    @Test
    void foreignExpiredOrForgedToken_is401ProblemJson() throws Exception {
        String wrongIssuer = Jwt.issuer("https://evil.example.com")
                .groups(Set.of("inctrl-admin"))
                .expiresAt(Instant.now().plusSeconds(300))
                .sign();
        String expired = Jwt.issuer(OidcProfile.ISSUER)
                .groups(Set.of("inctrl-admin"))
                .issuedAt(Instant.now().minusSeconds(7200))
                .expiresAt(Instant.now().minusSeconds(3600))
                .sign();
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        String forged = claims(Set.of("inctrl-admin"))
                .jws()
                .keyId("1")
                .sign(g.generateKeyPair().getPrivate());
        for (String token : new String[] {wrongIssuer, expired, forged, "not-a-jwt"}) {
            bearer(token)
                    .get("/v1/admin/tenants")
                    .then()
                    .statusCode(401)
                    .contentType("application/problem+json")
                    .body("reason", equalTo("INVALID_TOKEN"));
        }
    }

    @Test
    void apiKeys_stillWork_andWinOverAToken() {
        given().header("X-API-Key", ADMIN_KEY).get("/v1/admin/tenants").then().statusCode(200);
        // machines send keys: a key decides even next to a (here useless) token
        given().header("X-API-Key", ADMIN_KEY)
                .header("Authorization", "Bearer not-a-jwt")
                .get("/v1/admin/tenants")
                .then()
                .statusCode(200);
        given().get("/v1/admin/tenants").then().statusCode(401).body("reason", equalTo("MISSING_API_KEY"));
    }
}
