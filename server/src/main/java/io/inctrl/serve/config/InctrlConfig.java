package io.inctrl.serve.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.List;

/** Server settings under {@code inctrl.*}; see application.properties for the documented defaults. */
@ConfigMapping(prefix = "inctrl")
public interface InctrlConfig {

    Model model();

    Limits limits();

    Batching batching();

    Decode decode();

    Inspection inspection();

    /** Whole-frame inspection (tiles and resize modes, next to the official centre crop). */
    interface Inspection {
        /** Most S x S tiles per image in tiles mode (32 covers a 16:1 strip, 21 tiles); beyond, the request is refused. */
        @WithDefault("32")
        int maxTiles();
    }

    /** Image decoding and PIL-exact preprocessing, off the transport threads. */
    interface Decode {
        /** Decode threads; 0 = one per available core (decode is pure CPU work). */
        @WithDefault("0")
        int threads();

        /** Images waiting for a decode thread; beyond it requests fail with RESOURCE_EXHAUSTED and a retry hint. */
        @WithDefault("1024")
        int queueSize();
    }

    /** Dynamic batching policy (see batching/README.md for the tuning procedure). */
    interface Batching {
        @WithDefault("8")
        int maxBatchSize();

        /** How long a partial batch may wait for more work, measured from its oldest job. */
        @WithDefault("5ms")
        java.time.Duration maxQueueDelay();

        /** Batch sizes the device runs best at; empty = cut at whatever is queued. */
        java.util.Optional<List<Integer>> preferredBatchSizes();

        /**
         * Jobs waiting across all tenants; beyond it requests fail with RESOURCE_EXHAUSTED. Queued jobs hold tensors
         * their request has already decoded within its pixel budget, so this bounds latency, not memory.
         */
        @WithDefault("4096")
        int maxQueueSize();

        /**
         * Jobs one tenant may have waiting. Must hold the largest single request (lifecycle.LimitsAgree refuses to
         * start otherwise): with the default limits a tiles-mode request queues up to (32 + 1) x 32 = 1056 jobs.
         */
        @WithDefault("2048")
        int maxQueuedPerTenant();

        /**
         * Batch size of background work (prompt sets encoded for a newly loaded version, shadow scoring): it runs only
         * while no request waits, in batches this small so a request arriving meanwhile waits little.
         */
        @WithDefault("1")
        int backgroundBatchSize();

        /**
         * A background job that waited this long is served like a tenant's, so it is never starved outright. Long
         * enough that a prompt set's shots, queued together, finish in the idle moments of a loaded replica.
         */
        @WithDefault("10s")
        java.time.Duration backgroundMaxWait();
    }

    interface Model {
        /** Bundle directory (docs/bundle-format.md). The default is the committed ImageNet patch-residual bundle. */
        @WithDefault("models/nsfwjs-inception-v3")
        String bundle();

        /**
         * Name the single bundle is served under (requests, OIP, metrics); absent = the bundle directory's name, e.g.
         * {@code nsfwjs-inception-v3}. Ignored when {@code inctrl.models.repository} is set.
         */
        java.util.Optional<String> name();

        /**
         * Precision the vision (and text) tower computes in: {@code fp32} (the parity reference) or a variant the
         * bundle's manifest lists; a repository model's {@code config.json} may choose its own.
         */
        @WithDefault("fp32")
        String precision();

        /** Devices to run on, e.g. "cpu", "cpu,cpu" (two CPU workers) or "gpu0,gpu1". */
        @WithDefault("cpu")
        List<String> devices();

        /** Bytes of prompt tokens kept on each device between queries. */
        @WithDefault("536870912")
        long promptCacheBytes();

        /** Run forwards at startup so the first requests do not pay TorchScript's one-time costs. */
        @WithDefault("true")
        boolean warmup();

        /**
         * TorchScript's profiling graph executor. Off by default: on CPU it re-specialises the graph for each batch
         * shape the dynamic batcher emits, which made throughput erratic (numbers in bench/README.md); bundles are
         * optimised at export time instead. On, the warm-up runs every batch size up to the batcher's maximum twice.
         */
        @WithDefault("false")
        boolean graphOptimizer();

        /**
         * Bytes of text priors kept for inline categories and template previews (keyed by template content and
         * category, so clients choose the keys); entries are evicted beyond it.
         */
        @WithDefault("67108864")
        long textPriorCacheBytes();
    }

    interface Limits {
        /** Largest encoded image accepted, in bytes. */
        @WithDefault("16777216")
        int maxImageBytes();

        /** Largest decoded image accepted, in pixels (guards against decompression bombs). */
        @WithDefault("40000000")
        long maxImagePixels();

        /** Most shots in one inline request or prompt set. */
        @WithDefault("32")
        int maxShots();

        @WithDefault("128")
        int maxRequestIdLength();

        /** Longest inline category name, in characters (the registry's limit for prompt sets as well). */
        @WithDefault("128")
        int maxCategoryLength();

        /**
         * Decoded pixels one Score request may ask for: width x height summed over the query and its inline shots,
         * read from the image headers before anything is decoded. 32 shots of 40 megapixels would take minutes.
         */
        @WithDefault("64000000")
        long maxRequestPixels();

        /**
         * Decoded pixels per second one tenant may ask for on this replica (token bucket holding one second's
         * worth, and at least one full request); beyond it Score answers RESOURCE_EXHAUSTED. 0 turns it off.
         */
        @WithDefault("200000000")
        long tenantPixelsPerSecond();

        /** Requests of one ScoreStream being worked on at once; more are not read from the transport. */
        @WithDefault("32")
        int streamWindow();

        /** Images one Open Inference Protocol ModelInfer request may hold; each is one Score on the batcher. */
        @WithDefault("32")
        int maxInferBatch();
    }
}
