package io.inctrl.serve.api;

import static io.inctrl.serve.api.ApiFixtures.as;
import static io.inctrl.serve.api.ApiFixtures.upload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.hamcrest.Matchers.anyOf;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.nullValue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.api.v1.CreatePromptSetRequest;
import io.inctrl.serve.api.v1.GetPromptSetRequest;
import io.inctrl.serve.api.v1.PromptRegistryGrpc;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.SetThresholdRequest;
import io.inctrl.serve.registry.PromptSetService;
import io.inctrl.serve.registry.TestImages;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Target false-positive rate, expected FPR and fit method over REST and gRPC (fake model, H2). */
@QuarkusTest
@TestProfile(FakeModelProfile.class)
class CalibrationApiTest {

    @Inject
    PromptSetService service;

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
    void rest_targetAtCreation_changedLater_expectedFprOfOverride() {
        TestTenant t = ApiFixtures.tenant();
        String byDefault = ApiFixtures.register(t, "default-target", 4);
        as(t).get("/v1/prompt-sets/" + byDefault)
                .then()
                .statusCode(200)
                .body("calibration.targetFpr", equalTo(0.05f))
                .body("calibration.method", equalTo("logit-normal"))
                .body("calibration.expectedFpr", isNear(0.05f));

        String id = upload(t, "strict", "screw", TestImages.normals(4))
                .multiPart("targetFpr", "0.01")
                .post("/v1/prompt-sets")
                .then()
                .statusCode(201)
                .body("calibration.targetFpr", equalTo(0.01f))
                .body("calibration.expectedFpr", isNear(0.01f))
                .extract()
                .path("id");
        float strict = service.get(t.id(), id).calibration().suggestedThreshold();

        as(t).contentType("application/json")
                .body(Map.of("targetFpr", 0.2))
                .put("/v1/prompt-sets/" + id + "/threshold")
                .then()
                .statusCode(200)
                .body("calibration.targetFpr", equalTo(0.2f))
                .body("calibration.expectedFpr", isNear(0.2f))
                .body("calibration.suggestedThreshold", lessThan(strict))
                .body("calibration.thresholdOverridden", equalTo(false))
                .body("version", equalTo(2));

        // an operator override is evaluated on the same fitted tail; the target stays
        as(t).contentType("application/json")
                .body(Map.of("threshold", 0.999))
                .put("/v1/prompt-sets/" + id + "/threshold")
                .then()
                .statusCode(200)
                .body("calibration.threshold", equalTo(0.999f))
                .body("calibration.targetFpr", equalTo(0.2f))
                .body("calibration.expectedFpr", lessThan(0.001f));

        String single = upload(t, "one-shot", "screw", TestImages.normals(1))
                .post("/v1/prompt-sets")
                .then()
                .statusCode(201)
                .body("calibration.suggestedThreshold", nullValue())
                .body("calibration.expectedFpr", nullValue())
                .body("calibration.method", nullValue())
                .extract()
                .path("id");
        assertThat(service.get(t.id(), single).calibration().targetFpr()).isEqualTo(0.05f);
    }

    @Test
    void rest_badTargets_are400Problems_andChangeNothing() {
        TestTenant t = ApiFixtures.tenant();
        for (String bad : new String[] {"0", "0.5", "-0.1", "1", "NaN", "Infinity", "-Infinity"}) {
            upload(t, "bad", "screw", TestImages.normals(2))
                    .multiPart("targetFpr", bad)
                    .post("/v1/prompt-sets")
                    .then()
                    .statusCode(400)
                    .contentType("application/problem+json")
                    .body("reason", equalTo("INVALID_TARGET_FPR"));
        }
        upload(t, "bad", "screw", TestImages.normals(2))
                .multiPart("targetFpr", "five percent")
                .post("/v1/prompt-sets")
                .then()
                .statusCode(400)
                .body("reason", equalTo("INVALID_PARAMETER"));
        assertThat(service.list(t.id(), 10, null).items()).isEmpty();

        String id = ApiFixtures.register(t, "ok", 3);
        for (Object bad : new Object[] {0.5, 0.0, -1, 7}) {
            as(t).contentType("application/json")
                    .body(Map.of("targetFpr", bad))
                    .put("/v1/prompt-sets/" + id + "/threshold")
                    .then()
                    .statusCode(400)
                    .contentType("application/problem+json")
                    .body("reason", equalTo("INVALID_TARGET_FPR"));
        }
        for (String raw : new String[] {
            "{\"targetFpr\": NaN}",
            "{\"targetFpr\": \"NaN\"}",
            "{\"targetFpr\": \"Infinity\"}",
            "{\"targetFpr\": \"x\"}",
            "{\"threshold\": \"x\"}"
        }) {
            as(t).contentType("application/json")
                    .body(raw)
                    .put("/v1/prompt-sets/" + id + "/threshold")
                    .then()
                    .statusCode(400)
                    .contentType("application/problem+json")
                    .body("reason", anyOf(equalTo("MALFORMED_BODY"), equalTo("INVALID_TARGET_FPR")));
        }
        assertThat(service.get(t.id(), id).calibration().targetFpr()).isEqualTo(0.05f);
        assertThat(service.get(t.id(), id).version()).isEqualTo(1);
    }

