package io.inctrl.serve.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.inctrl.serve.api.grpc.PatchResidualBundleProfile;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.testing.TestAssets;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * Drift watch through the real server (default bundle, real images of shared/data): a set registered from the 8
 * transistor shots is scored by id over gRPC with the category's normal test images. Unchanged, the stream never
 * raises the drift signal; after a change of the camera picture (brighter, or shifted) it does within
 * {@link #MAX_CHANGED} requests (README / docs/registry.md "Drift watch" quote the measured counts).
 */
@QuarkusTest
@TestProfile(PatchResidualBundleProfile.class)
class DriftApiTest {

    /** The documented bound: changed requests until the signal, with margin over the measured counts. */
    static final int MAX_CHANGED = 25;

    private static final String CATEGORY = "mvtec_ad/transistor";
    private static final int WARM_UP = 25; // normal requests before the change (min-samples is 20)

    @GrpcClient("scorer")
    ScorerGrpc.ScorerBlockingStub scorer;

    @Inject
    MeterRegistry meters;

    @Test
    void anUnchangedStream_neverRaisesTheSignal() {
        String id = register("drift-unchanged");
        List<byte[]> normals = normals();
        for (int i = 0; i < 80; i++) {
            score(id, normals.get(i % normals.size()));
            JsonPath v = drift(id);
            assertThat(v.getString("state"))
                    .as("request %d: %s", i, v.getString("reason"))
                    .isNotEqualTo("drift");
            assertThat(v.getBoolean("needsNewShots")).isFalse();
        }
        JsonPath v = drift(id);
        assertThat(v.getString("state")).isEqualTo("ok");
        assertThat(v.getInt("samples")).isEqualTo(80);
        assertThat(v.getFloat("expectedFpr")).isGreaterThan(0f);
        assertThat(signalSeries(id)).isZero();
    }

    @Test
    void brighterImages_raiseTheSignal() {
        int changed = requestsUntilDrift("drift-brighter", DriftApiTest::brighter);
        System.out.printf("drift watch: brightness +60 raised the signal after %d changed requests%n", changed);
        assertThat(changed).isLessThanOrEqualTo(MAX_CHANGED);
    }

    @Test
    void shiftedImages_raiseTheSignal() {
        int changed = requestsUntilDrift("drift-shifted", DriftApiTest::shifted);
        System.out.printf("drift watch: a 64-pixel shift raised the signal after %d changed requests%n", changed);
        assertThat(changed).isLessThanOrEqualTo(MAX_CHANGED);
    }

    /** WARM_UP normal requests, then changed ones until the view says drift: how many changed ones it took. */
    private int requestsUntilDrift(String name, UnaryOperator<byte[]> change) {
        String id = register(name);
        List<byte[]> normals = normals();
        for (int i = 0; i < WARM_UP; i++) {
            score(id, normals.get(i % normals.size()));
        }
        assertThat(drift(id).getString("state")).isEqualTo("ok");
        for (int c = 1; c <= 3 * MAX_CHANGED; c++) {
            score(id, change.apply(normals.get(c % normals.size())));
            JsonPath v = drift(id);
            if (v.getString("state").equals("drift")) {
                assertThat(v.getBoolean("needsNewShots")).isTrue();
                assertThat(v.getString("reason")).contains("add new normal shots");
                assertThat(v.getBoolean("exceedanceSignal") || v.getBoolean("scoreSignal"))
                        .isTrue();
                assertThat(signalSeries(id)).isEqualTo(1.0);
                return c;
            }
        }
        throw new AssertionError("no drift signal after " + 3 * MAX_CHANGED + " changed requests: "
                + drift(id).prettify());
    }

    private double signalSeries(String id) {
        return meters.find("inctrl.drift.signal").tag("prompt_set", id).gauges().stream()
                .mapToDouble(g -> g.value())
                .sum();
    }

    private void score(String id, byte[] image) {
        scorer.score(ScoreRequest.newBuilder()
                .setRequestId("drift")
                .setImage(ByteString.copyFrom(image))
                .setPromptSetId(id)
                .setOmitMap(true)
                .build());
    }

    private static JsonPath drift(String id) {
        return RestAssured.get("/v1/prompt-sets/" + id + "/drift")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
    }

    private static String register(String name) {
        var r = RestAssured.given().multiPart("name", name).multiPart("category", "transistor");
        for (Path shot : files(CATEGORY + "/shots")) {
            r.multiPart("shots", shot.getFileName().toString(), read(shot), "image/png");
        }
        return r.post("/v1/prompt-sets").then().statusCode(201).extract().path("id");
    }

    private static List<byte[]> normals() {
        return files(CATEGORY + "/test/good").stream().map(DriftApiTest::read).toList();
    }

    private static List<Path> files(String dir) {
        try (Stream<Path> s = Files.list(TestAssets.dataDir().resolve(dir))) {
            return s.sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** New lighting: every channel +60 (clipped). */
    static byte[] brighter(byte[] png) {
        BufferedImage img = decode(png);
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y);
                int r = Math.min(255, ((rgb >> 16) & 0xff) + 60);
                int g = Math.min(255, ((rgb >> 8) & 0xff) + 60);
                int b = Math.min(255, (rgb & 0xff) + 60);
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return encode(img);
    }

    /** The camera moved: the picture 64 px to the right and down, the uncovered border repeating the edge. */
    static byte[] shifted(byte[] png) {
        BufferedImage img = decode(png);
        BufferedImage out = new BufferedImage(img.getWidth(), img.getHeight(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                out.setRGB(x, y, img.getRGB(Math.max(0, x - 64), Math.max(0, y - 64)));
            }
        }
        return encode(out);
    }

    private static BufferedImage decode(byte[] png) {
        try {
            BufferedImage in = ImageIO.read(new ByteArrayInputStream(png));
            BufferedImage rgb = new BufferedImage(in.getWidth(), in.getHeight(), BufferedImage.TYPE_INT_RGB);
            rgb.getGraphics().drawImage(in, 0, 0, null);
            return rgb;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] encode(BufferedImage img) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(img, "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
