package io.inctrl.serve.scoring;

import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.FrameTiling;
import io.inctrl.serve.image.Inspection;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The per-request decoded-pixel budget ({@code inctrl.limits.max-request-pixels}): width x height summed over every
 * image of one request, read from the headers before any image is decoded, so a request of 32 forty-megapixel
 * shots is refused in microseconds instead of decoded for minutes.
 */
@ApplicationScoped
public class RequestPixelBudget {

    @Inject
    InctrlConfig config;

    @Inject
    ImagePipeline images;

    /**
     * @param what names image i in messages, e.g. "image" or "shot 3 (0-based)" ({@link io.inctrl.serve.image.ImageNotes#shot})
     * @return the request's total declared pixels
     * @throws ServeException INVALID_ARGUMENT (PIXEL_BUDGET_EXCEEDED) naming the budget when the total exceeds it, or naming the image
     *                          whose header cannot be read
     */
    public long check(List<byte[]> encoded, IntFunction<String> what) {
        return check(encoded, what, Inspection.CENTER_CROP, 0);
    }

    /**
     * As {@link #check(List, IntFunction)}; in tiles mode every image's tiles (of the model's input side
     * {@code inputSize}) must be within {@code inctrl.inspection.max-tiles} and each tile's S x S pixels count on top of
     * the image's own.
     */
    public long check(List<byte[]> encoded, IntFunction<String> what, Inspection mode, int inputSize) {
        long max = config.limits().maxRequestPixels();
        long total = 0;
        for (int i = 0; i < encoded.size(); i++) {
            total += images.declaredPixels(encoded.get(i), what.apply(i));
            if (mode == Inspection.TILES) {
                total += tilePixels(encoded.get(i), what.apply(i), inputSize);
            }
        }
        if (total > max) {
            throw ServeException.invalid(
                    Reason.PIXEL_BUDGET_EXCEEDED,
                    "the request's " + encoded.size() + " images decode to " + total
                            + " pixels, more than the per-request pixel budget of " + max
                            + " (inctrl.limits.max-request-pixels); send smaller images or fewer shots");
        }
        return total;
    }

    private long tilePixels(byte[] encoded, String what, int size) {
        int[] wh = images.declaredSize(encoded, what);
        int maxTiles = config.inspection().maxTiles();
        FrameTiling tiling;
        try {
            tiling = FrameTiling.of(wh[0], wh[1], size);
        } catch (io.inctrl.serve.image.InvalidImageException e) {
            throw PilImagePipeline.refused(what, e);
        }
        if (tiling.count() > maxTiles) {
            throw ServeException.invalid(
                    Reason.TOO_MANY_TILES,
                    what + ": " + wh[0] + "x" + wh[1] + " splits into " + tiling.xs().length + "x"
                            + tiling.ys().length + " = " + tiling.count() + " tiles, more than the limit of "
                            + maxTiles + " (inctrl.inspection.max-tiles); send a smaller frame or use resize");
        }
        return (long) tiling.count() * size * size;
    }
}
