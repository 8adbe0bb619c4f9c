package io.inctrl.serve.image;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ImageNotesTest {

    @Test
    void shotsAreNamedFromZero_andSaySo() {
        assertThat(ImageNotes.shot(0)).isEqualTo("shot 0 (0-based)");
        assertThat(ImageNotes.shot(7)).isEqualTo("shot 7 (0-based)");
        assertThat(ImageNotes.image(1)).isEqualTo("image 1 (0-based)");
    }

    @Test
    void anImageIsTinyWhenItsShorterSideIsBelowTheRule() {
        assertThat(ImageNotes.tinyWarning("image", 1, 1, 299))
                .hasValueSatisfying(w -> assertThat(w)
                        .startsWith("image is only 1x1 pixels")
                        .contains("under 32 px")
                        .contains("299 px input"));
        // the shorter side decides: a 4096 x 16 strip is tiny, a 32 x 32 image is not
        assertThat(ImageNotes.tinyWarning("shot 3 (0-based)", 4096, 16, 240)).isPresent();
        assertThat(ImageNotes.tinyWarning("x", 31, 500, 240)).isPresent();
        assertThat(ImageNotes.tinyWarning("x", ImageNotes.MIN_USEFUL_SIDE, ImageNotes.MIN_USEFUL_SIDE, 240))
                .isEmpty();
        assertThat(ImageNotes.tinyWarning("x", 640, 480, 240)).isEmpty();
    }
}
