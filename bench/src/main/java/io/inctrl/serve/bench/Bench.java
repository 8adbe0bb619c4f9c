package io.inctrl.serve.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import ai.djl.translate.NoopTranslator;
import io.inctrl.serve.batching.BatchPolicy;
import io.inctrl.serve.batching.Batcher;
import io.inctrl.serve.batching.WorkerSpec;
import io.inctrl.serve.image.ImageDecoder;
import io.inctrl.serve.image.ImageLimits;
import io.inctrl.serve.image.ImagePreprocessor;
import io.inctrl.serve.image.PreprocessConfig;
import io.inctrl.serve.model.BundleManifest;
import io.inctrl.serve.model.InctrlEngine;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.text.PromptTemplates;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * InCTRL serve benchmark suite. Every benchmark prints one line starting with {@code RESULT}
 * whose value is a ratio measured in this run, on this machine. Usage (see bench/README.md and bench/run.sh):
 * {@code Bench --bundle DIR --data DIR [--only a,b,c,d] [--key value ...]}.
 */
public final class Bench {

    private final Map<String, String> opts;
    private final Path bundle;
    private final BundleManifest manifest;
    private final InctrlEngine engine;
    private final ImageDecoder decoder = new ImageDecoder(ImageLimits.DEFAULT);
    private final ImagePreprocessor preprocessor;
    private final List<byte[]> shotBytes;
    private final List<byte[]> queryBytes;
    private final String category;
    private final int k;
    private final Map<String, String> results = new LinkedHashMap<>();

    // the one "registered" prompt set: shots and text encoded once, as the prompt registry does at registration
    private PromptFeatures registered;
    private TextPrior registeredPrior;

