package io.inctrl.serve.api;

import static io.inctrl.serve.api.ApiFixtures.as;
import static io.inctrl.serve.api.ApiFixtures.upload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.api.v1.CreatePromptSetRequest;
import io.inctrl.serve.registry.PromptSetService;
import io.inctrl.serve.registry.TemplateService;
import io.inctrl.serve.registry.TestImages;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.net.URL;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every kind of bad input gets a typed error with a clear message, and nothing of it is stored. */
@QuarkusTest
@TestProfile(FakeModelProfile.class)
class BadInputApiTest {

    @TestHTTPResource("/")
    URL url;

    @Inject
    PromptSetService service;

    @Inject
    TemplateService templates;

    ManagedChannel channel;
    TestTenant t;

    @BeforeEach
    void setUp() {
        channel = ApiFixtures.channel();
        t = ApiFixtures.tenant(Map.of("maxPromptSets", 10, "maxShotsPerSet", 4, "requestsPerSecond", 1000));
    }

    @AfterEach
    void tearDown() {
        channel.shutdownNow();
        assertThat(templates.list(t.id())).isEmpty();
    }

    @Test
    void corruptImage() {
        rejected(withLast(TestImages.corrupt()), 400, "UNDECODABLE_IMAGE", "cannot be decoded");
    }

    @Test
    void zeroByteImage() {
        rejected(withLast(new byte[0]), 400, "EMPTY_IMAGE", "shot 2 (0-based) is empty (0 bytes)");
    }

    @Test
    void oversizeImage() {
        rejected(withLast(new byte[262_145]), 400, "IMAGE_TOO_LARGE", "the limit is 262144");
    }

    @Test
    void undecodableImage() {
        rejected(withLast(TestImages.undecodable()), 400, "UNDECODABLE_IMAGE", "cannot be decoded");
    }

    @Test
    void noShots() {
        rejected(List.of(), 400, "NO_SHOTS", "at least one shot");
    }

    @Test
    void tooManyShots() {
        // the same code as on Score: a request too big for the tenant is fixed by sending fewer shots, not by waiting
        rejected(TestImages.normals(5), 400, "TOO_MANY_SHOTS", "5 shots exceed the limit of 4");
    }

    @Test
    void unknownIds() {
        as(t).get("/v1/prompt-sets/unknown")
                .then()
                .statusCode(404)
                .body("detail", equalTo("prompt set 'unknown' not found"));
        as(t).get("/v1/templates/unknown")
                .then()
                .statusCode(404)
                .body("detail", equalTo("template set 'unknown' not found"));
        upload(t, "x", "screw", TestImages.normals(2))
                .multiPart("templateId", "unknown")
                .post("/v1/prompt-sets")
                .then()
                .statusCode(404)
                .body("detail", equalTo("template set 'unknown' not found"));
        assertNothingStored();
    }

    @Test
    void duplicateName() {
        ApiFixtures.register(t, "dup", 2);
        upload(t, "dup", "screw", TestImages.normals(2))
                .post("/v1/prompt-sets")
                .then()
                .statusCode(409)
                .body("reason", equalTo("DUPLICATE_NAME"))
                .body("detail", equalTo("a prompt set named 'dup' already exists"));
        assertThat(service.list(t.id(), 10, null).items()).hasSize(1);
    }

    @Test
    void templateMissingPlaceholder() {
        as(t).contentType("application/json")
                .body(Map.of(
                        "name",
                        "bad",
                        "normalStates",
                        List.of("{}"),
                        "anomalousStates",
                        List.of("damaged"),
                        "templates",
                        List.of("a photo of a {}.")))
                .post("/v1/templates")
                .then()
                .statusCode(400)
                .body("reason", equalTo("TEMPLATE_MISSING_SLOT"))
                .body("detail", equalTo("anomalous state 'damaged' must contain the placeholder {}"));
    }

    @Test
    void sentenceOver77Tokens_inTemplate() {
        String longTemplate = "a photo of a {} " + "and more words ".repeat(30);
        as(t).contentType("application/json")
                .body(Map.of(
                        "name",
                        "long",
                        "normalStates",
                        List.of("{}"),
                        "anomalousStates",
                        List.of("bad {}"),
                        "templates",
                        List.of(longTemplate)))
                .post("/v1/templates")
                .then()
                .statusCode(400)
                .body("reason", equalTo("SENTENCE_TOO_LONG"))
                .body("detail", containsString("CLIP's limit is 77"));
    }

    @Test
    void sentenceOver77Tokens_fromCategory() {
        String category = "x.".repeat(60); // 120 characters (fine as a name) but 120 tokens: too long in any sentence
        upload(t, "long-category", category, TestImages.normals(2))
                .post("/v1/prompt-sets")
                .then()
                .statusCode(400)
                .body("reason", equalTo("SENTENCE_TOO_LONG"));
        assertNothingStored();
    }

