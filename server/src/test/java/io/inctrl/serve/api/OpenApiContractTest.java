package io.inctrl.serve.api;

import static io.inctrl.serve.api.ApiFixtures.as;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The OpenAPI document, fetched from the public HTTP port where it is served (not the management port), declares
 * the X-API-Key scheme on every /v1 operation and the problem+json error responses the server really sends.
 */
@QuarkusTest
@TestProfile(FakeModelProfile.class)
class OpenApiContractTest {

    private static final String PROBLEM_REF = "#/components/schemas/Problem";

    JsonNode document() throws Exception {
        String json = given().accept("application/json")
                .get("/q/openapi?format=json")
                .then()
                .statusCode(200)
                .extract()
                .asString();
        return new ObjectMapper().readTree(json);
    }

    @Test
    void declares_the_api_key_header_scheme_and_requires_it_on_every_v1_operation() throws Exception {
        JsonNode doc = document();
        JsonNode scheme = doc.at("/components/securitySchemes/ApiKey");
        assertThat(scheme.path("type").asText()).isEqualTo("apiKey");
        assertThat(scheme.path("in").asText()).isEqualTo("header");
        assertThat(scheme.path("name").asText()).isEqualTo("X-API-Key");

        List<String> checked = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> paths = doc.path("paths").fields(); paths.hasNext(); ) {
            Map.Entry<String, JsonNode> path = paths.next();
            if (!path.getKey().startsWith("/v1/")) {
                continue;
            }
            for (Iterator<Map.Entry<String, JsonNode>> ops = path.getValue().fields(); ops.hasNext(); ) {
                Map.Entry<String, JsonNode> op = ops.next();
                String where = op.getKey().toUpperCase() + " " + path.getKey();
                assertThat(op.getValue().at("/security/0").has("ApiKey"))
                        .as(where + " requires ApiKey")
                        .isTrue();
                for (String status : List.of("400", "401", "403", "429", "500", "503")) {
                    assertThat(problemRef(op.getValue(), status))
                            .as(where + " " + status)
                            .isEqualTo(PROBLEM_REF);
                }
                if (path.getKey().contains("{")) {
                    assertThat(problemRef(op.getValue(), "404"))
                            .as(where + " 404")
                            .isEqualTo(PROBLEM_REF);
                }
                checked.add(where);
            }
        }
        assertThat(checked).contains("POST /v1/prompt-sets", "GET /v1/prompt-sets/{id}", "POST /v1/admin/tenants");
        assertThat(doc.at("/paths/~1v1~1prompt-sets/get/responses/200/content/application~1json")
                        .isMissingNode())
                .as("success responses stay as generated")
                .isFalse();
    }

    @Test
    void the_problem_schema_matches_a_real_error_body() throws Exception {
        JsonNode schema = document().at("/components/schemas/Problem");
        assertThat(schema.path("properties").has("reason")).isTrue();
        assertThat(schema.path("properties").has("status")).isTrue();

        TestTenant t = ApiFixtures.tenant();
        Map<String, Object> body = as(t).get("/v1/prompt-sets/no-such-set")
                .then()
                .statusCode(404)
                .contentType("application/problem+json")
                .extract()
                .as(Map.class);
        List<String> declared = new ArrayList<>();
        schema.path("properties").fieldNames().forEachRemaining(declared::add);
        assertThat(declared).containsAll(body.keySet());
        given().get("/v1/prompt-sets").then().statusCode(401).contentType("application/problem+json");
    }

    private static String problemRef(JsonNode op, String status) {
        return op.path("responses")
                .path(status)
                .path("content")
                .path("application/problem+json")
                .path("schema")
                .path("$ref")
                .asText(null);
    }
}
