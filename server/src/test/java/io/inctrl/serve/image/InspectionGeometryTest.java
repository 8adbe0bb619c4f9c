package io.inctrl.serve.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Geometry of the inspection modes: tiles cover the frame with the overlap, resize pads with the mean, crop is unchanged. */
class InspectionGeometryTest {

    private static final int S = 240;
    private final ImagePreprocessor pre = new ImagePreprocessor(PreprocessConfig.inctrl());

    private static DecodedImage rgb(int w, int h, long seed) {
        byte[] px = new byte[w * h * 3];
        new Random(seed).nextBytes(px);
        return DecodedImage.of(PixelMode.RGB, w, h, px);
    }

    @Test
    void tileOffsetsCoverEveryDimensionWithTheMinimumOverlapAndNoMoreTilesThanNeeded() {
        for (int dim = 1; dim <= 6000; dim++) {
            int[] off = FrameTiling.offsets(dim, S);
            assertThat(off[0]).isZero();
            if (dim <= S) {
                assertThat(off).hasSize(1);
                continue;
            }
            assertThat(off[off.length - 1])
                    .as("last tile ends at the edge of %d", dim)
                    .isEqualTo(dim - S);
            for (int i = 1; i < off.length; i++) {
                int overlap = S - (off[i] - off[i - 1]);
                assertThat(overlap)
                        .as("overlap at %d of %d", i, dim)
                        .isGreaterThanOrEqualTo(S / 4)
                        .isLessThan(S);
            }
            // one tile fewer could not keep the overlap: (n-2) strides of at most 3S/4 fall short of dim - S
            assertThat((long) (off.length - 2) * (S - S / 4)).isLessThan(dim - S);
        }
    }

    @Test
    void wideStripTilesAlongItsLengthAfterTheShorterSideResize() {
        FrameTiling t = FrameTiling.of(4096, 256, S);
        assertThat(t.frameWidth()).isEqualTo(3840);
        assertThat(t.frameHeight()).isEqualTo(240);
        assertThat(t.ys()).containsExactly(0);
        assertThat(t.xs()).hasSize(21); // ceil(3600 / 180) + 1
        assertThat(t.tile(20)).containsExactly(3600, 0);
    }

    @Test
    void eachTileIsTheWindowOfTheFullShorterSideResize() {
        DecodedImage img = rgb(517, 131, 7);
        FrameTiling t = FrameTiling.of(517, 131, S);
        List<float[]> views = pre.views(img, Inspection.TILES);
        assertThat(views).hasSize(t.count()).hasSizeGreaterThan(1);
        DecodedImage full =
                PilResize.resizeRegion(img, t.frameWidth(), t.frameHeight(), 0, 0, t.frameWidth(), t.frameHeight());
        for (int i = 0; i < t.count(); i++) {
            int[] xy = t.tile(i);
            byte[] window = new byte[S * S * 3];
            for (int y = 0; y < S; y++) {
                System.arraycopy(full.pixels(), ((xy[1] + y) * t.frameWidth() + xy[0]) * 3, window, y * S * 3, S * 3);
            }
            assertThat(views.get(i))
                    .as("tile %d", i)
                    .containsExactly(pre.tensor(new ImagePreprocessor.RgbImage(S, S, window)));
        }
    }

    @Test
    void resizeKeepsTheWholeImageAndPadsWithZeroAfterNormalisation() {
        DecodedImage img = rgb(480, 120, 3);
        assertThat(ImagePreprocessor.fittedSize(480, 120, S)).containsExactly(240, 60);
        assertThat(ImagePreprocessor.fittedSize(4096, 256, S)).containsExactly(240, 15);
        assertThat(ImagePreprocessor.fittedSize(10, 5000, S)).containsExactly(1, 240);
        float[] v = pre.views(img, Inspection.RESIZE).get(0);
        assertThat(v).hasSize(3 * S * S);
        float[] inner = pre.tensor(pre.fitted(img));
        int top = (S - 60) / 2;
        for (int ch = 0; ch < 3; ch++) {
            for (int y = 0; y < S; y++) {
                for (int x = 0; x < S; x++) {
                    float got = v[ch * S * S + y * S + x];
                    if (y < top || y >= top + 60) {
                        assertThat(got).as("padding at %d,%d", x, y).isZero();
                    } else {
                        assertThat(got).isEqualTo(inner[ch * S * 60 + (y - top) * S + x]);
                    }
                }
            }
        }
        // zero after (x - mean) / std is the mean colour: what a uniform mean-grey image would normalise to
        float[] mean = PreprocessConfig.CLIP_MEAN;
        for (int ch = 0; ch < 3; ch++) {
            assertThat((mean[ch] - mean[ch]) / PreprocessConfig.CLIP_STD[ch]).isZero();
        }
    }

    @Test
    void centreCropModeIsTheOfficialTensor() {
        DecodedImage img = rgb(333, 250, 11);
        List<float[]> views = pre.views(img, Inspection.CENTER_CROP);
        assertThat(views).hasSize(1);
        assertThat(views.get(0)).containsExactly(pre.tensor(img));
    }

    @Test
    void parsesTheRestSpellingsAndRefusesOthers() {
        assertThat(Inspection.parse(null)).isEqualTo(Inspection.CENTER_CROP);
        assertThat(Inspection.parse("tiles")).isEqualTo(Inspection.TILES);
        assertThat(Inspection.parse("center-crop")).isEqualTo(Inspection.CENTER_CROP);
        assertThat(Inspection.parse("RESIZE")).isEqualTo(Inspection.RESIZE);
        assertThatThrownBy(() -> Inspection.parse("mosaic")).hasMessageContaining("center-crop, resize, tiles");
    }
}
