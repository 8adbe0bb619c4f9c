package io.inctrl.serve.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The auto-inspection rule: geometry first, leave-one-out scores where geometry leaves a choice. */
class InspectionChooserTest {

    private static List<int[]> sizes(int w, int h, int k) {
        return java.util.Collections.nCopies(k, new int[] {w, h});
    }

    @Test
    void nearSquareShots_takeTheCentreCrop_withoutEncodingAnything() {
        InspectionChooser.Step s = InspectionChooser.byGeometry(
                List.of(new int[] {512, 512}, new int[] {500, 590}, new int[] {227, 227}), 240, 32);
        assertThat(s.isDecided()).isTrue();
        assertThat(s.decided().mode()).isEqualTo(Inspection.CENTER_CROP);
        assertThat(s.decided().reason())
                .contains("3 shots")
                .contains("1.00 to 1.18")
                .contains("near-square");
        // the leave-one-out step keeps a geometric decision whatever the scores say
        assertThat(InspectionChooser.byLeaveOneOut(s, Map.of(Inspection.RESIZE, new float[] {0f, 0f}))
                        .mode())
                .isEqualTo(Inspection.CENTER_CROP);
    }

    @Test
    void longStrips_takeTiles_orResizeWhenTheyNeedTooManyTiles() {
        InspectionChooser.Step strip = InspectionChooser.byGeometry(sizes(4096, 256, 4), 240, 32);
        assertThat(strip.decided().mode()).isEqualTo(Inspection.TILES);
        assertThat(strip.decided().reason()).contains("16.00").contains("long strips");
        InspectionChooser.Step tooLong = InspectionChooser.byGeometry(sizes(4096, 256, 4), 240, 8);
        assertThat(tooLong.decided().mode()).isEqualTo(Inspection.RESIZE);
        assertThat(tooLong.decided().reason()).contains("more than 8 tiles");
    }

    @Test
    void inBetween_theWholeFrameModeWithTheLowerMedianLeaveOneOutScoreWins() {
        InspectionChooser.Step s = InspectionChooser.byGeometry(sizes(512, 210, 6), 240, 32);
        assertThat(s.isDecided()).isFalse();
        // the centre crop would not see the rest of the frame: not a candidate, whatever its LOO scores
        assertThat(s.candidates()).containsExactly(Inspection.RESIZE, Inspection.TILES);
        InspectionChoice c = InspectionChooser.byLeaveOneOut(
                s,
                Map.of(
                        Inspection.CENTER_CROP, new float[] {0.01f, 0.01f, 0.01f},
                        Inspection.RESIZE, new float[] {0.20f, 0.90f, 0.45f},
                        Inspection.TILES, new float[] {0.40f, 0.41f, 0.42f}));
        assertThat(c.mode()).isEqualTo(Inspection.TILES);
        assertThat(c.reason())
                .doesNotContain("center-crop")
                .contains("resize 0.4500")
                .contains("tiles 0.4100");
        // a 4:1 strip is in between too (resize keeps a quarter of the rows; the LOO scores decide)
        assertThat(InspectionChooser.byGeometry(sizes(908, 227, 3), 240, 32).isDecided())
                .isFalse();
        // mixed shapes are undecided too, even when some shots are square
        assertThat(InspectionChooser.byGeometry(List.of(new int[] {300, 300}, new int[] {900, 200}), 240, 32)
                        .isDecided())
                .isFalse();
    }

    @Test
    void withoutLeaveOneOutScores_theWholeFrameIsResized() {
        InspectionChooser.Step s = InspectionChooser.byGeometry(sizes(600, 300, 1), 240, 32);
        InspectionChoice c = InspectionChooser.byLeaveOneOut(s, Map.of());
        assertThat(c.mode()).isEqualTo(Inspection.RESIZE);
        assertThat(c.reason()).contains("K < 2");
    }

    @Test
    void autoIsNeverAChoice() {
        assertThatThrownBy(() -> new InspectionChoice(Inspection.AUTO, "x"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(Inspection.parse("auto")).isEqualTo(Inspection.AUTO);
        assertThat(Inspection.parse(null, Inspection.AUTO)).isEqualTo(Inspection.AUTO);
        assertThat(Inspection.parse(null)).isEqualTo(Inspection.CENTER_CROP);
    }
}
