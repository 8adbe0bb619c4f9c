package io.inctrl.serve.registry;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** {@code inctrl.registry.*}: limits, caches, stale handling and calibration of the prompt registry. */
@ConfigMapping(prefix = "inctrl.registry")
public interface RegistryConfig {

    /** Directory of the embedded H2 database file (default datasource URL); absolute or starting with "./". */
    @WithDefault("./data")
    String dataDir();

    /** Largest accepted shot or query image, in bytes. */
    @WithDefault("16777216")
    int maxImageBytes();

    /** Server-wide cap on K, on top of each tenant's max-shots-per-set quota. */
    @WithDefault("64")
    int maxShots();

    /** What to do with a prompt set encoded with another bundle: re-encode from the stored originals, or reject. */
    @WithDefault("reencode")
    StalePolicy stalePolicy();

    /**
     * While the store is unreachable, API keys and prompt-set metadata (threshold, version, template) last read at
     * most this long ago keep serving, so scoring by id of cached sets continues through a database outage; older
     * entries fail with UNAVAILABLE. Changes made elsewhere during an outage are seen at most this late.
     */
    @WithDefault("5m")
    java.time.Duration outageGrace();

    Cache cache();

    Calibration calibration();

    enum StalePolicy { REENCODE, REJECT }

    interface Cache {
        /** Upper bound of decoded prompt features held in memory (LRU), in bytes. */
        @WithDefault("1073741824")
        long maxBytes();

        /** Text priors kept in memory (LRU by count; each is two 640-float vectors). */
        @WithDefault("1024")
        int textPriorEntries();
    }

    interface Calibration {
        /** Quantile of the leave-one-out shot scores the suggested threshold starts from (1.0 = the max). */
        @WithDefault("1.0")
        double quantile();

        /** Added to that quantile. */
        @WithDefault("0.02")
        double margin();

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
