package io.inctrl.serve.api;

import static io.inctrl.serve.api.ApiFixtures.as;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.notNullValue;

import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.registry.TestImages;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the console adds to the server: its static files with security headers, model info, template previews. */
@QuarkusTest
@TestProfile(FakeModelProfile.class)
class ConsoleApiTest {

    static final Map<String, Object> EDITED = Map.of(
            "category",
            "metal_nut",
            "normalStates",
            List.of("{}", "pristine {}"),
            "anomalousStates",
            List.of("broken {}"),
            "templates",
            List.of("a photo of a {}.", "an inspection image of the {}."));

    @Test
    void console_servedWithStrictHeaders_andNoCookies() {
        Response r = given().get("/console/")
                .then()
                .statusCode(200)
                .contentType(containsString("text/html"))
                .header("Content-Security-Policy", containsString("default-src 'none'"))
                .header("Content-Security-Policy", containsString("script-src 'self'"))
                .header("Content-Security-Policy", containsString("frame-ancestors 'none'"))
                .header("X-Content-Type-Options", "nosniff")
                .header("X-Frame-Options", "DENY")
                .header("Referrer-Policy", "no-referrer")
                .extract()
                .response();
        assertThat(r.getHeaders().hasHeaderWithName("Set-Cookie")).isFalse();
        assertThat(r.asString())
                .doesNotContain("<script>")
                .doesNotContain("http://")
                .doesNotContain("https://");
        given().get("/console/js/app.js")
                .then()
                .statusCode(200)
                .header("Content-Security-Policy", containsString("default-src 'none'"));
        given().redirects().follow(false).get("/console").then().statusCode(308).header("Location", "/console/");
    }

    @Test
    void modelInfo_needsAKey_andReportsTheBundle() {
        given().get("/v1/model").then().statusCode(401);
        TestTenant t = ApiFixtures.tenant();
        as(t).get("/v1/model")
                .then()
                .statusCode(200)
                .body("bundleId", notNullValue())
                .body("kind", equalTo("inctrl"))
                .body("inctrl", equalTo(true))
                .body("mode", containsString("InCTRL"))
                .body("randomWeights", equalTo(true))
                .body("mapHeight", equalTo(15));
        given().header("X-API-Key", ApiFixtures.ADMIN_KEY)
                .get("/v1/model")
                .then()
                .statusCode(200);
    }

    @Test
    void preview_listsSentencesWithTokenCounts() {
        TestTenant t = ApiFixtures.tenant();
        as(t).contentType("application/json")
                .body(EDITED)
                .post("/v1/templates/preview")
                .then()
                .statusCode(200)
                .body("category", equalTo("metal_nut"))
                .body("maxTokens", equalTo(77))
                .body("normal", hasSize(4))
                .body("anomalous", hasSize(2))
                .body("normal[1].text", equalTo("an inspection image of the metal nut."))
                .body("normal.tokens", everyItem(lessThanOrEqualTo(77)))
                .body("tooLong", equalTo(0));
    }

    @Test
    void preview_flagsLongSentences_andRejectsMissingSlot() {
        TestTenant t = ApiFixtures.tenant();
        String longTemplate = "a photo of the {} " + "very ".repeat(80) + "closely.";
        as(t).contentType("application/json")
                .body(Map.of(
                        "category",
                        "screw",
                        "normalStates",
                        List.of("{}"),
                        "anomalousStates",
                        List.of("bad {}"),
                        "templates",
                        List.of("a photo of a {}.", longTemplate)))
                .post("/v1/templates/preview")
                .then()
                .statusCode(200)
                .body("tooLong", equalTo(2))
                .body("normal[1].tooLong", equalTo(true));
        as(t).contentType("application/json")
                .body(Map.of(
                        "category",
                        "screw",
                        "normalStates",
                        List.of("flawless"),
                        "anomalousStates",
                        List.of("bad {}"),
                        "templates",
                        List.of("a photo of a {}.")))
                .post("/v1/templates/preview")
                .then()
                .statusCode(400)
                .contentType(containsString("application/problem+json"))
                .body("reason", equalTo("TEMPLATE_MISSING_SLOT"))
                .body("detail", containsString("flawless"));
    }

    @Test
    void previewScore_comparesEditedAndDefaultTextPrior() {
        TestTenant t = ApiFixtures.tenant();
        String templates =
                "{\"normalStates\":[\"{}\"],\"anomalousStates\":[\"broken {}\"],\"templates\":[\"a photo of a {}.\"]}";
        Response r = as(t).multiPart("image", "q.png", TestImages.anomalous(3), "image/png")
                .multiPart("category", "screw")
                .multiPart("templates", templates)
                .post("/v1/templates/preview/score")
                .then()
                .statusCode(200)
                .body("category", equalTo("screw"))
                .body("editedSA", notNullValue())
                .body("defaultSA", notNullValue())
                .extract()
                .response();
        float edited = r.path("editedSA");
        float defaults = r.path("defaultSA");
        assertThat(edited).isBetween(0f, 1f).isNotEqualTo(defaults);
        assertThat((float) r.path("delta")).isCloseTo(edited - defaults, org.assertj.core.data.Offset.offset(1e-6f));
        // without templates both sides are the defaults
        as(t).multiPart("image", "q.png", TestImages.anomalous(3), "image/png")
                .multiPart("category", "screw")
                .post("/v1/templates/preview/score")
                .then()
                .statusCode(200)
                .body("delta", equalTo(0f));
    }

    @Test
    void previewScore_badInputIsAProblem() {
        TestTenant t = ApiFixtures.tenant();
        as(t).multiPart("image", "q.png", TestImages.undecodable(), "image/png")
                .multiPart("category", "screw")
                .post("/v1/templates/preview/score")
                .then()
                .statusCode(400)
                .contentType(containsString("application/problem+json"))
                .body("reason", equalTo("UNDECODABLE_IMAGE"));
        as(t).multiPart("category", "screw")
                .post("/v1/templates/preview/score")
                .then()
                .statusCode(400)
                .body("reason", equalTo("EMPTY_IMAGE"));
        as(t).multiPart("image", "q.png", TestImages.normal(1), "image/png")
                .multiPart("category", "screw")
                .multiPart("templates", "{not json")
                .post("/v1/templates/preview/score")
                .then()
                .statusCode(400)
                .body("reason", equalTo("MALFORMED_TEMPLATES"));
        given().header("X-API-Key", "wrong")
                .multiPart("category", "screw")
                .post("/v1/templates/preview/score")
                .then()
                .statusCode(401);
    }
}
