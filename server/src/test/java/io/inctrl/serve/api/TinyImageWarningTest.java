package io.inctrl.serve.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.registry.TestImages;
import io.inctrl.serve.scoring.ScoringService;
import io.inctrl.serve.testing.LogCapture;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Images too small to show detail (shorter side under 32 px) are scored, but said to be: a shot in its prompt set's
 * calibration warnings, a query in the server log (the Score response has no field for warnings). Real decoder and
 * the tiny bundle.
 */
@QuarkusTest
@TestProfile(SecuredProfile.class)
class TinyImageWarningTest {

    ManagedChannel channel;
    LogCapture log;
    List<String> logLines;

    @BeforeEach
    void open() {
        channel = ApiFixtures.channel();
        log = LogCapture.of(ScoringService.class);
        logLines = log.lines();
    }

    @AfterEach
    void close() {
        log.close();
        channel.shutdownNow();
    }

    private static Metadata keyed(String key) {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), key);
        return md;
    }

    @Test
    void aOneByOneShot_isRegistered_withAWarningNamingIt() {
        TestTenant a = ApiFixtures.tenant();
        ApiFixtures.upload(
                        a, "tiny", "screw", List.of(TestImages.normal(1), TestImages.normal(2), TestImages.solid(1, 1)))
                .post("/v1/prompt-sets")
                .then()
                .statusCode(201)
                .body("calibration.warnings", hasItem(startsWith("shot 2 (0-based) is only 1x1 pixels")));
        // 32 x 32 shots are at the rule's edge: no size warning
        ApiFixtures.upload(a, "small-but-fine", "screw", TestImages.normals(3))
                .post("/v1/prompt-sets")
                .then()
                .statusCode(201)
                .body("calibration.warnings", everyItem(not(org.hamcrest.Matchers.containsString("pixels"))));
    }

    @Test
    void aOneByOneQuery_isScored_andLogged() {
        TestTenant a = ApiFixtures.tenant();
        ScorerGrpc.ScorerBlockingStub scorer = ScorerGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(keyed(a.key())));
        ScoreRequest.Builder req = ScoreRequest.newBuilder().setImage(ByteString.copyFrom(TestImages.solid(1, 1)));
        req.getInlineBuilder().setCategory("screw").addShots(ByteString.copyFrom(TestImages.normal(1)));
        assertThat(scorer.score(req.setRequestId("tiny-1").build()).getMapCount())
                .isPositive();
        // logged before the answer (at admission), once per tenant every 10 s: a fresh tenant's first one is
        assertThat(logLines)
                .filteredOn(l -> l.contains("request tiny-1 of tenant " + a.id()))
                .singleElement()
                .satisfies(l -> assertThat(l).contains("image is only 1x1 pixels"));
        scorer.score(req.setRequestId("tiny-2").build());
        assertThat(logLines).noneMatch(l -> l.contains("request tiny-2 "));

        TestTenant b = ApiFixtures.tenant();
        logLines.clear();
        ScorerGrpc.ScorerBlockingStub other = ScorerGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(keyed(b.key())));
        other.score(req.setRequestId("normal")
                .setImage(ByteString.copyFrom(TestImages.normal(3)))
                .build());
        assertThat(logLines).noneMatch(l -> l.contains("request normal "));
    }
}
