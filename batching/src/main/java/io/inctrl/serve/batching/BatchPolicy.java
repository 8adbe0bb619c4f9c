package io.inctrl.serve.batching;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How batches are cut and how much work may wait (Triton's {@code dynamic_batching} block as a record).
 *
 * @param maxBatchSize        largest batch handed to a processor (at least 1)
 * @param maxQueueDelay       how long the oldest queued job may wait for a fuller batch; zero = never wait
 * @param preferredBatchSizes sizes sent at once while the delay runs (each 1..maxBatchSize); empty = none
 * @param maxQueueSize        bound on queued jobs, all tenants together
 * @param maxQueuedPerTenant  bound on one tenant's queued jobs (1..maxQueueSize)
 * @param background          lanes (tenants) served only while no other lane has work, in batches of at most
 *                            {@code backgroundBatchSize}; a background job that waited {@code backgroundMaxWait} is
 *                            served like any tenant's, so background work is never starved outright
 */
public record BatchPolicy(
        int maxBatchSize,
        Duration maxQueueDelay,
        List<Integer> preferredBatchSizes,
        int maxQueueSize,
        int maxQueuedPerTenant,
        java.util.Set<String> background,
        int backgroundBatchSize,
        Duration backgroundMaxWait) {

    /** A policy without background lanes. */
    public BatchPolicy(
            int maxBatchSize,
            Duration maxQueueDelay,
            List<Integer> preferredBatchSizes,
            int maxQueueSize,
            int maxQueuedPerTenant) {
        this(
                maxBatchSize,
                maxQueueDelay,
                preferredBatchSizes,
                maxQueueSize,
                maxQueuedPerTenant,
                java.util.Set.of(),
                1,
                Duration.ofSeconds(1));
    }

    public BatchPolicy {
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("maxBatchSize must be >= 1, was " + maxBatchSize);
        }
        Objects.requireNonNull(maxQueueDelay, "maxQueueDelay must not be null (use Duration.ZERO for no delay)");
        if (maxQueueDelay.isNegative()) {
            throw new IllegalArgumentException("maxQueueDelay must not be negative, was " + maxQueueDelay);
        }
        Objects.requireNonNull(preferredBatchSizes, "preferredBatchSizes must not be null (use List.of())");
        for (Integer size : preferredBatchSizes) {
            if (size == null || size < 1 || size > maxBatchSize) {
                throw new IllegalArgumentException("each preferred batch size must be in [1, maxBatchSize="
                        + maxBatchSize + "], got " + preferredBatchSizes);
            }
        }
        // sorted and de-duplicated once, so batch cutting can scan from the largest down
        preferredBatchSizes = preferredBatchSizes.stream().distinct().sorted().toList();
        if (maxQueueSize < 1) {
            throw new IllegalArgumentException("maxQueueSize must be >= 1, was " + maxQueueSize);
        }
        if (maxQueuedPerTenant < 1 || maxQueuedPerTenant > maxQueueSize) {
            throw new IllegalArgumentException(
                    "maxQueuedPerTenant must be in [1, maxQueueSize=" + maxQueueSize + "], was " + maxQueuedPerTenant);
        }
        background = java.util.Set.copyOf(Objects.requireNonNull(background, "background (use Set.of())"));
        if (backgroundBatchSize < 1 || backgroundBatchSize > maxBatchSize) {
            throw new IllegalArgumentException("backgroundBatchSize must be in [1, maxBatchSize=" + maxBatchSize
                    + "], was " + backgroundBatchSize);
        }
        Objects.requireNonNull(backgroundMaxWait, "backgroundMaxWait");
        if (backgroundMaxWait.isNegative()) {
            throw new IllegalArgumentException("backgroundMaxWait must not be negative");
        }
    }

    /** The tuning starting point from the README: batches of 8, 5 ms delay, no preferred sizes. */
    public static BatchPolicy defaults() {
        return new BatchPolicy(8, Duration.ofMillis(5), List.of(), 1024, 256);
    }

    /** A copy whose {@code lanes} are background lanes (see the record's doc). */
    public BatchPolicy withBackground(java.util.Set<String> lanes, int batchSize, Duration maxWait) {
        return new BatchPolicy(
                maxBatchSize,
                maxQueueDelay,
                preferredBatchSizes,
                maxQueueSize,
                maxQueuedPerTenant,
                lanes,
                batchSize,
                maxWait);
    }

    boolean isBackground(String tenant) {
        return background.contains(tenant);
    }

    /** The largest preferred size not above {@code available}, or 0 when there is none. */
    int largestPreferredAtMost(int available) {
        for (int i = preferredBatchSizes.size() - 1; i >= 0; i--) {
            int size = preferredBatchSizes.get(i);
            if (size <= available) {
                return size;
            }
        }
        return 0;
    }
}
