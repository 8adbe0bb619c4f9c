package io.inctrl.serve.security;

import io.github.bucket4j.BucketConfiguration;
import java.time.Duration;

/** The one bucket shape every limiter uses, so the local and the shared limiter admit the same quota. */
final class RateLimits {

    private RateLimits() {}

    /**
     * Capacity (burst) = one second's worth, at least one request; refilled continuously at {@code perSecond}.
     * Bucket4j counts whole tokens, so a fractional rate is expressed as {@code capacity} tokens per period.
     */
    static BucketConfiguration perSecond(double perSecond) {
        if (!(perSecond > 0) || Double.isInfinite(perSecond)) {
            throw new IllegalArgumentException("requests per second must be a positive number: " + perSecond);
        }
        long capacity = Math.max(1, Math.round(perSecond));
        long periodNanos = Math.max(1, Math.round(capacity / perSecond * 1e9));
        return BucketConfiguration.builder()
                .addLimit(limit -> limit.capacity(capacity).refillGreedy(capacity, Duration.ofNanos(periodNanos)))
                .build();
    }

    /** Bucket key: tenant and rate, so a quota change starts a fresh bucket instead of reusing the old shape. */
    static String key(String tenantId, double perSecond) {
        return tenantId + "@" + perSecond;
    }

    /** Zero when the probe consumed a token, else the wait until the bucket refills one. */
    static java.time.Duration waitOf(io.github.bucket4j.ConsumptionProbe probe) {
        return probe.isConsumed()
                ? java.time.Duration.ZERO
                : java.time.Duration.ofNanos(Math.max(1, probe.getNanosToWaitForRefill()));
    }
}
