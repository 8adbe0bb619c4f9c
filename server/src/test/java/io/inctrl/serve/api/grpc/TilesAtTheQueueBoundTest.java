package io.inctrl.serve.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.inctrl.serve.api.v1.InlinePrompts;
import io.inctrl.serve.api.v1.Inspection;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.image.FrameTiling;
import io.inctrl.serve.testing.GrpcTestChannels;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URL;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * Issue 20 item 5, end to end: a tiles-mode request at the configured limits (max-shots inline shots and a query, each
 * of max-tiles tiles) is admitted by a per-tenant queue bound that lifecycle.LimitsAgree accepts as just large enough.
 */
@QuarkusTest
@TestProfile(TilesAtTheQueueBoundTest.Profile.class)
class TilesAtTheQueueBoundTest {

    /** (3 shots + 1 query) x 4 tiles = 16 jobs, and a queue of exactly 16. */
    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "inctrl.limits.max-shots", "3",
                    "inctrl.inspection.max-tiles", "4",
                    "inctrl.batching.max-queue-size", "16",
                    "inctrl.batching.max-queued-per-tenant", "16");
        }
    }

    @TestHTTPResource("/")
    URL url;

    @Test
    void a_tiles_request_at_the_limits_is_scored_not_refused_as_queue_full() throws Exception {
        // a 78x24 strip is scaled to 780x240: four overlapping 240x240 tiles
        assertThat(FrameTiling.of(78, 24, 240).count()).isEqualTo(4);
        InlinePrompts.Builder inline =
                InlinePrompts.newBuilder().setCategory("transistor").setInspection(Inspection.INSPECTION_TILES);
        for (int i = 0; i < 3; i++) {
            inline.addShots(strip(i));
        }
        ScoreRequest request = ScoreRequest.newBuilder()
                .setRequestId("at-the-limits")
                .setImage(strip(99))
                .setInline(inline)
                .setOmitMap(true)
                .build();
        var channel = GrpcTestChannels.open(url);
        try {
            ScoreResponse r = ScorerGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(5, TimeUnit.MINUTES)
                    .score(request);
            assertThat(r.getScore()).isBetween(0f, 1f);
        } finally {
            GrpcTestChannels.close(channel);
        }
    }

    private static ByteString strip(int seed) throws IOException {
        BufferedImage img = new BufferedImage(78, 24, BufferedImage.TYPE_INT_RGB);
        Random random = new Random(seed);
        for (int y = 0; y < 24; y++) {
            for (int x = 0; x < 78; x++) {
                img.setRGB(x, y, random.nextInt(0x1000000));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return ByteString.copyFrom(out.toByteArray());
    }
}