    @Test
    void grpc_targetAtCreation_setThresholdChangesIt_badOnesInvalidArgument() {
        TestTenant t = ApiFixtures.tenant();
        PromptRegistryGrpc.PromptRegistryBlockingStub stub = ApiFixtures.stub(channel, t.key());
        PromptSet p = stub.createPromptSet(request("rig", 4).setTargetFpr(0.02f).build());
        assertThat(p.getCalibration().getTargetFpr()).isEqualTo(0.02f);
        assertThat(p.getCalibration().getMethod()).isEqualTo("logit-normal");
        assertThat(p.getCalibration().getExpectedFpr()).isCloseTo(0.02f, within(1e-4f));
        PromptSet plain = stub.createPromptSet(request("rig-default", 4).build());
        assertThat(plain.getCalibration().getTargetFpr()).isEqualTo(0.05f);
        assertThat(plain.getCalibration().getSuggestedThreshold())
                .isLessThan(p.getCalibration().getSuggestedThreshold());

        PromptSet moved = stub.setThreshold(SetThresholdRequest.newBuilder()
                .setId(p.getId())
                .setTargetFpr(0.05f)
                .build());
        assertThat(moved.getCalibration().getTargetFpr()).isEqualTo(0.05f);
        assertThat(moved.getCalibration().getSuggestedThreshold())
                .isEqualTo(plain.getCalibration().getSuggestedThreshold());
        assertThat(moved.getCalibration().getThresholdOverridden()).isFalse();
        PromptSet over = stub.setThreshold(SetThresholdRequest.newBuilder()
                .setId(p.getId())
                .setThreshold(0.0f)
                .build());
        assertThat(over.getCalibration().getExpectedFpr()).isEqualTo(1.0f);
        assertThat(over.getCalibration().getTargetFpr()).isEqualTo(0.05f);

        for (float bad : new float[] {0f, 0.5f, -0.2f, Float.NaN, Float.POSITIVE_INFINITY}) {
            assertInvalid(() ->
                    stub.createPromptSet(request("bad", 2).setTargetFpr(bad).build()));
            assertInvalid(() -> stub.setThreshold(SetThresholdRequest.newBuilder()
                    .setId(p.getId())
                    .setTargetFpr(bad)
                    .build()));
        }
        assertThat(stub.getPromptSet(GetPromptSetRequest.newBuilder()
                                .setId(p.getId())
                                .build())
                        .getCalibration()
                        .getTargetFpr())
                .isEqualTo(0.05f);

        PromptSet one = stub.createPromptSet(request("one", 1).build());
        assertThat(one.getCalibration().getMethod()).isEmpty();
        assertThat(one.getCalibration().getExpectedFpr()).isZero();
    }

    /** JSON numbers arrive as Float: within 1e-4 of {@code v}. */
    private static org.hamcrest.Matcher<Float> isNear(float v) {
        return org.hamcrest.Matchers.both(org.hamcrest.Matchers.greaterThan(v - 1e-4f))
                .and(lessThan(v + 1e-4f));
    }

    private static CreatePromptSetRequest.Builder request(String name, int k) {
        CreatePromptSetRequest.Builder b =
                CreatePromptSetRequest.newBuilder().setName(name).setCategory("screw");
        TestImages.normals(k).forEach(s -> b.addShots(ByteString.copyFrom(s)));
        return b;
    }

    private static void assertInvalid(Runnable call) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains("target_fpr");
        });
    }
}