    /** 1000 states x 1000 templates (2,000,000 sentences in a 32 KiB body) was accepted, a bigger one ran out of heap. */
    @Test
    void templateYieldingMoreSentencesThanTheLimit_isA400_countedBeforeExpanding() {
        List<String> states = new ArrayList<>();
        List<String> tmpl = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            states.add("s" + i + " {}");
            tmpl.add("t" + i + " {}.");
        }
        as(t).contentType("application/json")
                .body(Map.of("name", "huge", "normalStates", states, "anomalousStates", states, "templates", tmpl))
                .post("/v1/templates")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("reason", equalTo("TOO_MANY_SENTENCES"))
                .body("detail", containsString("2000000 sentences"))
                .body("detail", containsString("5000"));
        as(t).contentType("application/json")
                .body(Map.of("category", "screw", "normalStates", states, "anomalousStates", states, "templates", tmpl))
                .post("/v1/templates/preview")
                .then()
                .statusCode(400)
                .body("reason", equalTo("TOO_MANY_SENTENCES"));
    }

    @Test
    void templateWhoseSentencesNeedMoreTokensThanTheBudget_isA400() {
        List<String> tmpl = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            tmpl.add("a photo of a {} " + "and more words ".repeat(8) + i); // 60 sentences per state, ~30 tokens each
        }
        List<String> states = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            states.add("{} " + "quite ".repeat(20)); // +20 tokens: 4,800 sentences of ~52 tokens > 100,000
        }
        as(t).contentType("application/json")
                .body(Map.of("name", "wordy", "normalStates", states, "anomalousStates", states, "templates", tmpl))
                .post("/v1/templates")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("reason", equalTo("TOO_MANY_TOKENS"))
                .body("detail", containsString("100000"));
    }

    /** Was a 503 whose body carried the full SQL INSERT. */
    @Test
    void templateTooLargeToStore_isA400NamingTheLimit_andNoSqlInAnyBody() {
        List<String> tmpl = new ArrayList<>();
        for (int i = 0; i < 700; i++) { // about 222,000 characters of JSON: more than the 200,000 column
            tmpl.add("a photo of a {} " + "w".repeat(300) + i);
        }
        String body = as(t).contentType("application/json")
                .body(Map.of(
                        "name",
                        "wide",
                        "normalStates",
                        List.of("{}"),
                        "anomalousStates",
                        List.of("bad {}"),
                        "templates",
                        tmpl))
                .post("/v1/templates")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("reason", equalTo("TEMPLATE_TOO_LARGE"))
                .body("detail", containsString("100000"))
                .extract()
                .asString();
        assertThat(body).doesNotContainIgnoringCase("insert into").doesNotContain("SQL");
        String one = "a photo of a {} " + "w".repeat(2000);
        as(t).contentType("application/json")
                .body(Map.of(
                        "name",
                        "long-entry",
                        "normalStates",
                        List.of("{}"),
                        "anomalousStates",
                        List.of("bad {}"),
                        "templates",
                        List.of(one)))
                .post("/v1/templates")
                .then()
                .statusCode(400)
                .body("reason", equalTo("TEMPLATE_TOO_LARGE"))
                .body("detail", containsString("1000"));
    }

    @Test
    void thresholdOutOfRange() {
        String id = ApiFixtures.register(t, "thr", 2);
        as(t).contentType("application/json")
                .body(Map.of("threshold", 1.5))
                .put("/v1/prompt-sets/" + id + "/threshold")
                .then()
                .statusCode(400)
                .body("reason", equalTo("INVALID_THRESHOLD"));
        assertThat(service.get(t.id(), id).thresholdOverride()).isNull();
    }

    @Test
    void grpc_typedErrors() {
        var stub = ApiFixtures.stub(channel, t.key());
        assertGrpc(
                () -> stub.createPromptSet(CreatePromptSetRequest.newBuilder()
                        .setName("g")
                        .setCategory("screw")
                        .build()),
                Status.Code.INVALID_ARGUMENT,
                "at least one shot");
        assertGrpc(
                () -> stub.createPromptSet(request("g", withLast(TestImages.corrupt()))),
                Status.Code.INVALID_ARGUMENT,
                "cannot be decoded");
        assertGrpc(
                () -> stub.createPromptSet(request("g", TestImages.normals(5))),
                Status.Code.INVALID_ARGUMENT, // as on Score: one reason, one code (docs/errors.md)
                "exceed the limit");
        assertGrpc(
                () -> stub.createPromptSet(request("", TestImages.normals(2))),
                Status.Code.INVALID_ARGUMENT,
                "name must be 1-128 characters");
        stub.createPromptSet(request("g", TestImages.normals(2)));
        assertGrpc(
                () -> stub.createPromptSet(request("g", TestImages.normals(2))),
                Status.Code.ALREADY_EXISTS,
                "already exists");
        assertThat(service.list(t.id(), 10, null).items()).hasSize(1);
    }

    private static CreatePromptSetRequest request(String name, List<byte[]> shots) {
        CreatePromptSetRequest.Builder b =
                CreatePromptSetRequest.newBuilder().setName(name).setCategory("screw");
        shots.forEach(s -> b.addShots(ByteString.copyFrom(s)));
        return b.build();
    }

    private static void assertGrpc(Runnable call, Status.Code code, String message) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(message);
        });
    }

    /** Two good shots followed by {@code bad}: the good ones must not be stored either. */
    private static List<byte[]> withLast(byte[] bad) {
        List<byte[]> shots = new ArrayList<>(TestImages.normals(2));
        shots.add(bad);
        return shots;
    }

    private void rejected(List<byte[]> shots, int status, String reason, String detail) {
        upload(t, "bad-set", "screw", shots)
                .post("/v1/prompt-sets")
                .then()
                .statusCode(status)
                .contentType("application/problem+json")
                .body("reason", equalTo(reason))
                .body("detail", containsString(detail));
        assertNothingStored();
    }

    private void assertNothingStored() {
        assertThat(service.list(t.id(), 10, null).items()).isEmpty();
    }
}
