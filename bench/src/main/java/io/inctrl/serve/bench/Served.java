package io.inctrl.serve.bench;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.inctrl.serve.api.v1.AddShotsRequest;
import io.inctrl.serve.api.v1.PromptRegistryGrpc;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.client.InctrlClient;
import io.inctrl.serve.client.Prompts;
import io.inctrl.serve.client.RetryPolicy;
import io.inctrl.serve.client.ScoreStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The served path: the started server driven over gRPC with the Java client ({@code clients/java}). Every query is
 * a ScoreStream request carrying real PNG bytes and a {@code prompt_set_id}, so the server decodes, preprocesses,
 * batches, encodes and scores each one.
 */
final class Served implements AutoCloseable {

    private final InctrlClient client;
    private final List<byte[]> queries;
    // Registry calls the Java client does not offer (AddShots, issue 22): a stub of its own on a second channel,
    // with the same API key header
    private final ManagedChannel registryChannel;
    private final PromptRegistryGrpc.PromptRegistryBlockingStub registry;

    Served(String address, String apiKey, List<byte[]> queries) {
        this.client = InctrlClient.builder(address)
                .apiKey(apiKey)
                .tls(false)
                .timeout(Duration.ofMinutes(10)) // unary calls: a full-size registration takes tens of seconds here
                .build();
        this.client.awaitReady(Duration.ofSeconds(60));
        this.queries = queries;
        this.registryChannel = Grpc.newChannelBuilder(address, InsecureChannelCredentials.create())
                .maxInboundMessageSize(64 << 20)
                .build();
        Metadata key = new Metadata();
        key.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), apiKey);
        this.registry = PromptRegistryGrpc.newBlockingStub(registryChannel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(key))
                .withMaxOutboundMessageSize(64 << 20); // the server accepts 64 MiB requests (application.properties)
    }

    /**
     * gRPC {@code PromptRegistry.AddShots}: the set's next revision of shots, encoded and calibrated by the serving
     * version before the call returns (so the next query is scored against it).
     */
    PromptSet addShots(String setId, List<byte[]> shots) {
        AddShotsRequest.Builder b = AddShotsRequest.newBuilder().setId(setId);
        shots.forEach(s -> b.addShots(com.google.protobuf.ByteString.copyFrom(s)));
        // a revision re-encodes all of the set's shots (128 at the end of f) and calibrates them: minutes on 2 cores
        return registry.withDeadlineAfter(20, TimeUnit.MINUTES).addShots(b.build());
    }

    PromptSet register(String name, String category, List<byte[]> shots) {
        return client.registerPromptSet(name, category, shots);
    }

    /** One request per query image, built once: the image bytes are shared, only the request id changes. */
    private List<ScoreRequest> requests(String setId) {
        Prompts p = Prompts.promptSet(setId);
        List<ScoreRequest> out = new ArrayList<>(queries.size());
        for (byte[] q : queries) {
            out.add(p.request("", q).build());
        }
        return out;
    }

    private ScoreStream open(String setId, int window, double maxSeconds) {
        // no resend: a broken stream is a failed measurement, not something to paper over
        return client.openStream(
                window, Prompts.promptSet(setId), Duration.ofSeconds((long) maxSeconds + 600), RetryPolicy.NONE);
    }

    /** Outcome of a closed-loop run, with the server's own mean stage times (µs) from the responses. */
    record Run(int streams, int window, int count, int errors, double seconds, double qps, String stages) {
        @Override
        public String toString() {
            return String.format(
                    Locale.ROOT,
                    "%d queries in %.1f s = %.3f q/s (%d streams x window %d, %d errors; server mean %s)",
                    count,
                    seconds,
                    qps,
                    streams,
                    window,
                    errors,
                    stages);
        }
    }

    /** Server-reported stage times summed over responses. */
    private static final class Stages {
        final LongAdder n = new LongAdder();
        final LongAdder decode = new LongAdder();
        final LongAdder preprocess = new LongAdder();
        final LongAdder queue = new LongAdder();
        final LongAdder encode = new LongAdder();
        final LongAdder score = new LongAdder();
        final LongAdder total = new LongAdder();

        void add(ScoreResponse r) {
            n.increment();
            decode.add(r.getTimings().getDecodeUs());
            preprocess.add(r.getTimings().getPreprocessUs());
            queue.add(r.getTimings().getQueueUs());
            encode.add(r.getTimings().getEncodeUs());
            score.add(r.getTimings().getScoreUs());
            total.add(r.getTimings().getTotalUs());
        }

        @Override
        public String toString() {
            double c = Math.max(1, n.sum()) * 1000.0;
            return String.format(
                    Locale.ROOT,
                    "ms/query: decode %.1f, preprocess %.1f, queue %.1f, encode %.1f (per batch), score %.1f, total %.1f",
                    decode.sum() / c,
                    preprocess.sum() / c,
                    queue.sum() / c,
                    encode.sum() / c,
                    score.sum() / c,
                    total.sum() / c);
        }
    }

    /** Closed loop: {@code streams} ScoreStreams, each keeping {@code window} queries in flight. */
    Run closedLoop(String setId, int streams, int window, int maxQueries, double maxSeconds) throws Exception {
        List<ScoreRequest> reqs = requests(setId);
        AtomicInteger issued = new AtomicInteger();
        AtomicInteger completed = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        Stages stages = new Stages();
        long start = System.nanoTime();
        long stopAt = start + (long) (maxSeconds * 1e9);
        Thread[] threads = new Thread[streams];
        for (int s = 0; s < streams; s++) {
            ScoreStream stream = open(setId, window, maxSeconds);
            threads[s] = new Thread(
                    () -> {
                        while (System.nanoTime() < stopAt) {
                            int i = issued.getAndIncrement();
                            if (i >= maxQueries) {
                                break;
                            }
                            // blocks while the window is full: the client's backpressure
                            stream.submit(reqs.get(i % reqs.size()), null).whenComplete((r, e) -> {
                                if (e == null) {
                                    completed.incrementAndGet();
                                    stages.add(r);
                                } else {
                                    errors.incrementAndGet();
                                }
                            });
                        }
                        stream.close(Duration.ofMinutes(10)); // drains this stream's in-flight queries
                    },
                    "stream-" + s);
            threads[s].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        double secs = (System.nanoTime() - start) / 1e9;
        int n = completed.get();
        return new Run(streams, window, n, errors.get(), secs, n / secs, stages.toString());
    }

    /**
     * Open loop: arrivals at fixed intervals regardless of completions, spread round-robin over {@code streams}
     * streams (the server works on at most its stream window per stream). Latency counts from the scheduled arrival
     * to the response, so a late client cannot hide queueing (no coordinated omission). Returns nanoseconds.
     */
    long[] openLoop(String setId, double rate, int streams, int maxRequests, double maxSeconds) throws Exception {
        List<ScoreRequest> reqs = requests(setId);
        long interval = (long) (1e9 / rate);
        int n = (int) Math.max(5, Math.min(maxRequests, Math.floor(maxSeconds * rate)));
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        AtomicInteger errors = new AtomicInteger();
        Stages stages = new Stages();
        List<ScoreStream> open = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            open.add(open(setId, n, maxSeconds));
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            long due = t0 + i * interval;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            open.get(i % streams).submit(reqs.get(i % reqs.size()), null).whenComplete((r, e) -> {
                if (e == null) {
                    latencies.add(System.nanoTime() - due);
                    stages.add(r);
                } else {
                    errors.incrementAndGet();
                }
            });
        }
        for (ScoreStream s : open) {
            s.close(Duration.ofMinutes(10));
        }
        if (errors.get() > 0) {
            System.out.printf(Locale.ROOT, "c) %d of %d open-loop requests failed%n", errors.get(), n);
        }
        // where the time went at this load (queue vs work) tells overload apart from slow stages
        System.out.printf(Locale.ROOT, "c) %.3f q/s: server mean %s%n", rate, stages);
        return latencies.stream().mapToLong(Long::longValue).toArray();
    }

    /** Latencies (ns) of single queries one at a time, each alone on the server. */
    long[] oneAtATime(String setId, int count) {
        List<ScoreRequest> reqs = requests(setId);
        ScoreStream stream = open(setId, 1, 600);
        long[] lat = new long[count];
        for (int i = 0; i < count; i++) {
            long t0 = System.nanoTime();
            stream.submit(reqs.get(i % reqs.size()), null).join();
            lat[i] = System.nanoTime() - t0;
        }
        stream.close(Duration.ofMinutes(1));
        return lat;
    }

    /** Scores {@code image} once against each set (window {@code window}); returns the failures. */
    int scoreEach(List<String> setIds, byte[] image, int window) {
        ScoreStream stream = client.openStream(window, null, Duration.ofMinutes(30), RetryPolicy.NONE);
        AtomicInteger failed = new AtomicInteger();
        for (String id : setIds) {
            stream.submit(Prompts.promptSet(id).request("", image).build(), null)
                    .whenComplete((r, e) -> {
                        if (e != null) {
                            failed.incrementAndGet();
                        }
                    });
        }
        stream.close(Duration.ofMinutes(30));
        return failed.get();
    }

    @Override
    public void close() {
        client.close();
        registryChannel.shutdownNow();
    }
}
