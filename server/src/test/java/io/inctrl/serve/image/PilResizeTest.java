package io.inctrl.serve.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Properties of the resampler that need no Pillow fixtures (those are in ImagePreprocessorParityTest). */
class PilResizeTest {

    private static DecodedImage random(PixelMode mode, int w, int h, long seed) {
        byte[] px = new byte[w * h * mode.channels()];
        new Random(seed).nextBytes(px);
        if (mode == PixelMode.P) {
            byte[] pal = new byte[256 * 3];
            new Random(seed + 1).nextBytes(pal);
            return new DecodedImage(mode, null, w, h, px, pal, "raw");
        }
        return DecodedImage.of(mode, w, h, px);
    }

    @Test
    void regionEqualsCropOfFullResize() {
        int[][] sizes = {{37, 53, 20, 29}, {37, 53, 90, 130}, {300, 200, 311, 97}, {5, 400, 3, 240}};
        for (PilResize.PassOrder order : PilResize.PassOrder.values()) {
            for (PixelMode mode : PixelMode.values()) {
                for (int[] s : sizes) { // the last two take the vertical-first path under PILLOW_13
                    DecodedImage img = random(mode, s[0], s[1], s[0] * 31L + mode.ordinal());
                    DecodedImage full = PilResize.resizeRegion(img, s[2], s[3], 0, 0, s[2], s[3], order);
                    int x0 = s[2] / 3;
                    int y0 = s[3] / 4;
                    int w = s[2] - x0 - 1;
                    int h = s[3] / 2;
                    DecodedImage region = PilResize.resizeRegion(img, s[2], s[3], x0, y0, w, h, order);
                    int c = mode.channels();
                    for (int y = 0; y < h; y++) {
                        for (int i = 0; i < w * c; i++) {
                            assertThat(region.pixels()[y * w * c + i])
                                    .as("%s %s %s at row %d", order, mode, java.util.Arrays.toString(s), y)
                                    .isEqualTo(full.pixels()[((y0 + y) * s[2] + x0) * c + i]);
                        }
                    }
                }
            }
        }
    }

    @Test
    void sameSizeIsIdentityEvenWithAlpha() {
        DecodedImage img = random(PixelMode.RGBA, 30, 20, 9);
        assertThat(PilResize.resize(img, 30, 20).pixels()).isEqualTo(img.pixels());
    }

    @Test
    void constantImageStaysConstant() {
        byte[] px = new byte[40 * 30 * 3];
        java.util.Arrays.fill(px, (byte) 200);
        DecodedImage out = PilResize.resize(DecodedImage.of(PixelMode.RGB, 40, 30, px), 240, 180);
        for (byte b : out.pixels()) {
            assertThat(b & 0xff).isEqualTo(200);
        }
    }

    @Test
    void kernelAndPremultiplyRounding() {
        assertThat(PilResize.bicubic(0)).isEqualTo(1.0);
        assertThat(PilResize.bicubic(1)).isEqualTo(0.0);
        assertThat(PilResize.bicubic(0.5)).isEqualTo(0.5625);
        assertThat(PilResize.bicubic(1.5)).isEqualTo(-0.0625);
        assertThat(PilResize.bicubic(2)).isEqualTo(0.0);
        // MULDIV255(200, 128) = 100; 255*100/128 = 199 (truncating un-premultiply loses one level, as in Pillow)
        byte[] px = PilResize.premultiply(new byte[] {(byte) 200, (byte) 128}, 2);
        assertThat(px[0] & 0xff).isEqualTo(100);
        PilResize.unpremultiply(px, 2);
        assertThat(px[0] & 0xff).isEqualTo(199);
    }

    @Test
    void extremeAspectComputesOnlyTheCrop() {
        ImagePreprocessor pre = new ImagePreprocessor(PreprocessConfig.inctrl());
        DecodedImage strip = random(PixelMode.L, 60_000, 2, 5); // resized to 7 200 000 x 240
        assertThat(pre.crop(strip).rgb()).hasSize(240 * 240 * 3);
        DecodedImage pstrip = random(PixelMode.P, 2, 60_000, 6);
        assertThat(pre.crop(pstrip).rgb()).hasSize(240 * 240 * 3);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> pre.crop(random(PixelMode.L, 100_000, 1, 7)))
                .isInstanceOfSatisfying(
                        InvalidImageException.class,
                        e -> assertThat(e.reason()).isEqualTo(InvalidImageException.Reason.TOO_MANY_PIXELS));
    }

    @Test
    void torchvisionGeometry() {
        assertThat(ImagePreprocessor.resizedSize(500, 512, 240)).containsExactly(240, 245);
        assertThat(ImagePreprocessor.cropOffset(245, 240)).isEqualTo(2); // round(2.5) = 2, not 3
        assertThat(ImagePreprocessor.cropOffset(247, 240)).isEqualTo(4); // round(3.5) = 4
        assertThat(ImagePreprocessor.resizedSize(1000, 60, 240)).containsExactly(4000, 240);
        assertThat(ImagePreprocessor.resizedSize(333, 257, 240)).containsExactly(310, 240); // int(310.97)
    }
}
