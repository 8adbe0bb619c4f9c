package io.inctrl.serve.image;

import java.util.Objects;

/**
 * A decoded image as PIL would hold it: interleaved 8-bit samples in {@link #mode()} order, row-major, no padding.
 *
 * @param mode       working 8-bit mode
 * @param sourceMode the mode PIL reports when opening the same file ("I;16" for 16-bit gray, which we convert to L)
 * @param width      pixels
 * @param height     pixels
 * @param pixels     width*height*mode.channels() bytes (unsigned)
 * @param palette    RGB triplets for mode P (index i at 3*i), else null
 * @param format     container: "png", "jpeg", "bmp", "tiff"
 */
public record DecodedImage(
        PixelMode mode, String sourceMode, int width, int height, byte[] pixels, byte[] palette, String format) {

    public DecodedImage {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(pixels, "pixels");
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("bad size " + width + "x" + height);
        }
        if ((long) width * height * mode.channels() != pixels.length) {
            throw new IllegalArgumentException(
                    "pixel buffer is " + pixels.length + " bytes, expected " + (long) width * height * mode.channels());
        }
        if ((mode == PixelMode.P) != (palette != null)) {
            throw new IllegalArgumentException("a palette is required for mode P and only for it");
        }
        if (sourceMode == null) {
            sourceMode = mode.pilName();
        }
    }

    /** An image built in memory (tests, thumbnails). */
    public static DecodedImage of(PixelMode mode, int width, int height, byte[] pixels) {
        return new DecodedImage(mode, null, width, height, pixels, null, "raw");
    }

    /** Same metadata, new geometry and pixels. */
    DecodedImage withPixels(int newWidth, int newHeight, byte[] newPixels) {
        return new DecodedImage(mode, sourceMode, newWidth, newHeight, newPixels, palette, format);
    }

    @Override
    public String toString() {
        return "DecodedImage[" + format + " " + sourceMode
                + (sourceMode.equals(mode.pilName()) ? "" : "->" + mode.pilName()) + " " + width + "x" + height + "]";
    }
}
