package io.inctrl.serve.lifecycle;

import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.model.BundleManifest;
import io.inctrl.serve.models.LoadCheck;
import io.inctrl.serve.models.ModelRef;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * Refuses to start with limits that disagree (issue 20 item 5): a request within {@code inctrl.limits.*} and
 * {@code inctrl.inspection.max-tiles} must fit the batcher's per-tenant queue bound, else it fails with QUEUE_FULL and
 * a retry hint that can never succeed. One request submits all its jobs at once: in tiles mode one per tile of the
 * query and of every inline shot (a registration: of every shot), at most (max-shots + 1) x max-tiles, and at most
 * max-request-pixels / S² since each tile costs S x S pixels of the request's budget (S = the bundle's input size; a
 * small strip upsampled to S tiles cheaply, so the image's own pixels cannot be counted on). Other modes submit one
 * job per image.
 * <p>
 * Open Inference Protocol ModelInfer images are separate Score commands; each is bounded like one request.
 * <p>
 * S differs per model version, so every version is checked before it loads: at start a failing default model stops
 * the server (it never becomes ready), a later load is refused with INVALID_BUNDLE.
 */
@ApplicationScoped
public class LimitsAgree implements LoadCheck {

    @Inject
    InctrlConfig config;

    @Override
    public void check(ModelRef ref, BundleManifest manifest) {
        check(config, manifest.image().size());
    }

    /** The most batcher jobs one Score request or prompt-set registration can submit at once. */
    public static long worstCaseJobs(int maxShots, int maxTiles, long maxRequestPixels, int imageSize) {
        long images = maxShots + 1L; // the query and its inline shots; a registration has at most max-shots
        long byCount = images * Math.max(1, maxTiles);
        long byPixels = maxRequestPixels / ((long) imageSize * imageSize);
        return Math.max(images, Math.min(byCount, byPixels));
    }

    /** @throws IllegalStateException naming the keys when one request can exceed the per-tenant queue bound */
    public static void check(InctrlConfig config, int imageSize) {
        InctrlConfig.Limits l = config.limits();
        int maxTiles = config.inspection().maxTiles();
        long worst = worstCaseJobs(l.maxShots(), maxTiles, l.maxRequestPixels(), imageSize);
        int bound = config.batching().maxQueuedPerTenant();
        if (worst > bound) {
            throw new IllegalStateException("inconsistent limits: one request may queue " + worst
                    + " batcher jobs (inctrl.limits.max-shots " + l.maxShots() + " + 1 images x"
                    + " inctrl.inspection.max-tiles " + maxTiles + " tiles, at most inctrl.limits.max-request-pixels "
                    + l.maxRequestPixels() + " / " + imageSize + "² per tile) but inctrl.batching.max-queued-per-tenant"
                    + " is " + bound + ": such a request would fail with QUEUE_FULL however long it waited. Raise"
                    + " max-queued-per-tenant (and max-queue-size) to at least " + worst
                    + ", or lower max-tiles, max-shots or max-request-pixels.");
        }
    }
}
