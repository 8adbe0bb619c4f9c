package io.inctrl.serve.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import ai.djl.translate.NoopTranslator;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.image.ImageDecoder;
import io.inctrl.serve.image.ImageLimits;
import io.inctrl.serve.image.ImagePreprocessor;
import io.inctrl.serve.image.PreprocessConfig;
import io.inctrl.serve.model.BundleManifest;
import io.inctrl.serve.model.ComputePrecision;
import io.inctrl.serve.model.InctrlEngine;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.text.PromptTemplates;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * InCTRL serve benchmark suite. Every benchmark prints one line starting with {@code RESULT} whose value is a ratio
 * measured in this run, on this machine: the started server (driven over gRPC by {@link Served}) against reference
 * implementations run in this JVM while the server is idle (the official test loop, the bundle's raw vision forward).
 * Usage (see bench/README.md; bench/run.sh starts the server and passes the connection options):
 * {@code Bench --bundle DIR --data DIR --grpc HOST:PORT --server-pid PID --management-port PORT [--only a,b,c,d]
 * [--key value ...]}, API key in {@code BENCH_API_KEY}.
 */
public final class Bench {

    private final Map<String, String> opts;
    private final Path bundle;
    private final BundleManifest manifest;
    // the precision of this run: the server was started at it, and the in-JVM references (official loop, raw
    // forward) run the same variant files, so every ratio compares like with like
    private final ComputePrecision precision;
    private final InctrlEngine engine;
    private final ImageDecoder decoder = new ImageDecoder(ImageLimits.DEFAULT);
    private final ImagePreprocessor preprocessor;
    private final List<byte[]> shotBytes;
    private final List<byte[]> queryBytes;
    private final String category;
    private final int k;
    private final Map<String, String> results = new LinkedHashMap<>();

    private final Served served;
    private final ServerProbe server;
    // the K-shot prompt set registered on the server through the registry API; every served query names it
    private String promptSetId;

    // filled by b), read by c): the saturation throughput of the served path
    private double saturationQps = Double.NaN;

    // key=value pairs of this run's headline numbers (PRECISION line)
    private final List<String> summary = new ArrayList<>();

    private Bench(Map<String, String> opts) throws IOException {
        this.opts = opts;
        this.bundle = Path.of(req("bundle"));
        this.manifest = BundleManifest.read(bundle);
        BundleManifest.Image img = manifest.image();
        this.preprocessor = new ImagePreprocessor(new PreprocessConfig(img.size(), img.mean(), img.std()));
        Path data = Path.of(req("data"));
        Path cat = data.resolve(opt("category", "mvtec_ad/transistor"));
        this.category = cat.getFileName().toString();
        this.k = intOpt("k", 8);
        this.shotBytes = readImages(cat.resolve("shots")).subList(0, k);
        this.queryBytes = readImages(cat.resolve("test"));
        long t0 = System.nanoTime();
        this.precision = ComputePrecision.of(opt("precision", "fp32"));
        this.engine = InctrlEngine.load(bundle, Device.cpu(), longOpt("prompt-cache-bytes", 512L << 20), precision);
        String key = System.getenv("BENCH_API_KEY");
        if (key == null || key.isBlank()) {
            throw new IllegalArgumentException("BENCH_API_KEY (the tenant's API key) is required");
        }
        this.served = new Served(req("grpc"), key, queryBytes);
        this.server = new ServerProbe(Long.parseLong(req("server-pid")), intOpt("management-port", 9090));
        System.out.printf(
                Locale.ROOT,
                "# loaded %s (%s) at %s in %.1f s; category %s, K=%d, %d query images%n",
                manifest.bundleId(),
                manifest.arch(),
                precision,
                secs(System.nanoTime() - t0),
                category,
                k,
                queryBytes.size());
    }

    public static void main(String[] args) throws Exception {
        // As in the server: the PyTorch engine is initialised on the launcher thread and every forward runs on
        // another thread. Measured here (Inception, batch 1): forwards on the thread that initialised the engine took
        // ~2 s instead of ~70 ms, which slowed the official loop and the raw reference alike.
        ai.djl.engine.Engine.getEngine("PyTorch");
        Throwable[] failure = new Throwable[1];
        Thread runner = new Thread(
                () -> {
                    try {
                        run(args);
                    } catch (Throwable t) {
                        failure[0] = t;
                    }
                },
                "bench");
        runner.start();
        runner.join();
        if (failure[0] != null) {
            failure[0].printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    private static void run(String[] args) throws Exception {
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --key value, got " + args[i]);
            }
            opts.put(args[i].substring(2), args[i + 1]);
        }
        Bench bench = new Bench(opts);
        bench.machine("start");
        bench.warmUp();
        List<String> only = Arrays.asList(bench.opt("only", "a,b,c,d").split(","));
        if (only.contains("a")) {
            bench.benchA();
        }
        if (only.contains("b") || only.contains("c")) {
            bench.benchB();
        }
        if (only.contains("c")) {
            bench.benchC();
        }
        if (only.contains("d")) {
            bench.benchD();
        }
        if (only.contains("e")) {
            bench.benchE();
        }
        if (only.contains("f")) {
            bench.benchF();
        }
        bench.machine("end");
        // one machine-readable line per run: bench/run.sh puts the precisions of one run side by side
        System.out.println("PRECISION " + bench.precision + " " + String.join(" ", bench.summary));
        System.out.println();
        System.out.println("| benchmark | ratio | detail |");
        System.out.println("|---|---|---|");
        bench.results.forEach((name, line) -> System.out.println("| " + name + " | " + line + " |"));
        bench.served.close();
        bench.engine.close();
    }

    // ---------------------------------------------------------------------------------------------------------
    // a) served per-query throughput vs the official test loop at batch 1

    private void benchA() throws Exception {
        int officialQueries = intOpt("a.official-queries", 3);
        double officialBudget = doubleOpt("a.official-seconds", 120);
        // Official loop (spec §10), batch 1: every query decodes and re-encodes its K shots, re-encodes all
        // 242 text sentences (bundles with a text tower), then encodes the query and scores it. Timed over whole
        // queries only.
        PromptTemplates templates = PromptTemplates.defaults();
        int sentences = engine.tokenizer().isPresent()
                ? templates.normalSentences(category).size()
                        + templates.anomalousSentences(category).size()
                : 0;
        List<String> normal = templates.normalSentences(category);
        List<String> anomalous = templates.anomalousSentences(category);
        int done = 0;
        long start = System.nanoTime();
        long textNanos = 0;
        while (done < officialQueries && (done == 0 || secs(System.nanoTime() - start) < officialBudget)) {
            float[] q = prepare(queryBytes.get(done % queryBytes.size()));
            List<float[]> shots = new ArrayList<>(k);
            for (byte[] s : shotBytes) {
                shots.add(prepare(s));
            }
            PromptFeatures p = engine.encode(shots).pool();
            long t = System.nanoTime();
            TextPrior prior = engine.textPrior(normal, anomalous);
            textNanos += System.nanoTime() - t;
            engine.encodeAndScore(List.of(q), List.of(p), List.of(prior));
            done++;
        }
        double officialSecs = secs(System.nanoTime() - start);
        double officialQps = done / officialSecs;
        System.out.printf(
                Locale.ROOT,
                "a) official loop: %d queries in %.1f s = %.4f q/s (%.0f ms/query, text %.0f%% of it; %d sentences/query)%n",
                done,
                officialSecs,
                officialQps,
                1000 * officialSecs / done,
                100.0 * textNanos / 1e9 / officialSecs,
                sentences);

        Served.Run run = served.closedLoop(
                promptSetId,
                intOpt("a.streams", 4),
                intOpt("window", 4),
                intOpt("a.served-queries", 64),
                doubleOpt("a.served-seconds", 60));
        double ratio = run.qps() / officialQps;
        System.out.printf(Locale.ROOT, "a) served over gRPC ScoreStream (registered prompt set): %s%n", run);
        summary.add(String.format(
                Locale.ROOT, "a_served_qps=%.4f a_official_qps=%.5f a_ratio=%.2f", run.qps(), officialQps, ratio));
        result(
                "a) served / official loop"
                        + (opts.containsKey("a.target") ? " (target >= " + opt("a.target", "") + "x)" : ""),
                String.format(Locale.ROOT, "%.1fx", ratio),
                String.format(
                        Locale.ROOT,
                        "served %.3f q/s (%d q, %d streams x window %d, gRPC) vs official %.4f q/s (%d q, K=%d, %d sentences/q)",
                        run.qps(),
                        run.count(),
                        run.streams(),
                        run.window(),
                        officialQps,
                        done,
                        k,
                        sentences));
    }

    // ---------------------------------------------------------------------------------------------------------
    // b) served throughput under N concurrent streams vs the raw batched encoder at its best batch size

    private void benchB() throws Exception {
        // decode + PIL-exact preprocess per query image, one thread: the served path's other per-query cost
        long t0 = System.nanoTime();
        int prepared = 0;
        while (prepared < 20) {
            prepare(queryBytes.get(prepared++ % queryBytes.size()));
        }
        double prepPerSec = prepared / secs(System.nanoTime() - t0);
        System.out.printf(
                Locale.ROOT, "b) decode+preprocess of the query images: %.1f img/s on one thread%n", prepPerSec);
        // Raw and served alternate for b.rounds rounds and each keeps its best: neighbours' load drifts over minutes
        // on a shared machine, and measuring one side entirely before the other would turn that drift into the ratio.
        Raw raw = null;
        double best = 0;
        Served.Run bestServed = null;
        double bestServedPerCpu = 0;
        for (int round = 1; round <= intOpt("b.rounds", 2); round++) {
            System.out.printf(Locale.ROOT, "b) round %d%n", round);
            Raw r = rawEncoder();
            if (raw == null) {
                raw = r;
            } else {
                Raw wall = r.bestImagesPerSec() > raw.bestImagesPerSec() ? r : raw;
                raw = new Raw(
                        wall.bestImagesPerSec(),
                        wall.bestBatch(),
                        wall.table(),
                        Math.max(r.imagesPerCpuSec(), raw.imagesPerCpuSec()));
            }
            for (String n : opt("b.streams", "1,4,8").split(",")) {
                double cpu0 = server.cpuSeconds();
                Served.Run s = served.closedLoop(
                        promptSetId,
                        Integer.parseInt(n.trim()),
                        intOpt("window", 4),
                        intOpt("b.served-queries", 96),
                        doubleOpt("b.served-seconds", 60));
                double perCpu = s.count() / (server.cpuSeconds() - cpu0);
                System.out.printf(
                        Locale.ROOT, "b) served, %s streams: %s; %.3f q per server CPU-second%n", n.trim(), s, perCpu);
                if (s.qps() > best) {
                    best = s.qps();
                    bestServed = s;
                    bestServedPerCpu = perCpu;
                }
            }
        }
        saturationQps = best;
        summary.add(String.format(
                Locale.ROOT,
                "b_served_qps=%.4f b_raw_ips=%.4f b_ratio=%.3f b_cpu_ratio=%.3f",
                best,
                raw.bestImagesPerSec,
                best / raw.bestImagesPerSec,
                bestServedPerCpu / raw.imagesPerCpuSec));
        // Wall-clock rates on a machine shared past saturation also measure how much CPU each process wins from its
        // neighbours (the server runs more threads than the raw loop), so the per-CPU-second ratio is printed as well.
        result(
                "b) served / raw forward at best batch (target >= 0.90)",
                String.format(
                        Locale.ROOT,
                        "%.2f (per CPU-second: %.2f)",
                        best / raw.bestImagesPerSec,
                        bestServedPerCpu / raw.imagesPerCpuSec),
                String.format(
                        Locale.ROOT,
                        "served %.3f q/s at %d streams x window %d (gRPC), %.3f q per server CPU-s, vs raw %.3f img/s at batch %d via %s, %.3f img per CPU-s; decode+preprocess %.1f img/s/thread",
                        best,
                        bestServed.streams(),
                        bestServed.window(),
                        bestServedPerCpu,
                        raw.bestImagesPerSec,
                        raw.bestBatch,
                        raw.table,
                        raw.imagesPerCpuSec,
                        prepPerSec));
    }

    /** Best raw rate (median iteration) and, independently, the best images per CPU-second of this process. */
    private record Raw(double bestImagesPerSec, int bestBatch, String table, double imagesPerCpuSec) {}

    /**
     * The raw encoder at each batch size, two ways, keeping the faster (the conservative choice for served/raw):
     * the bundle's vision.pt loaded alone by DJL in this process, and the very engine instance the served path uses
     * ({@code encode}: vision forward + adapter, features copied to the host). Preprocessed pixels, no decode, no scoring.
     */
    private Raw rawEncoder() throws Exception {
        // fp32: the portable vision.pt (engine.encode below runs the CPU copy); a variant: its CPU file, what the
        // server runs at that precision
        Path visionFile = precision == ComputePrecision.FP32
                ? manifest.file(bundle, "vision")
                : manifest.moduleFile(bundle, "vision", precision, true);
        Criteria<NDList, NDList> criteria = Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optModelPath(visionFile)
                .optEngine("PyTorch")
                .optDevice(Device.cpu())
                .optTranslator(new NoopTranslator())
                .build();
        int size = manifest.image().size();
        float[] pixels = prepare(queryBytes.get(0));
        Raw best = new Raw(0, 0, "", 0);
        StringBuilder table = new StringBuilder();
        try (ZooModel<NDList, NDList> vision = criteria.loadModel()) {
            for (String how : List.of(visionFile.getFileName().toString(), "engine.encode")) {
                table.append(table.length() == 0 ? "" : "; ").append(how).append(" img/s");
                for (String bs : opt("b.raw-batches", "1,2,4,8").split(",")) {
                    int b = Integer.parseInt(bs.trim());
                    float[] flat = new float[b * pixels.length];
                    List<float[]> list = new ArrayList<>();
                    for (int i = 0; i < b; i++) {
                        System.arraycopy(pixels, 0, flat, i * pixels.length, pixels.length);
                        list.add(pixels);
                    }
                    Runnable call = how.equals("engine.encode")
                            ? () -> engine.encode(list)
                            : () -> forward(vision, flat, b, size);
                    // TorchScript's profiling executor re-specialises on every new batch shape: warm each one first
                    for (int i = 0; i < intOpt("b.raw-warmup", 5); i++) {
                        call.run();
                    }
                    List<Long> times = new ArrayList<>();
                    long cpu0 = processCpuNanos();
                    long start = System.nanoTime();
                    double budget = doubleOpt("b.raw-seconds", 20);
                    while (times.size() < intOpt("b.raw-iters", 10)
                            && (times.size() < 3 || secs(System.nanoTime() - start) < budget)) {
                        long t = System.nanoTime();
                        call.run();
                        times.add(System.nanoTime() - t);
                    }
                    // the median iteration, not the mean: on a shared machine a neighbour's burst should not make the
                    // raw encoder look slower (that would flatter the served/raw ratio)
                    double cpuSecs = secs(processCpuNanos() - cpu0);
                    long[] ts = times.stream().mapToLong(Long::longValue).toArray();
                    double ips = b / (pct(ts, 0.5) / 1e3);
                    double meanIps = ts.length * b / secs(Arrays.stream(ts).sum());
                    double perCpu = ts.length * b / cpuSecs;
                    table.append(String.format(Locale.ROOT, " b%d %.2f", b, ips));
                    System.out.printf(
                            Locale.ROOT,
                            "b) raw %s batch %d: %.3f img/s at the median iteration, %.3f img/s mean (%d iterations), "
                                    + "%.3f img per CPU-second of this JVM%n",
                            how,
                            b,
                            ips,
                            meanIps,
                            ts.length,
                            perCpu);
                    if (ips > best.bestImagesPerSec()) {
                        best = new Raw(ips, b, how, Math.max(perCpu, best.imagesPerCpuSec()));
                    } else if (perCpu > best.imagesPerCpuSec()) {
                        best = new Raw(best.bestImagesPerSec(), best.bestBatch(), best.table(), perCpu);
                    }
                }
            }
        }
        return new Raw(best.bestImagesPerSec(), best.bestBatch(), best.table() + "; " + table, best.imagesPerCpuSec());
    }

    private static void forward(ZooModel<NDList, NDList> model, float[] flat, int b, int size) {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDList out = model.getBlock()
                    .forward(
                            new ParameterStore(m, false),
                            new NDList(m.create(flat, new Shape(b, 3, size, size))),
                            false);
            out.get(0).toFloatArray(); // forces completion, as the served path does when it copies to the host
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // c) latency percentiles under open-loop load at fractions of saturation

    private void benchC() throws Exception {
        if (Double.isNaN(saturationQps)) {
            throw new IllegalStateException("c) needs b)'s saturation throughput");
        }
        // unloaded = the median of single queries sent one at a time (after two to warm the connection)
        served.oneAtATime(promptSetId, 2);
        double unloaded = pct(served.oneAtATime(promptSetId, intOpt("c.unloaded-requests", 5)), 0.5);
        System.out.printf(Locale.ROOT, "c) unloaded single query over gRPC: %.1f ms (median)%n", unloaded);
        summary.add(String.format(Locale.ROOT, "c_unloaded_ms=%.1f", unloaded));
        StringBuilder detail = new StringBuilder();
        StringBuilder ratios = new StringBuilder();
        for (String f : opt("c.loads", "0.3,0.5,0.7,0.9").split(",")) {
            double frac = Double.parseDouble(f.trim());
            double rate = frac * saturationQps;
            double images0 = server.metric("inctrl_batch_size_sum");
            double batches0 = server.metric("inctrl_batch_size_count");
            long[] lat = served.openLoop(
                    promptSetId, rate, intOpt("c.streams", 4), intOpt("c.requests", 60), doubleOpt("c.seconds", 30));
            double meanBatch = (server.metric("inctrl_batch_size_sum") - images0)
                    / Math.max(1, server.metric("inctrl_batch_size_count") - batches0);
            double p50 = pct(lat, 0.50);
            double p99 = pct(lat, 0.99);
            System.out.printf(
                    Locale.ROOT,
                    "c) %.0f%% of %.3f q/s = %.3f q/s: n=%d p50 %.1f ms p99 %.1f ms (p50/unloaded %.2f, p99/unloaded %.2f),"
                            + " mean batch %.2f%n",
                    100 * frac,
                    saturationQps,
                    rate,
                    lat.length,
                    p50,
                    p99,
                    p50 / unloaded,
                    p99 / unloaded,
                    meanBatch);
            detail.append(String.format(
                    Locale.ROOT, "%.0f%%: p50 %.0f ms, p99 %.0f ms (n=%d); ", 100 * frac, p50, p99, lat.length));
            summary.add(String.format(
                    Locale.ROOT,
                    "c_p99_%.0f=%.2f c_p50_%.0f=%.2f",
                    100 * frac,
                    p99 / unloaded,
                    100 * frac,
                    p50 / unloaded));
            ratios.append(String.format(
                    Locale.ROOT,
                    "%s%.0f%% %.2f/%.2f",
                    ratios.length() == 0 ? "" : ", ",
                    100 * frac,
                    p50 / unloaded,
                    p99 / unloaded));
        }
        result(
                "c) p50/p99 latency / unloaded latency at 30/50/70/90% load (target: p99 at 70% <= 3)",
                ratios.toString(),
                detail
                        + String.format(
                                Locale.ROOT,
                                "unloaded single query %.0f ms; saturation %.3f q/s (b); arrivals over %d streams",
                                unloaded,
                                saturationQps,
                                intOpt("c.streams", 4)));
    }

    // ---------------------------------------------------------------------------------------------------------
    // d) resident memory per prompt set registered through the registry API

    private void benchD() throws Exception {
        int sets = intOpt("d.sets", 200);
        double budget = doubleOpt("d.seconds", 300);
        int threads = intOpt("d.threads", 2);
        // what one K-shot set holds as fp32 features (the registry's default precision): taps x K*patches x width
        // + prototype. The text prior is cached per category and template, shared by all these sets.
        List<float[]> shots = new ArrayList<>(k);
        for (byte[] s : shotBytes) {
            shots.add(prepare(s));
        }
        long payload = engine.encode(shots).pool().sizeInBytes();
        double misses0 = server.metric("inctrl_registry_feature_cache_misses_total");
        double hits0 = server.metric("inctrl_registry_feature_cache_hits_total");
        long heap0 = server.heapAfterGcBytes();
        long rss0 = server.rssBytes();
        System.out.printf(
                Locale.ROOT,
                "d) before: server heap after GC %s, RSS %s (1 set registered, warm)%n",
                mib(heap0),
                mib(rss0));
        // registrations in parallel: each one decodes and encodes its K shots and calibrates on the server
        List<String> ids = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger next = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        long start = System.nanoTime();
        long stopAt = start + (long) (budget * 1e9);
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            workers[t] = new Thread(() -> {
                int i;
                while (System.nanoTime() < stopAt && (i = next.getAndIncrement()) < sets) {
                    try {
                        ids.add(served.register("bench-d-" + i, category, shotBytes)
                                .getId());
                    } catch (RuntimeException e) {
                        failed.incrementAndGet();
                        System.out.println("d) registration " + i + " failed: " + e.getMessage());
                    }
                }
            });
            workers[t].start();
        }
        for (Thread w : workers) {
            w.join();
        }
        double regSecs = secs(System.nanoTime() - start);
        int n = ids.size();
        if (n == 0) {
            throw new IllegalStateException("d) no prompt set could be registered");
        }
        long heap1 = server.heapAfterGcBytes();
        long rss1 = server.rssBytes();
        // each set scored once: a feature-cache miss would mean the set was not resident (evicted or never cached)
        int scoreFailures = served.scoreEach(ids, queryBytes.get(0), 8);
        double misses = server.metric("inctrl_registry_feature_cache_misses_total") - misses0;
        double hits = server.metric("inctrl_registry_feature_cache_hits_total") - hits0;
        long rss2 = server.rssBytes();
        double perSetHeap = (double) (heap1 - heap0) / n;
        double perSetRss = (double) (rss1 - rss0) / n;
        System.out.printf(
                Locale.ROOT,
                "d) registered %d sets (%d failed) in %.1f s with %d threads; heap after GC %s -> %s, RSS %s -> %s; "
                        + "scored each once: %d failures, feature cache %.0f hits / %.0f misses, RSS then %s%n",
                n,
                failed.get(),
                regSecs,
                threads,
                mib(heap0),
                mib(heap1),
                mib(rss0),
                mib(rss1),
                scoreFailures,
                hits,
                misses,
                mib(rss2));
        result(
                "d) server memory per registered prompt set / payload bytes",
                String.format(Locale.ROOT, "RSS %.2f, heap %.2f", perSetRss / payload, perSetHeap / payload),
                String.format(
                        Locale.ROOT,
                        "%d K=%d sets registered over gRPC: heap %s/set, RSS %s/set vs payload %s/set (fp32 features); "
                                + "%s; server RSS %s -> %s (x%.2f); scored once each: %.0f cache misses",
                        n,
                        k,
                        mib(perSetHeap),
                        mib(perSetRss),
                        mib(payload),
                        misses == 0 ? "all resident" : "NOT all resident",
                        mib(rss0),
                        mib(rss1),
                        (double) rss1 / rss0,
                        misses));
    }

    // ---------------------------------------------------------------------------------------------------------
    // e) query latency at K = 8 ... 512, exact bank vs coreset (in this JVM, the served path's engine)

    private void benchE() throws Exception {
        int[] ks = Arrays.stream(opt("e.k", "8,32,128,512").split(","))
                .mapToInt(s -> Integer.parseInt(s.trim()))
                .toArray();
        int budget = intOpt("e.budget", 4096);
        Path train = Path.of(
                opt("e.train", Path.of(req("data")).resolveSibling("train").toString()));
        List<byte[]> shots =
                BankBench.trainNormals(train, Arrays.stream(ks).max().orElseThrow());
        int dim = manifest.vision().embedDim();
        TextPrior prior = dim == 0 ? TextPrior.NONE : new TextPrior(new float[dim], new float[dim]);
        List<BankBench.Row> rows = new BankBench(engine, this::prepare, prior)
                .latency(shots, queryBytes, ks, budget, intOpt("e.reps", 30));
        double base = rows.get(0).exactMs();
        StringBuilder ratio = new StringBuilder();
        StringBuilder detail = new StringBuilder();
        for (BankBench.Row r : rows) {
            ratio.append(String.format(
                    Locale.ROOT,
                    "%sK=%d %.2f/%.2f",
                    ratio.length() == 0 ? "" : ", ",
                    r.k(),
                    r.exactMs() / base,
                    r.coresetMs() / base));
            detail.append(String.format(
                    Locale.ROOT,
                    "K=%d: %d rows %.0f ms, coreset %d rows %.0f ms (build %.1f s); ",
                    r.k(),
                    r.rows(),
                    r.exactMs(),
                    r.coresetRows(),
                    r.coresetMs(),
                    r.buildSeconds()));
        }
        result(
                "e) query latency exact/coreset(" + budget + " tokens per tap) / exact K="
                        + rows.get(0).k(),
                ratio.toString(),
                detail + "engine in this JVM, batch 1, bank resident; shots: " + train + " normals");
    }

    // ---------------------------------------------------------------------------------------------------------
    // f) a set grown from 8 to 128 shots through the API: single-query latency over gRPC vs its K = 8 latency

    private void benchF() throws Exception {
        Path train = Path.of(
                opt("f.train", Path.of(req("data")).resolveSibling("train").toString()));
        String cat = opt("f.category", "magnetic_tile");
        List<byte[]> own = categoryNormals(train, cat, 128);
        PromptSet set = served.register("bench-f-" + cat, cat, own.subList(0, 8));
        String id = set.getId();
        int n = intOpt("f.requests", 15);
        // run.sh passes the server's inctrl.limits.max-shots; 32 is the server's default
        int perCall = intOpt("f.shots-per-call", 32);
        served.oneAtATime(id, 2);
        double k8 = pct(served.oneAtATime(id, n), 0.5);
        System.out.printf(Locale.ROOT, "f) K=8 set of %s: %.1f ms per single query over gRPC (median)%n", cat, k8);
        long t0 = System.nanoTime();
        PromptSet grown = BankBench.grow(served, set, own.subList(8, 128), perCall);
        double growSeconds = secs(System.nanoTime() - t0);
        served.oneAtATime(id, 2);
        double k128 = pct(served.oneAtATime(id, n), 0.5);
        System.out.printf(
                Locale.ROOT,
                "f) K=%d set of %s: %.1f ms per single query over gRPC (median)%n",
                grown.getShotCount(),
                cat,
                k128);
        result(
                "f) grown 8 -> 128 shots: latency / K=8 latency (target <= 1.5)",
                String.format(Locale.ROOT, "%.2f", k128 / k8),
                String.format(
                        Locale.ROOT,
                        "%s: K=8 %.0f ms, grown to %d %.0f ms (median of %d); grown with AddShots in calls of <= %d"
                                + " shots, revision %d, %.0f s",
                        cat,
                        k8,
                        grown.getShotCount(),
                        k128,
                        n,
                        perCall,
                        grown.getRevision(),
                        growSeconds));
    }

    private static List<byte[]> categoryNormals(Path train, String category, int count) throws IOException {
        List<Path> paths;
        try (Stream<String> lines = Files.lines(train.resolve("manifest.csv"))) {
            paths = lines.skip(1)
                    .map(l -> l.split(","))
                    .filter(c -> c.length > 3 && c[1].equals(category) && c[3].equals("0"))
                    .map(c -> train.resolve(c[2]))
                    .sorted()
                    .toList();
        }
        if (paths.size() < count) {
            throw new IllegalArgumentException(category + " has " + paths.size() + " normals, f) needs " + count);
        }
        List<byte[]> out = new ArrayList<>();
        for (Path p : paths.subList(0, count)) {
            out.add(Files.readAllBytes(p));
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------------------
    // helpers

    private void warmUp() throws Exception {
        // this JVM's reference engine: two passes per shape, as the server's warm-up does
        float[] q = prepare(queryBytes.get(0));
        List<float[]> shots = new ArrayList<>();
        for (byte[] s : shotBytes) {
            shots.add(prepare(s));
        }
        for (int i = 0; i < 2; i++) {
            PromptFeatures p = engine.encode(shots).pool();
            int dim = manifest.vision().embedDim();
            TextPrior t = dim == 0 ? TextPrior.NONE : new TextPrior(new float[dim], new float[dim]);
            engine.encodeAndScore(List.of(q), List.of(p), List.of(t));
        }
        // the served side: register the K shots once through the registry API, then a few queries so the server
        // has seen batches of several sizes before anything is timed
        long t0 = System.nanoTime();
        promptSetId = served.register("bench-k" + k, category, shotBytes).getId();
        System.out.printf(
                Locale.ROOT,
                "# registered prompt set %s on the server (K=%d, category %s) in %.1f s%n",
                promptSetId,
                k,
                category,
                secs(System.nanoTime() - t0));
        served.closedLoop(promptSetId, 2, 4, 16, 120);
    }

    /** CPU time of this JVM (all threads, libtorch's included). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                        java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    float[] prepare(byte[] bytes) {
        return preprocessor.tensor(decoder.decode(bytes));
    }

    private static List<byte[]> readImages(Path dir) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile)
                    .filter(p -> p.toString().matches("(?i).*\\.(png|jpe?g|bmp|tiff?)"))
                    .sorted()
                    .toList();
        }
        if (files.isEmpty()) {
            throw new IOException("no images under " + dir);
        }
        List<byte[]> out = new ArrayList<>();
        for (Path f : files) {
            out.add(Files.readAllBytes(f));
        }
        return out;
    }

    private void machine(String when) throws IOException {
        String load = Files.readString(Path.of("/proc/loadavg")).trim();
        String cpu = "?";
        for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (line.startsWith("model name")) {
                cpu = line.substring(line.indexOf(':') + 1).trim();
                break;
            }
        }
        System.out.printf(
                Locale.ROOT,
                "# machine (%s): %d cores, %s, loadavg %s, java %s, max heap %s%n",
                when,
                Runtime.getRuntime().availableProcessors(),
                cpu,
                load,
                System.getProperty("java.version"),
                mib(Runtime.getRuntime().maxMemory()));
        results.put(
                "machine (" + when + ")",
                "- | " + Runtime.getRuntime().availableProcessors() + " cores, " + cpu + ", loadavg " + load);
    }

    private void result(String name, String ratio, String detail) {
        System.out.println("RESULT " + name + ": " + ratio + "  [" + detail + "]");
        results.put(name, ratio + " | " + detail);
    }

    static double pct(long[] nanos, double q) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        // nearest-rank percentile; with n < 100 samples p99 is the maximum
        int idx = (int) Math.ceil(q * s.length) - 1;
        return s[Math.max(0, Math.min(s.length - 1, idx))] / 1e6;
    }

    static double secs(long nanos) {
        return nanos / 1e9;
    }

    static String mib(double bytes) {
        return String.format(Locale.ROOT, "%.2f MiB", bytes / (1 << 20));
    }

    private String req(String key) {
        String v = opts.get(key);
        if (v == null) {
            throw new IllegalArgumentException("--" + key + " is required");
        }
        return v;
    }

    private String opt(String key, String def) {
        return opts.getOrDefault(key, def);
    }

    private int intOpt(String key, int def) {
        return Integer.parseInt(opt(key, String.valueOf(def)));
    }

    private long longOpt(String key, long def) {
        return Long.parseLong(opt(key, String.valueOf(def)));
    }

    private double doubleOpt(String key, double def) {
        return Double.parseDouble(opt(key, String.valueOf(def)));
    }
}
