package io.inctrl.serve.api;

import static io.inctrl.serve.api.ApiFixtures.as;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.api.v1.CreatePromptSetRequest;
import io.inctrl.serve.api.v1.GetPromptSetRequest;
import io.inctrl.serve.api.v1.InlinePrompts;
import io.inctrl.serve.api.v1.Inspection;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.image.DecodedImage;
import io.inctrl.serve.image.FrameTiling;
import io.inctrl.serve.image.PilResize;
import io.inctrl.serve.image.PixelMode;
import io.inctrl.serve.registry.TestImages;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Inspection modes through the real server and the tiny bundle: tiles over gRPC, the mode over REST, refusals. */
@QuarkusTest
@TestProfile(SecuredProfile.class)
class InspectionApiTest {

    private static final int W = 300;
    private static final int H = 60; // shorter side 60 -> 240: the frame is 1200 x 240, 7 tiles

    ManagedChannel channel;

    @BeforeEach
    void open() {
        channel = ApiFixtures.channel();
    }

    @AfterEach
    void close() {
        channel.shutdownNow();
    }

    /** A wide strip, raw RGB (row-major); with a bright defect near the right end when {@code defect}. */
    private static byte[] stripPixels(int seed, boolean defect) {
        Random rnd = new Random(seed);
        byte[] px = new byte[W * H * 3];
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                int i = (y * W + x) * 3;
                boolean hit = defect && x >= 250 && x < 270 && y >= 20 && y < 40;
                px[i] = (byte) (hit ? 250 : 90 + (x % 20) + rnd.nextInt(6));
                px[i + 1] = (byte) (hit ? 20 : 80 + rnd.nextInt(6));
                px[i + 2] = (byte) (hit ? 240 : 60 + y);
            }
        }
        return px;
    }

    private static byte[] png(int w, int h, byte[] rgb) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                img.setRGB(x, y, ((rgb[i] & 0xff) << 16) | ((rgb[i + 1] & 0xff) << 8) | (rgb[i + 2] & 0xff));
            }
        }
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(img, "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private ScorerGrpc.ScorerBlockingStub scorer(String key) {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), key);
        return ScorerGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }

    private ScoreResponse score(String key, byte[] image, String setId) {
        return scorer(key)
                .score(ScoreRequest.newBuilder()
                        .setImage(ByteString.copyFrom(image))
                        .setPromptSetId(setId)
                        .build());
    }

    @Test
    void tilesSetScoresAWideFrameAsTheMaxOfItsTilesWithAFrameWideMap() {
        TestTenant t = ApiFixtures.tenant();
        CreatePromptSetRequest.Builder req = CreatePromptSetRequest.newBuilder()
                .setName("strip")
                .setCategory("fabric")
                .setInspection(Inspection.INSPECTION_TILES);
        for (int s = 0; s < 2; s++) {
            req.addShots(ByteString.copyFrom(png(W, H, stripPixels(100 + s, false))));
        }
        PromptSet set = ApiFixtures.stub(channel, t.key()).createPromptSet(req.build());
        assertThat(set.getInspection()).isEqualTo(Inspection.INSPECTION_TILES);
        assertThat(set.getCalibration().getShotScoresCount())
                .as("one leave-one-out score per shot")
                .isEqualTo(2);
        PromptSet read = ApiFixtures.stub(channel, t.key())
                .getPromptSet(
                        GetPromptSetRequest.newBuilder().setId(set.getId()).build());
        assertThat(read.getInspection()).isEqualTo(Inspection.INSPECTION_TILES);

        byte[] rgb = stripPixels(7, true);
        ScoreResponse whole = score(t.key(), png(W, H, rgb), set.getId());
        FrameTiling tiling = FrameTiling.of(W, H, 240);
        assertThat(tiling.count()).isEqualTo(7);
        // one cell per 16 px patch of the 1200 x 240 frame
        assertThat(whole.getMapHeight()).isEqualTo(15);
        assertThat(whole.getMapWidth()).isEqualTo(1200 / 16);
        assertThat(whole.getMapCount()).isEqualTo(15 * 75);

        // each tile alone, cut from the same shorter-side resize, scored against the same set (a 240 x 240 image
        // is one tile, resized by identity)
        DecodedImage img = DecodedImage.of(PixelMode.RGB, W, H, rgb);
        float best = Float.NEGATIVE_INFINITY;
        float bestSp = 0;
        float mapMax = 0;
        for (int[] xy : tiling.tiles()) {
            DecodedImage tile =
                    PilResize.resizeRegion(img, tiling.frameWidth(), tiling.frameHeight(), xy[0], xy[1], 240, 240);
            ScoreResponse r = score(t.key(), png(240, 240, tile.pixels()), set.getId());
            assertThat(r.getMapWidth()).isEqualTo(15);
            if (r.getScore() > best) {
                best = r.getScore();
                bestSp = r.getSP();
            }
            for (float v : r.getMapList()) {
                mapMax = Math.max(mapMax, v);
            }
        }
        assertThat(whole.getScore()).isCloseTo(best, org.assertj.core.data.Offset.offset(1e-5f));
        assertThat(whole.getSP()).isCloseTo(bestSp, org.assertj.core.data.Offset.offset(1e-5f));
        float stitchedMax = (float) whole.getMapList().stream()
                .mapToDouble(Float::doubleValue)
                .max()
                .orElseThrow();
        assertThat(stitchedMax).isCloseTo(mapMax, org.assertj.core.data.Offset.offset(1e-5f));
    }

    /** A textured frame of any size (a seeded pattern with horizontal structure, like a fabric strip). */
    private static byte[] frame(int w, int h, int seed) {
        Random rnd = new Random(seed);
        byte[] px = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                px[i] = (byte) (80 + (x * 7 % 40) + rnd.nextInt(12));
                px[i + 1] = (byte) (90 + (y * 5 % 30) + rnd.nextInt(12));
                px[i + 2] = (byte) (70 + ((x + y) % 25) + rnd.nextInt(12));
            }
        }
        return png(w, h, px);
    }

    private PromptSet register(TestTenant t, String name, List<byte[]> shots, Inspection mode) {
        CreatePromptSetRequest.Builder req =
                CreatePromptSetRequest.newBuilder().setName(name).setCategory("fabric");
        if (mode != null) {
            req.setInspection(mode);
        }
        shots.forEach(s -> req.addShots(ByteString.copyFrom(s)));
        return ApiFixtures.stub(channel, t.key()).createPromptSet(req.build());
    }

    @Test
    void autoIsTheDefault_picksAModeFromTheShots_recordsWhy_andScoresAsThatMode() {
        TestTenant t = ApiFixtures.tenant();
        // 2.5:1 frames: between square and strip, so the leave-one-out scores of the candidate modes decide
        List<byte[]> shots = List.of(frame(300, 120, 1), frame(300, 120, 2), frame(300, 120, 3));
        PromptSet auto = register(t, "auto-wide", shots, null);
        assertThat(auto.getInspection())
                .isIn(Inspection.INSPECTION_CENTER_CROP, Inspection.INSPECTION_RESIZE, Inspection.INSPECTION_TILES);
        String reason = as(t).get("/v1/prompt-sets/" + auto.getId())
                .then()
                .statusCode(200)
                .extract()
                .path("inspectionReason");
        assertThat(reason).contains("3 shots of long/short side 2.50").contains("median leave-one-out score");
        assertThat(auto.getInspection()).isIn(Inspection.INSPECTION_RESIZE, Inspection.INSPECTION_TILES);
        // the same shots with the chosen mode asked for: the same calibration and the same scores
        PromptSet explicit = register(t, "explicit-wide", shots, auto.getInspection());
        assertThat(explicit.getCalibration().getShotScoresList())
                .isEqualTo(auto.getCalibration().getShotScoresList());
        String explicitReason = as(t).get("/v1/prompt-sets/" + explicit.getId())
                .then()
                .statusCode(200)
                .extract()
                .path("inspectionReason");
        assertThat(explicitReason).as("a mode asked for is not a choice").isNull();
        byte[] query = frame(300, 120, 9);
        ScoreResponse a = score(t.key(), query, auto.getId());
        ScoreResponse b = score(t.key(), query, explicit.getId());
        // equal up to float rounding: a dynamic batch's size (other requests, background encodings) moves the last bit
        assertThat(a.getScore()).isCloseTo(b.getScore(), org.assertj.core.data.Offset.offset(1e-6f));
        for (int i = 0; i < a.getMapCount(); i++) {
            assertThat(a.getMap(i)).isCloseTo(b.getMap(i), org.assertj.core.data.Offset.offset(1e-6f));
        }
        assertThat(a.getMapCount()).isEqualTo(b.getMapCount());

        // long strips (10:1) are tiles and square shots the centre crop, by geometry alone (REST, default inspection)
        PromptSet strip = register(t, "auto-strip", List.of(frame(600, 60, 5)), null);
        assertThat(strip.getInspection()).isEqualTo(Inspection.INSPECTION_TILES);
        as(t).multiPart("name", "auto-square")
                .multiPart("category", "fabric")
                .multiPart("shots", "a.png", frame(200, 200, 4), "image/png")
                .post("/v1/prompt-sets")
                .then()
                .statusCode(201)
                .body("inspection", equalTo("center-crop"))
                .body("inspectionReason", containsString("near-square"));
    }

    @Test
    void inlinePromptsRefuseAuto() {
        TestTenant t = ApiFixtures.tenant();
        assertThatThrownBy(() -> scorer(t.key())
                        .score(ScoreRequest.newBuilder()
                                .setImage(ByteString.copyFrom(frame(300, 120, 1)))
                                .setInline(InlinePrompts.newBuilder()
                                        .setCategory("fabric")
                                        .setInspection(Inspection.INSPECTION_AUTO)
                                        .addShots(ByteString.copyFrom(frame(300, 120, 2))))
                                .build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("INSPECTION_AUTO is chosen once");
                });
    }

    @Test
    void inlineTilesAndResizeScoreOverGrpc() {
        TestTenant t = ApiFixtures.tenant();
        for (Inspection mode : List.of(Inspection.INSPECTION_RESIZE, Inspection.INSPECTION_TILES)) {
            ScoreResponse r = scorer(t.key())
                    .score(ScoreRequest.newBuilder()
                            .setImage(ByteString.copyFrom(png(W, H, stripPixels(3, true))))
                            .setInline(InlinePrompts.newBuilder()
                                    .setCategory("fabric")
                                    .setInspection(mode)
                                    .addShots(ByteString.copyFrom(png(W, H, stripPixels(4, false)))))
                            .build());
            assertThat(r.getMapWidth()).as("%s", mode).isEqualTo(mode == Inspection.INSPECTION_TILES ? 75 : 15);
        }
    }

    @Test
    void unknownModeAndTooManyTilesAreInvalidArguments() {
        TestTenant t = ApiFixtures.tenant();
        CreatePromptSetRequest.Builder bad = CreatePromptSetRequest.newBuilder()
                .setName("bad")
                .setCategory("fabric")
                .setInspectionValue(9)
                .addShots(ByteString.copyFrom(TestImages.normal(1)));
        assertThatThrownBy(() -> ApiFixtures.stub(channel, t.key()).createPromptSet(bad.build()))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));

        // 6000 x 100 -> 14400 x 240: 80 tiles, more than the default 32
        byte[] huge = png(6000, 100, new byte[6000 * 100 * 3]);
        CreatePromptSetRequest.Builder many = CreatePromptSetRequest.newBuilder()
                .setName("many")
                .setCategory("fabric")
                .setInspection(Inspection.INSPECTION_TILES)
                .addShots(ByteString.copyFrom(huge));
        assertThatThrownBy(() -> ApiFixtures.stub(channel, t.key()).createPromptSet(many.build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("inctrl.inspection.max-tiles");
                });
        assertThatThrownBy(() -> scorer(t.key())
                        .score(ScoreRequest.newBuilder()
                                .setImage(ByteString.copyFrom(huge))
                                .setInline(InlinePrompts.newBuilder()
                                        .setCategory("fabric")
                                        .setInspection(Inspection.INSPECTION_TILES)
                                        .addShots(ByteString.copyFrom(TestImages.normal(1))))
                                .build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("max-tiles");
                });
    }

    @Test
    void restCreateAndGetCarryTheModeAndRefuseUnknownOnes() {
        TestTenant t = ApiFixtures.tenant();
        String id = ApiFixtures.upload(t, "resized", "fabric", TestImages.normals(2))
                .multiPart("inspection", "resize")
                .post("/v1/prompt-sets")
                .then()
                .statusCode(201)
                .body("inspection", equalTo("resize"))
                .extract()
                .path("id");
        as(t).get("/v1/prompt-sets/" + id).then().statusCode(200).body("inspection", equalTo("resize"));
        String plain = ApiFixtures.upload(t, "plain", "fabric", TestImages.normals(2))
                .post("/v1/prompt-sets")
                .then()
                .statusCode(201)
                .body("inspection", equalTo("center-crop"))
                .extract()
                .path("id");
        assertThat(plain).isNotBlank();
        ApiFixtures.upload(t, "mosaic", "fabric", TestImages.normals(2))
                .multiPart("inspection", "mosaic")
                .post("/v1/prompt-sets")
                .then()
                .statusCode(400)
                .body("detail", containsString("center-crop, resize, tiles"));
    }
}
