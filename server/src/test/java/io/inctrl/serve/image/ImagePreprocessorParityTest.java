package io.inctrl.serve.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Bit-exact parity with Pillow 13 + torchvision 0.22 (fixtures from make_preprocess_fixtures.py): the uint8 crop
 * must be identical for every lossless input, the float tensor within 1e-6. JPEG is decoded by a different
 * library (ImageIO vs libjpeg-turbo), so it gets the per-case tolerance stored in the index.
 */
class ImagePreprocessorParityTest {

    private static final double FLOAT_TOL = 1e-6;
    private final ImageDecoder decoder = new ImageDecoder();
    private final ImagePreprocessor pre = new ImagePreprocessor(PreprocessConfig.inctrl());

    @TestFactory
    Stream<DynamicTest> matchesPillowAndTorchvision() {
        JsonNode index = PreprocessFixtures.index();
        assertThat(index.get("size").asInt()).isEqualTo(240);
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : index.get("cases")) {
            tests.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> checkCase(c)));
        }
        assertThat(tests).hasSizeGreaterThanOrEqualTo(40);
        return tests.stream();
    }

    private void checkCase(JsonNode c) {
        String name = c.get("name").asText();
        DecodedImage img = decoder.decode(PreprocessFixtures.bytes(c.get("file").asText()));
        assertThat(img.sourceMode())
                .as(name + ": mode PIL reports")
                .isEqualTo(c.get("pil_mode").asText());
        assertThat(img.width()).as(name + " width").isEqualTo(c.get("width").asInt());
        assertThat(img.height()).as(name + " height").isEqualTo(c.get("height").asInt());

        PilResize.PassOrder order =
                PilResize.PassOrder.valueOf(c.path("pass_order").asText("PILLOW_13"));
        ImagePreprocessor p =
                order == PilResize.PassOrder.PILLOW_13 ? pre : new ImagePreprocessor(PreprocessConfig.inctrl(), order);
        ImagePreprocessor.RgbImage crop = p.crop(img);
        byte[] want = PreprocessFixtures.bytes(c.get("crop").asText());
        int tol = c.get("max_abs_u8").asInt();
        Diff d = Diff.of(crop.rgb(), want);
        assertThat(d.max)
                .as(name + ": max |java - pillow| over the uint8 crop (" + d + ")")
                .isLessThanOrEqualTo(tol);

        float[] tensor = p.tensor(crop);
        float[] wantT = PreprocessFixtures.floats(c.get("tensor").asText());
        assertThat(tensor).hasSameSizeAs(wantT);
        double floatTol = FLOAT_TOL + tol / 255.0 / 0.2613;
        double maxF = 0;
        for (int i = 0; i < tensor.length; i++) {
            maxF = Math.max(maxF, Math.abs(tensor[i] - wantT[i]));
        }
        assertThat(maxF).as(name + ": max float diff").isLessThanOrEqualTo(floatTol);
        if (maxF != 0) {
            System.out.printf(Locale.ROOT, "case %-32s max |float diff| %.3g%n", name, maxF);
        }
    }

    /** Measures and prints the JPEG decoder difference (ImageIO vs Pillow/libjpeg-turbo) before the pipeline. */
    @Test
    void jpegDecoderDifferenceIsSmall() {
        JsonNode index = PreprocessFixtures.index();
        int jpegs = 0;
        for (JsonNode c : index.get("cases")) {
            if (!c.has("pil_decoded")) {
                continue;
            }
            jpegs++;
            DecodedImage java =
                    decoder.decode(PreprocessFixtures.bytes(c.get("file").asText()));
            DecodedImage pil =
                    decoder.decode(PreprocessFixtures.bytes(c.get("pil_decoded").asText()));
            assertThat(java.mode()).isEqualTo(pil.mode());
            Diff dec = Diff.of(java.pixels(), pil.pixels());
            Diff crop = Diff.of(
                    pre.crop(java).rgb(), PreprocessFixtures.bytes(c.get("crop").asText()));
            System.out.printf(
                    Locale.ROOT,
                    "JPEG %-22s decode: %s | 240x240 crop: %s%n",
                    c.get("name").asText(),
                    dec,
                    crop);
            assertThat(dec.max)
                    .as("decoded pixel diff " + c.get("name").asText())
                    .isLessThanOrEqualTo(3);
        }
        assertThat(jpegs).isGreaterThanOrEqualTo(1);
    }

    @Test
    void rejectsFixtureInputs() {
        for (JsonNode r : PreprocessFixtures.index().get("rejects")) {
            byte[] bytes = PreprocessFixtures.bytes(r.get("file").asText());
            assertThatThrownBy(() -> decoder.decode(bytes))
                    .isInstanceOfSatisfying(
                            InvalidImageException.class,
                            e -> assertThat(e.reason().name())
                                    .isEqualTo(r.get("reason").asText()));
        }
    }

    record Diff(int max, long differing, long total) {
        static Diff of(byte[] a, byte[] b) {
            assertThat(a).as("buffer length").hasSameSizeAs(b);
            int max = 0;
            long n = 0;
            for (int i = 0; i < a.length; i++) {
                int d = Math.abs((a[i] & 0xff) - (b[i] & 0xff));
                max = Math.max(max, d);
                if (d != 0) {
                    n++;
                }
            }
            return new Diff(max, n, a.length);
        }

        @Override
        public String toString() {
            return String.format(
                    Locale.ROOT,
                    "max %d, %d/%d samples differ (%.3f%%)",
                    max,
                    differing,
                    total,
                    100.0 * differing / total);
        }
    }
}