    // filled by b), read by c): the saturation throughput of the served path
    private double saturationQps = Double.NaN;

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
        this.engine = InctrlEngine.load(bundle, Device.cpu(), longOpt("prompt-cache-bytes", 512L << 20));
        System.out.printf(
                Locale.ROOT,
                "# loaded %s (%s) in %.1f s; category %s, K=%d, %d query images%n",
                manifest.bundleId(),
                manifest.arch(),
                secs(System.nanoTime() - t0),
                category,
                k,
                queryBytes.size());
    }

    public static void main(String[] args) throws Exception {
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
        bench.machine("end");
        System.out.println();
        System.out.println("| benchmark | ratio | detail |");
        System.out.println("|---|---|---|");
        bench.results.forEach((name, line) -> System.out.println("| " + name + " | " + line + " |"));
        bench.engine.close();
        System.exit(0);
    }

    // ---------------------------------------------------------------------------------------------------------
    // a) served per-query throughput vs the official test loop at batch 1

    private void benchA() throws Exception {
        int officialQueries = intOpt("a.official-queries", 3);
        double officialBudget = doubleOpt("a.official-seconds", 120);
        // Official loop (spec §10), batch 1: every query decodes and re-encodes its K shots, re-encodes all
        // 242 text sentences, then encodes the query and scores it. Timed over whole queries only.
        PromptTemplates templates = PromptTemplates.defaults();
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
                normal.size() + anomalous.size());

        Served served = servedRun(
                intOpt("a.streams", 4),
                intOpt("window", 4),
                intOpt("a.served-queries", 64),
                doubleOpt("a.served-seconds", 60));
        double ratio = served.qps / officialQps;
        System.out.printf(Locale.ROOT, "a) served (prompt set + text prior encoded once): %s%n", served);
        result(
                "a) served / official loop (target >= 40x)",
                String.format(Locale.ROOT, "%.1fx", ratio),
                String.format(
                        Locale.ROOT,
                        "served %.3f q/s (%d q, %d streams) vs official %.4f q/s (%d q, K=%d, 242 sentences/q)",
                        served.qps,
                        served.count,
                        served.streams,
                        officialQps,
                        done,
                        k));
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
        Served bestServed = null;
        for (int round = 1; round <= intOpt("b.rounds", 2); round++) {
            System.out.printf(Locale.ROOT, "b) round %d%n", round);
            Raw r = rawEncoder();
            if (raw == null || r.bestImagesPerSec() > raw.bestImagesPerSec()) {
                raw = r;
            }
            for (String n : opt("b.streams", "1,4,8").split(",")) {
                Served s = servedRun(
                        Integer.parseInt(n.trim()),
                        intOpt("window", 4),
                        intOpt("b.served-queries", 96),
                        doubleOpt("b.served-seconds", 60));
                System.out.printf(Locale.ROOT, "b) served, %s streams: %s%n", n.trim(), s);
                if (s.qps > best) {
                    best = s.qps;
                    bestServed = s;
                }
            }
        }
        saturationQps = best;
        result(
                "b) served / raw encoder at best batch (target >= 0.90)",
                String.format(Locale.ROOT, "%.2f", best / raw.bestImagesPerSec),
                String.format(
                        Locale.ROOT,
                        "served %.3f q/s at %d streams x window %d vs raw encoder %.3f img/s at batch %d via %s; decode+preprocess %.1f img/s/thread",
                        best,
                        bestServed.streams,
                        intOpt("window", 4),
                        raw.bestImagesPerSec,
                        raw.bestBatch,
                        raw.table,
                        prepPerSec));
    }

    private record Raw(double bestImagesPerSec, int bestBatch, String table) {}

    /**
     * The raw encoder at each batch size, two ways, keeping the faster (the conservative choice for served/raw):
     * the bundle's vision.pt loaded alone by DJL in this process, and the very engine instance the served path uses
     * ({@code encode}: vision forward + adapter, features copied to the host). Preprocessed pixels, no decode, no scoring.
     */
    private Raw rawEncoder() throws Exception {
        Criteria<NDList, NDList> criteria = Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optModelPath(manifest.file(bundle, "vision"))
                .optEngine("PyTorch")
                .optDevice(Device.cpu())
                .optTranslator(new NoopTranslator())
                .build();
        int size = manifest.image().size();
        float[] pixels = prepare(queryBytes.get(0));
        Raw best = new Raw(0, 0, "");
        StringBuilder table = new StringBuilder();
        try (ZooModel<NDList, NDList> vision = criteria.loadModel()) {
            for (String how : List.of("vision.pt", "engine.encode")) {
                table.append(table.length() == 0 ? "" : "; ").append(how).append(" img/s");
                for (String bs : opt("b.raw-batches", "1,2,4,8").split(",")) {
                    int b = Integer.parseInt(bs.trim());
                    float[] flat = new float[b * pixels.length];
                    List<float[]> list = new ArrayList<>();
                    for (int i = 0; i < b; i++) {
                        System.arraycopy(pixels, 0, flat, i * pixels.length, pixels.length);
                        list.add(pixels);
                    }
                    Runnable call =
                            how.equals("vision.pt") ? () -> forward(vision, flat, b, size) : () -> engine.encode(list);
                    // TorchScript's profiling executor re-specialises on every new batch shape: warm each one first
                    for (int i = 0; i < intOpt("b.raw-warmup", 5); i++) {
                        call.run();
                    }
                    List<Long> times = new ArrayList<>();
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
                    long[] ts = times.stream().mapToLong(Long::longValue).toArray();
                    double ips = b / (pct(ts, 0.5) / 1e3);
                    double meanIps = ts.length * b / secs(Arrays.stream(ts).sum());
                    table.append(String.format(Locale.ROOT, " b%d %.2f", b, ips));
                    System.out.printf(
                            Locale.ROOT,
                            "b) raw %s batch %d: %.3f img/s at the median iteration, %.3f img/s mean (%d iterations)%n",
                            how,
                            b,
                            ips,
                            meanIps,
                            ts.length);
                    if (ips > best.bestImagesPerSec()) {
                        best = new Raw(ips, b, how);
                    }
                }
            }
        }
        return new Raw(best.bestImagesPerSec(), best.bestBatch(), best.table() + "; " + table);
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
        double unloaded = unloadedLatencyMs();
        StringBuilder detail = new StringBuilder();
        StringBuilder ratios = new StringBuilder();
        for (String f : opt("c.loads", "0.3,0.5,0.7,0.9").split(",")) {
            double frac = Double.parseDouble(f.trim());
            double rate = frac * saturationQps;
            long[] lat = openLoop(rate, intOpt("c.requests", 60), doubleOpt("c.seconds", 30));
            double p50 = pct(lat, 0.50);
            double p99 = pct(lat, 0.99);
            System.out.printf(
                    Locale.ROOT,
                    "c) %.0f%% of %.3f q/s = %.3f q/s: n=%d p50 %.1f ms p99 %.1f ms (p50/unloaded %.2f, p99/unloaded %.2f)%n",
                    100 * frac,
                    saturationQps,
                    rate,
                    lat.length,
                    p50,
                    p99,
                    p50 / unloaded,
                    p99 / unloaded);
            detail.append(String.format(
                    Locale.ROOT, "%.0f%%: p50 %.0f ms, p99 %.0f ms (n=%d); ", 100 * frac, p50, p99, lat.length));
            ratios.append(String.format(
                    Locale.ROOT,
                    "%s%.0f%% %.2f/%.2f",
                    ratios.length() == 0 ? "" : ", ",
                    100 * frac,
                    p50 / unloaded,
                    p99 / unloaded));
        }
        result(
                "c) p50/p99 latency / unloaded latency at 30/50/70/90% load",
                ratios.toString(),
                detail
                        + String.format(
                                Locale.ROOT,
                                "unloaded single query %.0f ms; saturation %.3f q/s; batcher %s",
                                unloaded,
                                saturationQps,
                                policy()));
    }

    /** Median end-to-end latency of one query alone in the served path (decode, batcher, encode, score). */
    private double unloadedLatencyMs() throws Exception {
        try (Served.Path path = new Served.Path(this)) {
            long[] lat = new long[intOpt("c.unloaded-requests", 5)];
            for (int i = 0; i < lat.length; i++) {
                long t0 = System.nanoTime();
                path.score(queryBytes.get(i % queryBytes.size())).join();
                lat[i] = System.nanoTime() - t0;
            }
            return pct(lat, 0.5);
        }
    }

    /**
     * Arrivals at fixed intervals regardless of completions (open loop); latency counts from the scheduled arrival, so
     * a stalled client cannot hide queueing (no coordinated omission).
     */
    private long[] openLoop(double rate, int maxRequests, double maxSeconds) throws Exception {
        long interval = (long) (1e9 / rate);
        int n = (int) Math.max(5, Math.min(maxRequests, Math.floor(maxSeconds * rate)));
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        // one thread per in-flight arrival at most: decoding runs on the caller side as in the server's worker pool
        ExecutorService callers = Executors.newCachedThreadPool();
        try (Served.Path path = new Served.Path(this)) {
            List<CompletableFuture<?>> all = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                long due = t0 + i * interval;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                byte[] img = queryBytes.get(i % queryBytes.size());
                CompletableFuture<?> f = CompletableFuture.supplyAsync(
                                () -> path.score(img).join(), callers)
                        .thenRun(() -> latencies.add(System.nanoTime() - due));
                all.add(f);
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(10, TimeUnit.MINUTES);
        } finally {
            callers.shutdownNow();
        }
        return latencies.stream().mapToLong(Long::longValue).toArray();
    }

    // ---------------------------------------------------------------------------------------------------------
    // d) resident memory per prompt set

    private void benchD() throws Exception {
        int sets = intOpt("d.sets", 1000);
        int target = intOpt("d.target-sets", 1000);
        PromptFeatures base = registered;
        TextPrior prior = registeredPrior;
        long payload = base.sizeInBytes() + 4L * (prior.normal().length + prior.anomalous().length);
        List<Object> held = new ArrayList<>(sets);
        long rss0 = rssBytes(ProcessHandle.current().pid());
        long heap0 = usedHeapAfterGc();
        for (int i = 0; i < sets; i++) {
            // distinct arrays per set, as a registry holding independently encoded sets would
            float[][] tokens = new float[base.tokens().length][];
            for (int l = 0; l < tokens.length; l++) {
                tokens[l] = base.tokens()[l].clone();
            }
            held.add(new PromptFeatures(
                    base.shots(),
                    base.patches(),
                    base.width(),
                    tokens,
                    base.prototype().clone()));
            held.add(new TextPrior(prior.normal().clone(), prior.anomalous().clone()));
        }
        long heap1 = usedHeapAfterGc();
        long rss1 = rssBytes(ProcessHandle.current().pid());
        double perSetHeap = (double) (heap1 - heap0) / sets;
        double perSetRss = (double) (rss1 - rss0) / sets;
        System.out.printf(
                Locale.ROOT,
                "d) %d sets (K=%d): payload %s/set, heap %s/set, RSS %s/set (RSS %s -> %s)%n",
                sets,
                k,
                mib(payload),
                mib(perSetHeap),
                mib(perSetRss),
                mib(rss0),
                mib(rss1));
        held.clear();

        String serverPid = opts.get("server-pid");
        String serverNote;
        double ratio;
        if (serverPid != null) {
            long serverRss = rssBytes(Long.parseLong(serverPid));
            double projected = serverRss + target * Math.max(perSetHeap, perSetRss);
            ratio = projected / serverRss;
            serverNote = String.format(
                    Locale.ROOT,
                    "idle server RSS %s (pid %s, after warm-up); projected with %d sets %s",
                    mib(serverRss),
                    serverPid,
                    target,
                    mib(projected));
        } else {
            double projected = rss0 + target * Math.max(perSetHeap, perSetRss);
            ratio = projected / rss0;
            serverNote = String.format(
                    Locale.ROOT,
                    "no server pid given: bench JVM RSS %s, projected with %d sets %s",
                    mib(rss0),
                    target,
                    mib(projected));
        }
        result(
                "d) resident bytes per prompt set / payload bytes; RSS(" + target + " sets) / idle RSS",
                String.format(Locale.ROOT, "%.3f; %.2f", Math.max(perSetHeap, perSetRss) / payload, ratio),
                String.format(
                        Locale.ROOT,
                        "K=%d set = %s payload (3 taps x %dx%d fp32 + prototype + text prior), measured %s resident/set over %d sets; %s",
                        k,
                        mib(payload),
                        k * base.patches(),
                        base.width(),
                        mib(Math.max(perSetHeap, perSetRss)),
                        sets,
                        serverNote));
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return rt.totalMemory() - rt.freeMemory();
    }

    static long rssBytes(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("no VmRSS for pid " + pid);
    }

    // ---------------------------------------------------------------------------------------------------------
    // the served path, in process

    /** Throughput of the served path under closed-loop streams, each keeping {@code window} queries in flight. */
    private Served servedRun(int streams, int window, int maxQueries, double maxSeconds) throws Exception {
        try (Served.Path path = new Served.Path(this)) {
            // a few queries first so batches of every size have been seen by TorchScript
            for (int i = 0; i < Math.min(4, maxQueries); i++) {
                path.score(queryBytes.get(i)).join();
            }
            AtomicInteger issued = new AtomicInteger();
            AtomicInteger completed = new AtomicInteger();
            AtomicLong batchedItems = new AtomicLong();
            long start = System.nanoTime();
            long stopAt = start + (long) (maxSeconds * 1e9);
            Thread[] threads = new Thread[streams];
            for (int s = 0; s < streams; s++) {
                threads[s] = new Thread(
                        () -> {
                            Semaphore inFlight = new Semaphore(window);
                            try {
                                while (System.nanoTime() < stopAt) {
                                    inFlight.acquire();
                                    int i = issued.getAndIncrement();
                                    if (i >= maxQueries) {
                                        inFlight.release();
                                        break;
                                    }
                                    path.score(queryBytes.get(i % queryBytes.size()))
                                            .whenComplete((r, e) -> {
                                                if (e == null) {
                                                    completed.incrementAndGet();
                                                    batchedItems.addAndGet(r.batchSize());
                                                }
                                                inFlight.release();
                                            });
                                }
                                inFlight.acquire(window); // drain this stream
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        },
                        "stream-" + s);
                threads[s].start();
            }
            for (Thread t : threads) {
                t.join();
            }
            double secs = secs(System.nanoTime() - start);
            int n = completed.get();
            return new Served(streams, n, secs, n / secs, n == 0 ? 0 : (double) batchedItems.get() / n);
        }
    }

    /** One served-path run's outcome; meanBatch is the mean size of the batch each query rode in. */
    record Served(int streams, int count, double seconds, double qps, double meanBatch) {

        @Override
        public String toString() {
            return String.format(
                    Locale.ROOT, "%d queries in %.1f s = %.3f q/s, mean batch %.1f", count, seconds, qps, meanBatch);
        }

        record Job(float[] pixels, PromptFeatures prompts, TextPrior prior) {}

        record Out(InctrlScores scores, int batchSize) {}

        /**
         * The server's scoring path without the transport: decode + preprocess on the caller's thread (the server does
         * it on its worker pool), then the dynamic batcher with one worker on the engine, which runs one vision
         * forward per batch and scores each query against the prompt set and text prior computed once up front.
         */
        static final class Path implements AutoCloseable {
            private final Bench bench;
            private final Batcher<Job, Out> batcher;
            private final PromptFeatures prompts;
            private final TextPrior prior;

            Path(Bench bench) {
                this.bench = bench;
                this.prompts = bench.registered;
                this.prior = bench.registeredPrior;
                this.batcher = new Batcher<>(bench.policy(), List.of(new WorkerSpec<Job, Out>("cpu()", () -> batch -> {
                    List<float[]> px = new ArrayList<>(batch.size());
                    List<PromptFeatures> p = new ArrayList<>(batch.size());
                    List<TextPrior> t = new ArrayList<>(batch.size());
                    for (Job j : batch) {
                        px.add(j.pixels());
                        p.add(j.prompts());
                        t.add(j.prior());
                    }
                    List<InctrlScores> s = bench.engine.process(px, p, t).scores();
                    List<Out> out = new ArrayList<>(s.size());
                    s.forEach(x -> out.add(new Out(x, batch.size())));
                    return out;
                })));
            }

            CompletableFuture<Out> score(byte[] image) {
                return batcher.submit("bench", new Job(bench.prepare(image), prompts, prior));
            }

            @Override
            public void close() {
                batcher.close();
            }
        }
    }

    BatchPolicy policy() {
        List<Integer> preferred = new ArrayList<>();
        String p = opt("batch.preferred", "");
        for (String s : p.split(",")) {
            if (!s.isBlank()) {
                preferred.add(Integer.parseInt(s.trim()));
            }
        }
        return new BatchPolicy(
                intOpt("batch.max-size", 8), Duration.ofMillis(intOpt("batch.max-delay-ms", 5)), preferred, 1024, 1024);
    }

    // ---------------------------------------------------------------------------------------------------------
    // helpers

    private void warmUp() {
        // two passes per shape, as the server's warm-up does
        float[] q = prepare(queryBytes.get(0));
        List<float[]> shots = new ArrayList<>();
        for (byte[] s : shotBytes) {
            shots.add(prepare(s));
        }
        for (int i = 0; i < 2; i++) {
            PromptFeatures p = engine.encode(shots).pool();
            TextPrior t = new TextPrior(
                    new float[manifest.vision().embedDim()],
                    new float[manifest.vision().embedDim()]);
            engine.encodeAndScore(List.of(q), List.of(p), List.of(t));
        }
        long t0 = System.nanoTime();
        registered = engine.encode(shots).pool();
        registeredPrior = engine.textPrior(
                PromptTemplates.defaults().normalSentences(category),
                PromptTemplates.defaults().anomalousSentences(category));
        System.out.printf(
                Locale.ROOT,
                "# registered the prompt set (K=%d shots + 242 sentences) in %.1f s%n",
                k,
                secs(System.nanoTime() - t0));
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
