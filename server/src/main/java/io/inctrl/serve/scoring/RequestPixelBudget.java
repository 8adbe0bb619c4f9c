package io.inctrl.serve.scoring;

import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.error.ServeException;
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
     * @param what names image i in messages, e.g. "image" or "shot 3"
     * @return the request's total declared pixels
     * @throws ServeException INVALID_ARGUMENT (PIXEL_BUDGET_EXCEEDED) naming the budget when the total exceeds it, or naming the image
     *                          whose header cannot be read
     */
    public long check(List<byte[]> encoded, IntFunction<String> what) {
        long max = config.limits().maxRequestPixels();
        long total = 0;
        for (int i = 0; i < encoded.size(); i++) {
            total += images.declaredPixels(encoded.get(i), what.apply(i));
        }
        if (total > max) {
            throw ServeException.invalid(
                    "PIXEL_BUDGET_EXCEEDED",
                    "the request's " + encoded.size() + " images decode to " + total
                            + " pixels, more than the per-request pixel budget of " + max
                            + " (inctrl.limits.max-request-pixels); send smaller images or fewer shots");
        }
        return total;
    }
}
