package io.inctrl.serve.api.grpc;

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
import io.grpc.stub.StreamObserver;
import io.inctrl.serve.api.ApiFixtures;
import io.inctrl.serve.api.ApiFixtures.TestTenant;
import io.inctrl.serve.api.v1.InlinePrompts;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.registry.TestImages;
import io.inctrl.serve.testing.GrpcTestChannels;
import io.inctrl.serve.testing.LogCapture;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URL;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Score requests are bounded before they cost anything (pixels per request and per tenant, category length), refuse
 * the files Pillow refuses, and never let client text into the log unescaped. Real decoder and tiny bundle.
 */
@QuarkusTest
@TestProfile(ScoreLimitsProfile.class)
class ScoreInputLimitsTest {

    /** 3000 x 2000 = 6 Mpx declared in a 70-byte PNG whose data is garbage: it can be measured, never decoded. */
    static final byte[] SIX_MEGAPIXELS = TestImages.pngHeaderOnly(3000, 2000);

    @TestHTTPResource("/")
    URL url;

    ManagedChannel channel;
    LogCapture log;
    List<String> logLines;

    @BeforeEach
    void open() {
        channel = GrpcTestChannels.open(url);
        log = LogCapture.of(RequestMetrics.class);
        logLines = log.lines();
    }

    @AfterEach
    void close() throws InterruptedException {
        log.close();
        GrpcTestChannels.close(channel);
    }

    /** One Score with 32 inline 40-megapixel shots took 94 s of CPU. */
    @Test
    void requestOverThePixelBudget_isInvalidArgumentFromTheHeaders_beforeAnythingIsDecoded() {
        TestTenant t = ApiFixtures.tenant();
        ScoreRequest r = inline("big", SIX_MEGAPIXELS, List.of(SIX_MEGAPIXELS));
        assertStatus(scorer(t), r, Status.Code.INVALID_ARGUMENT, "more than the per-request pixel budget of 10000000");
        // the registry's encoder has the same budget: a prompt set of two 6 Mpx shots is refused as well
        ApiFixtures.as(t)
                .multiPart("name", "big")
                .multiPart("category", "screw")
                .multiPart("shots", "a.png", SIX_MEGAPIXELS, "image/png")
                .multiPart("shots", "b.png", SIX_MEGAPIXELS, "image/png")
                .post("/v1/prompt-sets")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("reason", equalTo("PIXEL_BUDGET_EXCEEDED"))
                .body("detail", containsString("10000000"));
    }

    @Test
    void tenantOverItsPixelRate_isResourceExhaustedWithARetryHint_whileOtherTenantsGoOn() {
        TestTenant a = ApiFixtures.tenant();
        TestTenant b = ApiFixtures.tenant();
        ScoreRequest r = inline("rate", SIX_MEGAPIXELS, List.of(TestImages.normal(1)));
        // the first 6 Mpx fit the bucket (then fail decoding: the data is garbage), the second do not
        assertStatus(scorer(a), r, Status.Code.INVALID_ARGUMENT, "png");
        assertStatus(scorer(a), r, Status.Code.RESOURCE_EXHAUSTED, "retry after");
        assertStatus(scorer(b), r, Status.Code.INVALID_ARGUMENT, "png");
    }

    @Test
    void overlongInlineCategory_isInvalidArgument_beforeAnySentenceIsBuilt() {
        TestTenant t = ApiFixtures.tenant();
        ScoreRequest r = inline("cat", TestImages.normal(1), List.of(TestImages.normal(2))).toBuilder()
                .setInline(InlinePrompts.newBuilder()
                        .setCategory("c".repeat(1 << 20))
                        .addShots(ByteString.copyFrom(TestImages.normal(2))))
                .build();
        assertStatus(scorer(t), r, Status.Code.INVALID_ARGUMENT, "limit of 128");
    }

