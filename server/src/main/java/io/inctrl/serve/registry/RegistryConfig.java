package io.inctrl.serve.registry;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * {@code inctrl.registry.*}: caches, stale handling, template bounds and calibration of the prompt registry. Image size
 * and K are the server-wide {@code inctrl.limits.*} (one value for scoring and prompt sets); each tenant's
 * {@code maxShotsPerSet} quota caps K further for that tenant.
 */
@ConfigMapping(prefix = "inctrl.registry")
public interface RegistryConfig {

    /** Directory of the embedded H2 database file (default datasource URL); absolute or starting with "./". */
    @WithDefault("./data")
    String dataDir();

    /**
     * While the store is unreachable, API keys and prompt-set metadata (threshold, version, template) last read at
     * most this long ago keep serving, so scoring by id of cached sets continues through a database outage; older
     * entries fail with UNAVAILABLE. Changes made elsewhere during an outage are seen at most this late.
     */
    @WithDefault("5m")
    java.time.Duration outageGrace();

    /**
     * Most shots a registered set may grow to (adding shots, confirming scored queries); one call still carries at
     * most {@code inctrl.limits.max-shots}, and the tenant's maxShotsPerSet quota caps it lower.
     */
    @WithDefault("1024")
    int maxSetShots();

    RecentQueries recentQueries();

    /**
     * Queries scored against registered sets are kept for a while, so an operator can confirm one as normal (it joins
     * the set's shots) without uploading it again. In memory on the replica that scored it.
     */
    interface RecentQueries {
        /** Bytes of image data kept (least recently scored out first); 0 turns retention off. */
        @WithDefault("134217728")
        long maxBytes();

        /** How long a scored query stays confirmable. */
        @WithDefault("1h")
        java.time.Duration ttl();
    }

    Cache cache();

    MemoryBank memoryBank();

    /**
     * The bounded memory bank of a prompt set: per tapped layer at most this many patch-token rows are kept, chosen by
     * greedy k-centre coreset ({@code io.inctrl.serve.model.Coreset#reduce}); sets with fewer rows are searched exactly.
     * Bounds query cost and memory whatever K is. Chosen from the K-scaling measurement on shared/train
     * (tools/train/README.md): at 4096 the default bundle keeps the AUROC gain of more shots and a grown set's query
     * stays within 1.5x the K = 8 latency.
     */
    interface MemoryBank {
        /** Token rows kept per tap; 4096 = 14 shots' worth of the default bundle's 289 patches. */
        @WithDefault("4096")
        int maxTokens();
    }

    Calibration calibration();

    Startup startup();

    /**
     * How the server waits for its database at start ({@link StoreStartup}): it never fails the start; it retries
     * reaching and migrating the database with exponential backoff, and is not ready until that succeeded once.
     */
    interface Startup {
        /** Delay after the first failed attempt; each further failure doubles it. */
        @WithDefault("1s")
        java.time.Duration initialBackoff();

        /** Longest delay between two attempts. */
        @WithDefault("15s")
        java.time.Duration maxBackoff();
    }

    Templates templates();

    interface Cache {
        /** Upper bound of decoded prompt features held in memory (LRU), in bytes. */
        @WithDefault("1073741824")
        long maxBytes();
    }

    /**
     * Bounds of a text-prompt template set (saved, or previewed unsaved). A set yields (normal states + anomalous
     * states) x templates sentences per category, each tokenized and, for its text prior, encoded: the count is
     * checked from the list sizes before any sentence is built.
     */
    interface Templates {
        /** Most sentences a set may yield for one category (the official defaults yield 242). */
        @WithDefault("5000")
        int maxSentences();

        /** Most CLIP tokens all those sentences may add up to (SOT/EOT included; the defaults need about 3,000). */
        @WithDefault("100000")
        long maxTotalTokens();

        /** Longest single state or template, in characters. */
        @WithDefault("1000")
        int maxEntryLength();

        /** Most characters one list may take as stored JSON; the database columns hold 200,000. */
        @WithDefault("100000")
        int maxStoredChars();
    }

    interface Calibration {
        /**
         * Target false-positive rate of the suggested threshold for sets registered without one (and for sets stored
         * before per-set targets existed): the fraction of normal images expected at or above it. In (0, 0.5).
         */
        @WithDefault("0.05")
        double targetFpr();

        /**
         * Prior spread of logit(score) of normal images, shrinking the spread fitted from K shots (logit units); the
         * default bundle measured 0.22-0.31 on test normals of three categories.
         */
        @WithDefault("0.2")
        double priorLogitScale();

        /** Weight of that prior in pseudo-observations (the fit's degrees of freedom are this + K − 1). */
        @WithDefault("2")
        double priorDof();

        /** A shot is an outlier when (score − median) / max(1.4826·MAD, min-spread) exceeds this. */
        @WithDefault("3.0")
        double outlierMadFactor();

        @WithDefault("0.02")
        double outlierMinSpread();

        /** fp16 storage is flagged with a warning when a score moves by more than this against fp32. */
        @WithDefault("0.001")
        double fp16MaxAbsDiff();
    }
}
