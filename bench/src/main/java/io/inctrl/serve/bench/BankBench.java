package io.inctrl.serve.bench;

import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.model.Coreset;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.InctrlEngine;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * e) and f): the bounded memory bank (issue 22).
 *
 * <p>e) one query's latency through the engine the served path runs (vision forward + residual + heads, one batch
 * of 1, the prompt bank resident on the device as for a registered set) at K = 8, 32, 128, 512 shots, exact bank vs
 * the coreset of {@code --e.budget} tokens per tap, as ratios to exact K = 8 measured in the same run; plus the time
 * to build each coreset. Shots are real normal images (default: {@code ../shared/train} normals of every category,
 * sorted by path: K = 512 needs more than one category holds); the query is a test image of the bench category.
 *
 * <p>f) the target: a set registered with K = 8 through gRPC and grown to 128 shots through the API scores a
 * query within 1.5x the K = 8 latency (single queries over gRPC, median). {@link #grow} adds the shots with the
 * registry's gRPC {@code AddShots} (issue 22), at most the server's per-request shot limit per call.
 */
final class BankBench {

    private final InctrlEngine engine;
    private final Function<byte[], float[]> prepare;
    private final TextPrior prior;

    BankBench(InctrlEngine engine, Function<byte[], float[]> prepare, TextPrior prior) {
        this.engine = engine;
        this.prepare = prepare;
        this.prior = prior;
    }

    record Row(int k, long rows, double exactMs, double coresetMs, long coresetRows, double buildSeconds) {}

    /** e): median latency per K, exact and coreset; queries cycle through {@code queries}. */
    List<Row> latency(List<byte[]> shots, List<byte[]> queries, int[] ks, int budget, int reps) {
        List<float[]> q = queries.stream().limit(8).map(prepare).toList();
        List<EncodedImages> encoded = new ArrayList<>();
        int max = java.util.Arrays.stream(ks).max().orElseThrow();
        if (shots.size() < max) {
            throw new IllegalArgumentException("e) needs " + max + " shot images, found " + shots.size());
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < max; i += 8) { // batches of 8, as the server's batcher
            List<float[]> px =
                    shots.subList(i, Math.min(max, i + 8)).stream().map(prepare).toList();
            encoded.add(engine.encode(px));
        }
        System.out.printf(Locale.ROOT, "e) encoded %d shots in %.1f s%n", max, (System.nanoTime() - t0) / 1e9);
        PromptFeatures all = EncodedImages.concat(encoded).pool();
        int patches = encoded.get(0).features().patches();
        List<PromptFeatures> exact = new ArrayList<>();
        List<PromptFeatures> reduced = new ArrayList<>();
        double[] build = new double[ks.length];
        for (int i = 0; i < ks.length; i++) {
            exact.add(prefix(all, ks[i], patches));
            long b0 = System.nanoTime();
            reduced.add(Coreset.reduce(exact.get(i), budget));
            build[i] = reduced.get(i) == exact.get(i) ? 0 : (System.nanoTime() - b0) / 1e9;
        }
        // every bank measured in each round, in turn: a neighbour's load on a shared machine then weighs on all of
        // them alike instead of on whichever bank happened to run during it
        List<PromptFeatures> banks = new ArrayList<>(exact);
        banks.addAll(reduced);
        List<List<Long>> samples = new ArrayList<>();
        for (PromptFeatures b : banks) {
            engine.encodeAndScore(List.of(q.get(0)), List.of(b), List.of(prior)); // uploads the bank, as a first query
            samples.add(new ArrayList<>());
        }
        for (int r = 0; r < reps; r++) {
            for (int i = 0; i < banks.size(); i++) {
                long s = System.nanoTime();
                engine.encodeAndScore(List.of(q.get((r + i) % q.size())), List.of(banks.get(i)), List.of(prior));
                samples.get(i).add(System.nanoTime() - s);
            }
        }
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < ks.length; i++) {
            double e = median(samples.get(i));
            double c = median(samples.get(ks.length + i));
            rows.add(new Row(
                    ks[i], exact.get(i).totalRows(), e, c, reduced.get(i).totalRows(), build[i]));
            System.out.printf(
                    Locale.ROOT,
                    "e) K=%d: %d token rows exact %.1f ms; coreset %d rows %.1f ms (built in %.1f s); %d rounds%n",
                    ks[i],
                    exact.get(i).totalRows(),
                    e,
                    reduced.get(i).totalRows(),
                    c,
                    build[i],
                    reps);
        }
        return rows;
    }

    /** The first k shots' bank of the pooled features (the prototype is not used by patch-residual bundles). */
    private static PromptFeatures prefix(PromptFeatures all, int k, int patches) {
        float[][] t = new float[all.tokens().length][];
        for (int l = 0; l < t.length; l++) {
            t[l] = java.util.Arrays.copyOf(all.tokens()[l], k * patches * all.width());
        }
        return new PromptFeatures(k, patches, all.width(), t, all.prototype());
    }

    private static double median(List<Long> nanos) {
        long[] t = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
        return t[t.length / 2] / 1e6;
    }

    /** Normal images of shared/train (manifest label 0), sorted by path. */
    static List<byte[]> trainNormals(Path train, int limit) throws IOException {
        List<Path> paths;
        try (Stream<String> lines = Files.lines(train.resolve("manifest.csv"))) {
            paths = lines.skip(1)
                    .map(l -> l.split(","))
                    .filter(c -> c.length > 3 && c[3].equals("0"))
                    .map(c -> train.resolve(c[2]))
                    .sorted()
                    .toList();
        }
        List<byte[]> out = new ArrayList<>();
        for (Path p : paths.subList(0, Math.min(limit, paths.size()))) {
            out.add(Files.readAllBytes(p));
        }
        return out;
    }

    /**
     * f) Adds {@code shots} to the registered set {@code set} with gRPC {@code AddShots}, {@code perCall} shots per
     * call at most: one call carries at most {@code inctrl.limits.max-shots} images (the server answers more with
     * INVALID_ARGUMENT TOO_MANY_SHOTS), so the bench is told that limit. Each call makes a new revision, encoded and
     * calibrated by the serving version before it returns: the set serves the grown shots once this returns.
     *
     * @return the set as the last call answered
     * @throws IllegalStateException when an answer does not hold exactly the shots sent so far
     */
    static PromptSet grow(Served served, PromptSet set, List<byte[]> shots, int perCall) {
        if (perCall < 1) {
            throw new IllegalArgumentException("f.shots-per-call must be at least 1, not " + perCall);
        }
        PromptSet p = set;
        for (int i = 0; i < shots.size(); i += perCall) {
            List<byte[]> batch = shots.subList(i, Math.min(shots.size(), i + perCall));
            long t0 = System.nanoTime();
            PromptSet next = served.addShots(set.getId(), batch);
            if (next.getShotCount() != p.getShotCount() + batch.size() || next.getRevision() <= p.getRevision()) {
                throw new IllegalStateException(String.format(
                        Locale.ROOT,
                        "AddShots of %d shots to a set of %d (revision %d) answered %d shots, revision %d",
                        batch.size(),
                        p.getShotCount(),
                        p.getRevision(),
                        next.getShotCount(),
                        next.getRevision()));
            }
            p = next;
            System.out.printf(
                    Locale.ROOT,
                    "f) AddShots +%d: revision %d, K=%d, encoded and calibrated by %s in %.1f s%n",
                    batch.size(),
                    p.getRevision(),
                    p.getShotCount(),
                    p.getBundleId(),
                    (System.nanoTime() - t0) / 1e9);
        }
        return p;
    }
}