    /** Files ImageIO decodes but Pillow refuses, and a float TIFF that failed with "/ by zero". */
    @Test
    void truncatedJpegBadCrcPngAndFloatTiff_areInvalidArgumentWithAClearMessage() throws IOException {
        TestTenant t = ApiFixtures.tenant();
        byte[] jpeg = jpeg();
        byte[] png = TestImages.normal(3);
        png[29] ^= 0x5A; // IHDR CRC
        java.awt.image.ColorModel cm = new java.awt.image.ComponentColorModel(
                java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_GRAY),
                false,
                false,
                java.awt.Transparency.OPAQUE,
                java.awt.image.DataBuffer.TYPE_FLOAT);
        ByteArrayOutputStream tiff = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(cm, cm.createCompatibleWritableRaster(32, 32), false, null), "tiff", tiff);
        var stub = scorer(t);
        assertStatus(
                stub,
                inline("j", Arrays.copyOf(jpeg, jpeg.length / 2), List.of(TestImages.normal(1))),
                Status.Code.INVALID_ARGUMENT,
                "truncated");
        assertStatus(stub, inline("p", png, List.of(TestImages.normal(1))), Status.Code.INVALID_ARGUMENT, "bad CRC");
        assertStatus(
                stub,
                inline("f", tiff.toByteArray(), List.of(TestImages.normal(1))),
                Status.Code.INVALID_ARGUMENT,
                "UNSUPPORTED_FORMAT");
        assertThat(stub.withDeadlineAfter(60, TimeUnit.SECONDS)
                        .score(inline("ok", jpeg, List.of(TestImages.normal(1))))
                        .getScore())
                .isBetween(0f, 1f);
    }

    /** A request_id with a newline forged an ERROR line; 1 MiB ids were logged in full. */
    @Test
    void requestIdsInTheLog_areEscapedAndCapped_andOverlongOnesAreRefusedOnScoreAndStream() throws Exception {
        TestTenant t = ApiFixtures.tenant();
        String forged = "id-1\n2026-01-01 12:00:00,000 ERROR [io.inctrl.serve] forged line";
        ScoreRequest bad = inline(forged, "garbage".getBytes(), List.of(TestImages.normal(1)));
        assertStatus(scorer(t), bad, Status.Code.INVALID_ARGUMENT, "image");
        String huge = "h".repeat(1 << 20);
        assertStatus(
                scorer(t),
                bad.toBuilder().setRequestId(huge).build(),
                Status.Code.INVALID_ARGUMENT,
                "request_id is longer than 128");

        List<ScoreResponse> streamed = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        StreamObserver<ScoreRequest> in = ScorerGrpc.newStub(channel)
                .withInterceptors(key(t))
                .scoreStream(new StreamObserver<>() {
                    public void onNext(ScoreResponse r) {
                        streamed.add(r);
                    }

                    public void onError(Throwable e) {
                        done.countDown();
                    }

                    public void onCompleted() {
                        done.countDown();
                    }
                });
        in.onNext(bad.toBuilder().setRequestId("s".repeat(129)).build());
        in.onCompleted();
        assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(streamed).hasSize(1);
        assertThat(streamed.get(0).getError().getCode()).isEqualTo("INVALID_ARGUMENT");
        assertThat(streamed.get(0).getError().getMessage()).contains("request_id is longer than 128");

        List<String> ours = new ArrayList<>();
        for (String line : logLines) {
            if (line.contains("id-1") || line.contains("hhhh") || line.contains("ssss")) {
                ours.add(line);
            }
        }
        assertThat(ours).hasSize(3);
        for (String line : ours) {
            assertThat(line).doesNotContain("\n").hasSizeLessThan(2000);
        }
        assertThat(ours).anySatisfy(l -> assertThat(l).contains("id-1\\n2026-01-01"));
        assertThat(ours).anySatisfy(l -> assertThat(l).contains("...(+"));
    }

    private static ScoreRequest inline(String id, byte[] image, List<byte[]> shots) {
        InlinePrompts.Builder p = InlinePrompts.newBuilder().setCategory("screw");
        shots.forEach(s -> p.addShots(ByteString.copyFrom(s)));
        return ScoreRequest.newBuilder()
                .setRequestId(id)
                .setImage(ByteString.copyFrom(image))
                .setInline(p)
                .build();
    }

    private static io.grpc.ClientInterceptor key(TestTenant t) {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), t.key());
        return MetadataUtils.newAttachHeadersInterceptor(md);
    }

    private ScorerGrpc.ScorerBlockingStub scorer(TestTenant t) {
        return ScorerGrpc.newBlockingStub(channel).withInterceptors(key(t));
    }

    private static void assertStatus(
            ScorerGrpc.ScorerBlockingStub stub, ScoreRequest r, Status.Code code, String part) {
        assertThatThrownBy(() -> stub.withDeadlineAfter(60, TimeUnit.SECONDS).score(r))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode())
                            .as(e.getStatus().toString())
                            .isEqualTo(code);
                    assertThat(e.getStatus().getDescription()).contains(part);
                });
    }

    private static byte[] jpeg() throws IOException {
        BufferedImage bi = new BufferedImage(64, 64, BufferedImage.TYPE_3BYTE_BGR);
        java.util.Random rnd = new java.util.Random(5);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                bi.setRGB(x, y, rnd.nextInt(0x1000000));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(bi, "jpeg", out);
        return out.toByteArray();
    }
}
