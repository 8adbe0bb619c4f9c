package io.inctrl.serve.api;

import static io.inctrl.serve.api.ApiFixtures.as;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.api.v1.CreatePromptSetRequest;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.models.ModelRouter;
import io.inctrl.serve.registry.RegistryCounters;
import io.inctrl.serve.registry.TestImages;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.net.URL;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The real (tiny, random-weight) model behind the registry: register over gRPC, then Score by prompt_set_id on the
 * Scorer service. Proves the Score path reuses the registry's encodings and reports the set's threshold.
 */
@QuarkusTest
@TestProfile(SecuredProfile.class)
class RegistryScoringEndToEndTest {

    @TestHTTPResource("/")
    URL url;

    @Inject
    RegistryCounters counters;

    @Inject
    ModelRouter router;

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
    void scoreByPromptSetId_usesRegistryAndThreshold() {
        TestTenant a = ApiFixtures.tenant();
        TestTenant b = ApiFixtures.tenant();
        CreatePromptSetRequest.Builder req =
                CreatePromptSetRequest.newBuilder().setName("e2e").setCategory("metal_nut");
        TestImages.normals(4).forEach(s -> req.addShots(ByteString.copyFrom(s)));
        PromptSet set = ApiFixtures.stub(channel, a.key()).createPromptSet(req.build());
        assertThat(set.getBundleId()).isEqualTo(router.serving("").bundleId());
        assertThat(set.getCalibration().getShotScoresCount()).isEqualTo(4);
        float threshold = set.getCalibration().getThreshold();

        long shots = counters.shotImagesEncoded.get();
        long text = router.serving("").textEncodings();
        for (int i = 0; i < 3; i++) {
            ScoreResponse r = scorer(a.key())
                    .score(ScoreRequest.newBuilder()
                            .setRequestId("q" + i)
                            .setImage(ByteString.copyFrom(TestImages.anomalous(i)))
                            .setPromptSetId(set.getId())
                            .build());
            assertThat(r.hasThreshold()).isTrue();
            assertThat(r.getThreshold()).isEqualTo(threshold);
            assertThat(r.hasIsAnomalous()).isTrue();
            assertThat(r.getIsAnomalous()).isEqualTo(r.getScore() >= threshold);
            assertThat(r.getBundleId()).isEqualTo(router.serving("").bundleId());
            // the console's REST "try it" is the same use case: the same score for the same image
            float rest = as(a).multiPart("image", "q.png", TestImages.anomalous(i), "image/png")
                    .post("/v1/prompt-sets/" + set.getId() + "/score")
                    .then()
                    .statusCode(200)
                    .extract()
                    .path("score");
            assertThat(rest).isEqualTo(r.getScore());
        }
        assertThat(counters.shotImagesEncoded.get()).isEqualTo(shots);
        assertThat(router.serving("").textEncodings()).isEqualTo(text);

        // Another tenant: the same answer as for an id that never existed.
        String foreign = notFound(b.key(), set.getId()).replace(set.getId(), "ID");
        String missing = notFound(b.key(), "no-such-set").replace("no-such-set", "ID");
        assertThat(foreign).isEqualTo(missing);

        assertThatThrownBy(() -> scorer(null)
                        .score(ScoreRequest.newBuilder()
                                .setPromptSetId(set.getId())
                                .setImage(ByteString.copyFrom(TestImages.normal(1)))
                                .build()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));

        as(a).get("/v1/prompt-sets/" + set.getId() + "/storage").then().statusCode(200);
    }

    @Test
    void realDecoder_rejectsBadShots_nothingStored() {
        TestTenant a = ApiFixtures.tenant();
        ApiFixtures.upload(a, "bad", "screw", java.util.List.of(TestImages.normal(1), TestImages.corrupt()))
                .post("/v1/prompt-sets")
                .then()
                .statusCode(400)
                .body("reason", org.hamcrest.Matchers.equalTo("UNDECODABLE_IMAGE"))
                .body("detail", org.hamcrest.Matchers.startsWith("shot 1 (0-based): UNDECODABLE"));
        as(a).get("/v1/prompt-sets").then().statusCode(200).body("items.size()", org.hamcrest.Matchers.equalTo(0));
    }

    private String notFound(String key, String id) {
        try {
            scorer(key)
                    .score(ScoreRequest.newBuilder()
                            .setPromptSetId(id)
                            .setImage(ByteString.copyFrom(TestImages.normal(1)))
                            .build());
        } catch (StatusRuntimeException e) {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
            return e.getStatus().getDescription();
        }
        throw new AssertionError("expected NOT_FOUND");
    }

    private ScorerGrpc.ScorerBlockingStub scorer(String key) {
        Metadata md = new Metadata();
        if (key != null) {
            md.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), key);
        }
        return ScorerGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }
}
