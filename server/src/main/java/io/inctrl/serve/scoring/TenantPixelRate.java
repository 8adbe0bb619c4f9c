package io.inctrl.serve.scoring;

import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Decoded pixels per second per tenant ({@code inctrl.limits.tenant-pixels-per-second}), so one tenant cannot keep
 * every decoding thread busy. A token bucket per tenant in memory, like the request rate: the limit applies per
 * replica. It holds one second's worth, and never less than one full request ({@code max-request-pixels}), so any
 * request within the per-request budget can pass once the bucket is full.
 */
@ApplicationScoped
public class TenantPixelRate {

    @Inject
    InctrlConfig config;

    private double perSecond;
    private double burst;
    private LongSupplier clock = System::nanoTime;
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    private static final class Bucket {
        double tokens;
        long last;
    }

    public TenantPixelRate() {}

    /** Without CDI (unit tests): a rate, a burst and a nanosecond clock. */
    TenantPixelRate(double perSecond, double burst, LongSupplier clock) {
        this.perSecond = perSecond;
        this.burst = burst;
        this.clock = clock;
    }

    @PostConstruct
    void init() {
        perSecond = config.limits().tenantPixelsPerSecond();
        burst = Math.max(perSecond, config.limits().maxRequestPixels());
    }

    /**
     * Takes {@code pixels} from the tenant's bucket.
     *
     * @throws ServeException RESOURCE_EXHAUSTED with the time after which the request would pass
     */
    public void charge(String tenant, long pixels) {
        if (perSecond <= 0) {
            return;
        }
        Bucket b = buckets.computeIfAbsent(tenant, k -> {
            Bucket nb = new Bucket();
            nb.tokens = burst;
            nb.last = clock.getAsLong();
            return nb;
        });
        synchronized (b) {
            long now = clock.getAsLong();
            b.tokens = Math.min(burst, b.tokens + (now - b.last) / 1e9 * perSecond);
            b.last = now;
            if (b.tokens >= pixels) {
                b.tokens -= pixels;
                return;
            }
            long retryMs = (long) Math.ceil((Math.min(pixels, burst) - b.tokens) / perSecond * 1000);
            long retry = Math.max(1, retryMs);
            throw ServeException.retryLater(
                    Reason.PIXEL_RATE_LIMITED,
                    "the tenant's decoded-pixel rate of "
                            + (long) perSecond + " pixels/s is used up (inctrl.limits.tenant-pixels-per-second); this "
                            + "request needs " + pixels + " pixels: retry after " + retry + " ms",
                    java.time.Duration.ofMillis(retry));
        }
    }
}
