package io.inctrl.serve.image;

import java.util.Locale;
import java.util.Optional;

/**
 * How messages name the images of a request, and the size below which an image earns a warning. One place, so that
 * every transport and the registry say the same thing.
 *
 * <p>Shots (and the query images of a batch) count from 0 in the order they were sent, like the indices a prompt
 * set's calibration reports ({@code outlier_shots}, {@code shot_scores}); every message says so ("shot 2 (0-based)").
 *
 * <p>Tiny images: a shorter side below {@value #MIN_USEFUL_SIDE} pixels is scaled up more than 7x to the model's
 * 240-299 px input, so the model sees a blur (a 1x1 image is one flat colour) and the score says little about
 * local defects. Such images are still scored (they are valid); a shot gets a warning in its prompt set's
 * calibration warnings, a query a log line (the response has no field for it).
 */
public final class ImageNotes {

    /** Shorter side, in pixels, below which an image is reported as too small to show detail. */
    public static final int MIN_USEFUL_SIDE = 32;

    private ImageNotes() {}

    /** "shot 2 (0-based)" for index 2. */
    public static String shot(int index) {
        return "shot " + index + " (0-based)";
    }

    /** "image 2 (0-based)": one of several query images in a request (Open Inference Protocol batches). */
    public static String image(int index) {
        return "image " + index + " (0-based)";
    }

    /**
     * A warning naming {@code what} when its shorter side is below {@link #MIN_USEFUL_SIDE}, else empty.
     *
     * @param inputSize side of the model's square input, for the message
     */
    public static Optional<String> tinyWarning(String what, int width, int height, int inputSize) {
        if (Math.min(width, height) >= MIN_USEFUL_SIDE) {
            return Optional.empty();
        }
        return Optional.of(String.format(
                Locale.ROOT,
                "%s is only %dx%d pixels: images with a side under %d px are scaled up to the model's %d px input"
                        + " and show no detail, so its score says little",
                what,
                width,
                height,
                MIN_USEFUL_SIDE,
                inputSize));
    }
}
