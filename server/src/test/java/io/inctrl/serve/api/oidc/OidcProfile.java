package io.inctrl.serve.api.oidc;

import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.oidc.server.OidcWiremockTestResource;
import java.util.List;
import java.util.Map;

/**
 * Security on with OIDC sign-in against a local identity provider (WireMock: discovery document and JWKS on a random
 * port; tokens signed with its test key by smallrye-jwt-build). Nothing outside the machine is reached.
 */
public class OidcProfile implements QuarkusTestProfile {

    public static final String ISSUER = "https://server.example.com";

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "inctrl.security.enabled", "true",
                "inctrl.security.oidc.enabled", "true",
                "quarkus.oidc.auth-server-url", "${keycloak.url}/realms/quarkus/",
                "quarkus.oidc.token.issuer", ISSUER);
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(OidcWiremockTestResource.class));
    }
}
