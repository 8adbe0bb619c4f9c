package io.inctrl.serve.models;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * {@code inctrl.models.*}: which models a replica serves and how their versions are rolled out. Where the models come
 * from ({@code inctrl.models.repository}, {@code inctrl.models.s3.*}) is the repository's own mapping
 * ({@code models.repository.ModelsConfig}); without a repository the replica serves the single bundle
 * {@code inctrl.model.bundle} as one model of version 1 (the zero-configuration default). {@code inctrl.model.*} holds
 * the per-version settings (devices, caches, warm-up) of every model.
 */
@ConfigMapping(prefix = "inctrl.models")
public interface ModelsConfig {

    /**
     * The model that answers requests naming none (and owns prompt sets registered without a model). Absent = the
     * single bundle's model, or the first model of the repository by name.
     */
    Optional<String> defaultModel();

    /** Models of the repository loaded at start; absent = every model it holds. Others load through the admin API. */
    Optional<List<String>> startup();

    /**
     * Bytes that all loaded versions together may take (weights once per device plus their prompt and text caches, as
     * estimated from the bundle files and cache bounds); a load beyond it is refused. 0 = no limit.
     */
    @WithDefault("0")
    long maxMemoryBytes();

    /** How often a replica re-reads the roll-out settings (serving version, canary, shadow) from the store. */
    @WithDefault("2s")
    Duration rolloutRefresh();

    Encoding encoding();

    /** Encoding of prompt sets for model versions that have not encoded them yet. */
    interface Encoding {
        /** Sets encoded at once in the background per replica when a version loads (each is K forwards). */
        @WithDefault("1")
        int concurrency();

        /**
         * A request for a set that no loaded version of its model has encoded: {@code encode} it for the serving
         * version on the request path (once per fleet; concurrent requests wait for that encoding), or {@code reject}
         * with UNAVAILABLE and a retry hint until the background encoding reaches it.
         */
        @WithDefault("encode")
        OnMissing onMissing();

        /**
         * How long a replica's claim on one encoding lasts without renewal; a claim of a replica that died is taken
         * over after it.
         */
        @WithDefault("2m")
        Duration lease();

        /** How often the background encoder looks again for sets not yet encoded on a loaded version. */
        @WithDefault("30s")
        Duration sweepInterval();
    }

    enum OnMissing {
        ENCODE,
        REJECT
    }
}
