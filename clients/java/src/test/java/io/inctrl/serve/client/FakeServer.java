package io.inctrl.serve.client;

import com.google.protobuf.ByteString;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.inctrl.serve.api.v1.AddShotsRequest;
import io.inctrl.serve.api.v1.Calibration;
import io.inctrl.serve.api.v1.CreatePromptSetRequest;
import io.inctrl.serve.api.v1.DeletePromptSetRequest;
import io.inctrl.serve.api.v1.DeletePromptSetResponse;
import io.inctrl.serve.api.v1.Error;
import io.inctrl.serve.api.v1.GetPromptSetRequest;
import io.inctrl.serve.api.v1.ListModelsRequest;
import io.inctrl.serve.api.v1.ListModelsResponse;
import io.inctrl.serve.api.v1.ListPromptSetsRequest;
import io.inctrl.serve.api.v1.ListPromptSetsResponse;
import io.inctrl.serve.api.v1.ListRevisionsRequest;
import io.inctrl.serve.api.v1.ListRevisionsResponse;
import io.inctrl.serve.api.v1.ModelInfo;
import io.inctrl.serve.api.v1.ModelInfoRequest;
import io.inctrl.serve.api.v1.ModelSummary;
import io.inctrl.serve.api.v1.ModelVersionInfo;
import io.inctrl.serve.api.v1.PromptRegistryGrpc;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.PromptSetEncoding;
import io.inctrl.serve.api.v1.PromptSetRevision;
import io.inctrl.serve.api.v1.ReencodePromptSetRequest;
import io.inctrl.serve.api.v1.RemoveShotsRequest;
import io.inctrl.serve.api.v1.RollbackPromptSetRequest;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.api.v1.SetThresholdRequest;
import io.inctrl.serve.api.v1.StageTimings;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * In-process fake of the InCTRL serve API (same contract, no model). Image bytes decide the behaviour:
 * PNG/JPEG/BMP/TIFF magic = decodable, "ANOMALY" = high score, "SLOW" = 500 ms delay. Stream answers are
 * delayed per id so they come back out of order.
 *
 * <p>Models (issue 19) are routed as the server does: {@link #MODELS} lists each model's loaded versions; a request
 * naming no model gets {@link #DEFAULT_MODEL} (a prompt set: the set's own), no version the model's serving (highest)
 * version. Prompt sets keep revisions of their shots (issue 22); a query scored against a set is kept under its query
 * id until {@link #forgetQueries()}, so AddShots can confirm it as normal.
 */
final class FakeServer implements AutoCloseable {
    static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static final String DEFAULT_MODEL = "fake-model";
    /** Loaded versions per model, the serving (highest) one first. */
    static final Map<String, List<Long>> MODELS = new LinkedHashMap<>();

    static {
        MODELS.put("fake-model", List.of(2L, 1L));
        MODELS.put("other-model", List.of(7L));
    }

    final String apiKey = "secret";
    /** Answers carry it as bundle id: tests see which backend answered. */
    final String name;
    /** Shared by the fakes of a multi-backend test: the first stream to start takes failAfter. */
    private final AtomicInteger failAfterShared;
    /** Request ids received on streams, in order. */
    final List<String> streamIds = java.util.Collections.synchronizedList(new ArrayList<>());
    /** This fake failed a stream with UNAVAILABLE (and refuses new streams since: it is going down). */
    volatile boolean streamFailed;

    final AtomicInteger calls = new AtomicInteger();
    volatile int unavailableFirst;
    /** Fail this many unary calls with RESOURCE_EXHAUSTED QUEUE_FULL and a retry hint, as a busy server does. */
    volatile int busyFirst;
    /** Stream request ids already refused once ("BUSYONCE" images: QUEUE_FULL with retry_after the first time). */
    private final java.util.Set<String> busyOnce = java.util.concurrent.ConcurrentHashMap.newKeySet();

    final AtomicInteger maxInFlight = new AtomicInteger();
    final Map<String, PromptSet> sets = new TreeMap<>();
    /** Unary requests as received, per method name. */
    private final Map<String, List<Object>> requests = new HashMap<>();
    /** Prompt set id -> revision -> shots; guarded by {@link #sets}, as the two maps below. */
    final Map<String, Map<Long, List<ByteString>>> shots = new HashMap<>();

    private final Map<String, List<PromptSetRevision>> revisions = new HashMap<>();
    /** "setId/queryId" -> the scored image, while kept. */
    private final Map<String, ByteString> queries = new HashMap<>();
    /** Refuse this many AddShots with ABORTED CONCURRENT_CHANGE and a zero retry hint. */
    volatile int conflicts;

    private final Server server;
    private final ScheduledExecutorService timers = Executors.newScheduledThreadPool(4);

    static byte[] png(String tag, boolean anomaly) {
        byte[] t = (tag + (anomaly ? "ANOMALY" : "")).getBytes(StandardCharsets.ISO_8859_1);
        byte[] out = new byte[PNG.length + t.length];
        System.arraycopy(PNG, 0, out, 0, PNG.length);
        System.arraycopy(t, 0, out, PNG.length, t.length);
        return out;
    }

    static double hash01(byte[] b) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(b);
            return ((h[0] & 0xffL) << 24 | (h[1] & 0xffL) << 16 | (h[2] & 0xffL) << 8 | (h[3] & 0xffL)) / 4294967296.0;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    FakeServer() throws IOException {
        this("fake", new AtomicInteger(-1));
    }

    /** failAfter (shared): the first stream to start fails with UNAVAILABLE after that many answers; -1 = never. */
    FakeServer(String name, AtomicInteger failAfter) throws IOException {
        this.name = name;
        this.failAfterShared = failAfter;
        ServerInterceptor auth = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(
                    ServerCall<Q, R> call, Metadata h, ServerCallHandler<Q, R> next) {
                if (!apiKey.equals(h.get(InctrlClient.API_KEY))) {
                    call.close(Status.UNAUTHENTICATED.withDescription("missing or invalid x-api-key"), new Metadata());
                    return new ServerCall.Listener<>() {};
                }
                return next.startCall(call, h);
            }
        };
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(ServerInterceptors.intercept(new Scorer(), auth))
                .addService(ServerInterceptors.intercept(new Registry(), auth))
                .build()
                .start();
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    /** The requests of one method the fake received, in order. */
    @SuppressWarnings("unchecked")
    <T> List<T> sent(String method) {
        synchronized (requests) {
            return new ArrayList<>((List<T>) requests.getOrDefault(method, List.of()));
        }
    }

    private void record(String method, Object request) {
        synchronized (requests) {
            requests.computeIfAbsent(method, m -> new ArrayList<>()).add(request);
        }
    }

    /** As a replica whose recent-query retention ran out. */
    void forgetQueries() {
        synchronized (sets) {
            queries.clear();
        }
    }

    /** The model and version a request is served by, as the server routes it; NOT_FOUND with the server's reasons. */
    static Map.Entry<String, Long> route(String model, long version) {
        String name = model.isEmpty() ? DEFAULT_MODEL : model;
        List<Long> versions = MODELS.get(name);
        if (versions == null) {
            throw refusal(Status.Code.NOT_FOUND, "MODEL_NOT_FOUND", "no model " + name, null);
        }
        if (version != 0 && !versions.contains(version)) {
            throw refusal(
                    Status.Code.NOT_FOUND,
                    "MODEL_VERSION_NOT_LOADED",
                    name + " has no loaded version " + version,
                    null);
        }
        return Map.entry(name, version == 0 ? versions.get(0) : version);
    }

    /**
     * Goes down the way a server does on SIGTERM: GOAWAY first (a call racing it is refused and retried elsewhere by
     * gRPC), then whatever is still open is reset. A bare shutdownNow reset a call the client had just started with
     * CANCELLED, which no retry policy may replay.
     */
    @Override
    public void close() {
        server.shutdown();
        try {
            server.awaitTermination(2, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server.shutdownNow();
        timers.shutdownNow();
    }

    private static boolean decodable(ByteString img) {
        String head = img.substring(0, Math.min(8, img.size())).toString(StandardCharsets.ISO_8859_1);
        return img.startsWith(ByteString.copyFrom(PNG))
                || head.startsWith("\u00ff\u00d8\u00ff")
                || head.startsWith("BM")
                || head.startsWith("II*\0")
                || head.startsWith("MM\0*");
    }

    /** Scores or throws a Status; shared by the unary and the streaming path. */
    ScoreResponse score(ScoreRequest req) {
        if (!decodable(req.getImage())) {
            throw Status.INVALID_ARGUMENT
                    .withDescription("image is not PNG, JPEG, BMP or TIFF")
                    .asRuntimeException();
        }
        String model = req.getModel();
        if (req.hasPromptSetId()) {
            synchronized (sets) {
                if (!sets.containsKey(req.getPromptSetId())) {
                    throw Status.NOT_FOUND
                            .withDescription("prompt set " + req.getPromptSetId() + " not found")
                            .asRuntimeException();
                }
                if (model.isEmpty()) {
                    model = sets.get(req.getPromptSetId()).getModel();
                }
            }
        } else if (!req.hasInline() || req.getInline().getShotsCount() == 0) {
            throw Status.INVALID_ARGUMENT.withDescription("no shots").asRuntimeException();
        }
        Map.Entry<String, Long> version = route(model, req.getModelVersion());
        String body = req.getImage().toString(StandardCharsets.ISO_8859_1);
        if (body.contains("HUGE")) { // waiting does not help: a reason, no retry hint
            throw refusal(Status.Code.RESOURCE_EXHAUSTED, "PAYLOAD_TOO_LARGE", "message too large", null);
        }
        if (body.contains("SLOW")) {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        float s = (float) ((body.contains("ANOMALY") ? 0.8 : 0.2)
                + 0.1 * hash01(req.getImage().toByteArray()));
        ScoreResponse.Builder r = ScoreResponse.newBuilder()
                .setRequestId(req.getRequestId())
                .setScore(s)
                .setSP(s)
                .setBundleId(name)
                .setMapHeight(2)
                .setMapWidth(2)
                .setTimings(StageTimings.newBuilder().setTotalUs(1000))
                .setModel(version.getKey())
                .setModelVersion(version.getValue());
        if (req.hasPromptSetId()) {
            String queryId = UUID.randomUUID().toString();
            synchronized (sets) {
                queries.put(req.getPromptSetId() + "/" + queryId, req.getImage());
            }
            r.setQueryId(queryId);
        }
        if (!req.getOmitMap()) {
            r.addAllMap(List.of(s, s, s, s));
        }
        return r.build();
    }

    private void flaky() {
        int n = calls.incrementAndGet();
        if (n <= unavailableFirst) {
            throw Status.UNAVAILABLE.withDescription("warming up").asRuntimeException();
        }
        if (n - unavailableFirst <= busyFirst) {
            throw refusal(Status.Code.RESOURCE_EXHAUSTED, "QUEUE_FULL", "queue full; retry after 50 ms", 50);
        }
    }

    /** A refusal as the real server sends it: google.rpc.ErrorInfo and, when retryable, RetryInfo in the details. */
    static io.grpc.StatusRuntimeException refusal(Status.Code code, String reason, String message, Integer retryMs) {
        com.google.rpc.Status.Builder s = com.google.rpc.Status.newBuilder()
                .setCode(code.value())
                .setMessage(message)
                .addDetails(com.google.protobuf.Any.pack(com.google.rpc.ErrorInfo.newBuilder()
                        .setReason(reason)
                        .setDomain("inctrl.io")
                        .build()));
        if (retryMs != null) {
            s.addDetails(com.google.protobuf.Any.pack(com.google.rpc.RetryInfo.newBuilder()
                    .setRetryDelay(com.google.protobuf.Duration.newBuilder().setNanos(retryMs * 1_000_000))
                    .build()));
        }
        return io.grpc.protobuf.StatusProto.toStatusRuntimeException(s.build());
    }

    private final class Scorer extends ScorerGrpc.ScorerImplBase {
        @Override
        public void score(ScoreRequest req, StreamObserver<ScoreResponse> out) {
            record("Score", req);
            try {
                flaky();
                out.onNext(FakeServer.this.score(req));
                out.onCompleted();
            } catch (RuntimeException e) {
                out.onError(e);
            }
        }

        @Override
        public void getModelInfo(ModelInfoRequest req, StreamObserver<ModelInfo> out) {
            record("GetModelInfo", req);
            answer(out, () -> {
                flaky();
                Map.Entry<String, Long> v = route(req.getModel(), req.getModelVersion());
                return ModelInfo.newBuilder()
                        .setBundleId(name)
                        .setKind("inctrl")
                        .setRandomWeights(true)
                        .setModel(v.getKey())
                        .setModelVersion(v.getValue())
                        .setPrecision("fp32")
                        .build();
            });
        }

        @Override
        public void listModels(ListModelsRequest req, StreamObserver<ListModelsResponse> out) {
            answer(out, () -> {
                flaky();
                ListModelsResponse.Builder b = ListModelsResponse.newBuilder().setDefaultModel(DEFAULT_MODEL);
                MODELS.forEach((model, versions) -> {
                    ModelSummary.Builder m =
                            ModelSummary.newBuilder().setName(model).setServingVersion(versions.get(0));
                    for (long v : versions) {
                        m.addVersions(ModelVersionInfo.newBuilder()
                                .setVersion(v)
                                .setState("READY")
                                .setBundleId(model + "-v" + v)
                                .setKind("inctrl")
                                .setPrecision("fp32")
                                .setRandomWeights(true));
                    }
                    b.addModels(m);
                });
                return b.build();
            });
        }

        @Override
        public StreamObserver<ScoreRequest> scoreStream(StreamObserver<ScoreResponse> out) {
            if (streamFailed) {
                out.onError(Status.UNAVAILABLE
                        .withDescription(name + " is shutting down")
                        .asRuntimeException());
                return new StreamObserver<>() {
                    @Override
                    public void onNext(ScoreRequest r) {}

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {}
                };
            }
            int[] failAfter = {failAfterShared.getAndSet(-1)};
            boolean[] dead = {false};
            AtomicInteger inFlight = new AtomicInteger();
            // counts requests whose answer has not been handed to the transport yet: the client may see the answer and
            // send its next request before this thread returns from onNext, so measure before writing
            AtomicInteger unanswered = new AtomicInteger();
            Object lock = new Object();
            boolean[] ended = {false};
            return new StreamObserver<>() {
                @Override
                public void onNext(ScoreRequest req) {
                    streamIds.add(req.getRequestId());
                    inFlight.incrementAndGet();
                    maxInFlight.accumulateAndGet(unanswered.incrementAndGet(), Math::max);
                    long delayUs = (long) (20_000 * hash01(req.getRequestId().getBytes(StandardCharsets.UTF_8)));
                    try {
                        answerLater(req, delayUs);
                    } catch (java.util.concurrent.RejectedExecutionException closing) {
                        // the fake is closing: the server resets the stream
                    }
                }

                private void answerLater(ScoreRequest req, long delayUs) {
                    timers.schedule(
                            () -> {
                                ScoreResponse r;
                                try {
                                    if (req.getImage()
                                                    .toString(StandardCharsets.ISO_8859_1)
                                                    .contains("BUSYONCE")
                                            && busyOnce.add(req.getRequestId())) {
                                        r = ScoreResponse.newBuilder()
                                                .setRequestId(req.getRequestId())
                                                .setError(Error.newBuilder()
                                                        .setCode("RESOURCE_EXHAUSTED")
                                                        .setReason("QUEUE_FULL")
                                                        .setMessage("queue full; retry after 50 ms")
                                                        .setRetryAfter(com.google.protobuf.Duration.newBuilder()
                                                                .setNanos(50_000_000)))
                                                .build();
                                    } else {
                                        r = FakeServer.this.score(req);
                                    }
                                } catch (io.grpc.StatusRuntimeException e) {
                                    com.google.rpc.Status details = io.grpc.protobuf.StatusProto.fromThrowable(e);
                                    String reason = "";
                                    if (details != null) {
                                        for (com.google.protobuf.Any a : details.getDetailsList()) {
                                            if (a.is(com.google.rpc.ErrorInfo.class)) {
                                                try {
                                                    reason = a.unpack(com.google.rpc.ErrorInfo.class)
                                                            .getReason();
                                                } catch (com.google.protobuf.InvalidProtocolBufferException x) {
                                                    throw new IllegalStateException(x);
                                                }
                                            }
                                        }
                                    }
                                    r = ScoreResponse.newBuilder()
                                            .setRequestId(req.getRequestId())
                                            .setError(Error.newBuilder()
                                                    .setCode(e.getStatus()
                                                            .getCode()
                                                            .name())
                                                    .setReason(reason)
                                                    .setMessage(e.getStatus().getDescription()))
                                            .build();
                                }
                                synchronized (lock) {
                                    unanswered.decrementAndGet();
                                    if (dead[0]) {
                                        return;
                                    }
                                    if (failAfter[0] >= 0 && failAfter[0]-- == 0) {
                                        dead[0] = streamFailed = true;
                                        out.onError(Status.UNAVAILABLE
                                                .withDescription(name + " is shutting down")
                                                .asRuntimeException());
                                        return;
                                    }
                                    try {
                                        out.onNext(r);
                                    } catch (RuntimeException ignored) {
                                        return; // client went away
                                    }
                                    if (inFlight.decrementAndGet() == 0 && ended[0]) {
                                        out.onCompleted();
                                    }
                                }
                            },
                            delayUs,
                            TimeUnit.MICROSECONDS);
                }

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onCompleted() {
                    synchronized (lock) {
                        ended[0] = true;
                        if (inFlight.get() == 0 && !dead[0]) {
                            out.onCompleted();
                        }
                    }
                }
            };
        }
    }

    /** Answers with what {@code f} returns, or fails with the status it throws. */
    private static <T> void answer(StreamObserver<T> out, Supplier<T> f) {
        T r;
        try {
            r = f.get();
        } catch (RuntimeException e) {
            out.onError(e);
            return;
        }
        out.onNext(r);
        out.onCompleted();
    }

    /** A stored prompt set; under the lock of {@link #sets}. */
    private PromptSet set(String id) {
        PromptSet ps = sets.get(id);
        if (ps == null) {
            throw refusal(Status.Code.NOT_FOUND, "NOT_FOUND", "prompt set " + id + " not found", null);
        }
        return ps;
    }

    /** Revision max+1 with these shots, the set pointing at it; under the lock of {@link #sets}. */
    private PromptSet newRevision(PromptSet ps, List<ByteString> shotsOfRevision, String reason) {
        List<PromptSetRevision> revs = revisions.get(ps.getId());
        long revision = revs.get(revs.size() - 1).getRevision() + 1;
        shots.get(ps.getId()).put(revision, shotsOfRevision);
        revs.add(PromptSetRevision.newBuilder()
                .setRevision(revision)
                .setShotCount(shotsOfRevision.size())
                .setReason(reason)
                .build());
        PromptSet next = ps.toBuilder()
                .setRevision(revision)
                .setShotCount(shotsOfRevision.size())
                .setVersion(ps.getVersion() + 1)
                .build();
        sets.put(next.getId(), next);
        return next;
    }

    private static int encodingOf(PromptSet ps, long version) {
        for (int i = 0; i < ps.getEncodingsCount(); i++) {
            if (ps.getEncodings(i).getModelVersion() == version) {
                return i;
            }
        }
        return -1;
    }

    private final class Registry extends PromptRegistryGrpc.PromptRegistryImplBase {
        @Override
        public void createPromptSet(CreatePromptSetRequest req, StreamObserver<PromptSet> out) {
            record("CreatePromptSet", req);
            answer(out, () -> {
                flaky();
                String model = route(req.getModel(), 0).getKey();
                synchronized (sets) {
                    if (sets.values().stream().anyMatch(p -> p.getName().equals(req.getName()))) {
                        throw Status.ALREADY_EXISTS
                                .withDescription("prompt set " + req.getName() + " exists")
                                .asRuntimeException();
                    }
                    PromptSet.Builder ps = PromptSet.newBuilder()
                            .setId("ps-" + (sets.size() + 1) + "-" + req.getName())
                            .setName(req.getName())
                            .setCategory(req.getCategory())
                            .setShotCount(req.getShotsCount())
                            .setVersion(1)
                            .setModel(model)
                            .setRevision(1);
                    for (long v :
                            MODELS.get(model)) { // every loaded version encodes it (the server: in the background)
                        ps.addEncodings(PromptSetEncoding.newBuilder()
                                .setModel(model)
                                .setModelVersion(v)
                                .setState("READY")
                                .setVersion(1)
                                .setCalibration(Calibration.getDefaultInstance()));
                    }
                    PromptSet built = ps.build();
                    sets.put(built.getId(), built);
                    shots.put(built.getId(), new HashMap<>(Map.of(1L, req.getShotsList())));
                    revisions.put(
                            built.getId(),
                            new ArrayList<>(List.of(PromptSetRevision.newBuilder()
                                    .setRevision(1)
                                    .setShotCount(req.getShotsCount())
                                    .setReason("created")
                                    .build())));
                    return built;
                }
            });
        }

        @Override
        public void setThreshold(SetThresholdRequest req, StreamObserver<PromptSet> out) {
            record("SetThreshold", req);
            answer(out, () -> {
                synchronized (sets) {
                    PromptSet ps = set(req.getId());
                    long version = req.getModelVersion() != 0
                            ? req.getModelVersion()
                            : MODELS.get(ps.getModel()).get(0);
                    int i = encodingOf(ps, version);
                    if (i < 0) {
                        throw refusal(
                                Status.Code.FAILED_PRECONDITION,
                                "PROMPT_SET_NOT_ENCODED",
                                "not encoded by version " + version,
                                null);
                    }
                    PromptSetEncoding e = ps.getEncodings(i);
                    PromptSet next = ps.toBuilder()
                            .setEncodings(
                                    i,
                                    e.toBuilder()
                                            .setVersion(e.getVersion() + 1)
                                            .setCalibration(e.getCalibration().toBuilder()
                                                    .setThresholdOverridden(req.hasThreshold())
                                                    .setThreshold(req.hasThreshold() ? req.getThreshold() : 0.5f)))
                            .setVersion(ps.getVersion() + 1)
                            .build();
                    sets.put(next.getId(), next);
                    return next;
                }
            });
        }

        @Override
        public void reencodePromptSet(ReencodePromptSetRequest req, StreamObserver<PromptSet> out) {
            record("ReencodePromptSet", req);
            answer(out, () -> {
                synchronized (sets) {
                    PromptSet ps = set(req.getId());
                    long version = route(ps.getModel(), req.getModelVersion()).getValue();
                    int i = encodingOf(ps, version);
                    PromptSetEncoding e = ps.getEncodings(i);
                    PromptSet next = ps.toBuilder()
                            .setEncodings(i, e.toBuilder().setVersion(e.getVersion() + 1))
                            .setVersion(ps.getVersion() + 1)
                            .build();
                    sets.put(next.getId(), next);
                    return next;
                }
            });
        }

        @Override
        public void addShots(AddShotsRequest req, StreamObserver<PromptSet> out) {
            record("AddShots", req);
            answer(out, () -> {
                flaky();
                synchronized (sets) {
                    if (conflicts > 0) { // the server's answer when the set's shots changed while it encoded them
                        conflicts--;
                        throw refusal(
                                Status.Code.ABORTED,
                                "CONCURRENT_CHANGE",
                                "the set's shots changed meanwhile; retry",
                                0);
                    }
                    PromptSet ps = set(req.getId());
                    List<ByteString> added = new ArrayList<>(req.getShotsList());
                    for (String q : req.getQueryIdsList()) { // after the uploads, in order, as the server appends them
                        ByteString image = queries.get(ps.getId() + "/" + q);
                        if (image == null) {
                            throw refusal(
                                    Status.Code.NOT_FOUND,
                                    "QUERY_NOT_RETAINED",
                                    "query " + q + " is not kept (any more) on this replica",
                                    null);
                        }
                        added.add(image);
                    }
                    if (added.isEmpty()) {
                        throw refusal(
                                Status.Code.INVALID_ARGUMENT, "NO_SHOTS", "name images or scored queries to add", null);
                    }
                    List<ByteString> next =
                            new ArrayList<>(shots.get(ps.getId()).get(ps.getRevision()));
                    next.addAll(added);
                    return newRevision(ps, next, "shots-added");
                }
            });
        }

        @Override
        public void removeShots(RemoveShotsRequest req, StreamObserver<PromptSet> out) {
            record("RemoveShots", req);
            answer(out, () -> {
                synchronized (sets) {
                    PromptSet ps = set(req.getId());
                    List<ByteString> current = shots.get(ps.getId()).get(ps.getRevision());
                    TreeSet<Integer> drop = new TreeSet<>(req.getShotsList());
                    if (drop.isEmpty() || drop.size() == current.size()) {
                        throw refusal(
                                Status.Code.INVALID_ARGUMENT,
                                "NO_SHOTS",
                                "name the shots to remove; at least one stays",
                                null);
                    }
                    if (drop.first() < 0 || drop.last() >= current.size()) {
                        throw refusal(
                                Status.Code.INVALID_ARGUMENT,
                                "INVALID_SHOT",
                                "the set has " + current.size() + " shots",
                                null);
                    }
                    List<ByteString> kept = new ArrayList<>();
                    for (int i = 0; i < current.size(); i++) {
                        if (!drop.contains(i)) {
                            kept.add(current.get(i));
                        }
                    }
                    return newRevision(ps, kept, "shots-removed");
                }
            });
        }

        @Override
        public void listRevisions(ListRevisionsRequest req, StreamObserver<ListRevisionsResponse> out) {
            record("ListRevisions", req);
            answer(out, () -> {
                flaky();
                synchronized (sets) {
                    PromptSet ps = set(req.getId());
                    return ListRevisionsResponse.newBuilder()
                            .addAllRevisions(revisions.get(ps.getId()))
                            .setCurrent(ps.getRevision())
                            .build();
                }
            });
        }

        @Override
        public void rollbackPromptSet(RollbackPromptSetRequest req, StreamObserver<PromptSet> out) {
            record("RollbackPromptSet", req);
            answer(out, () -> {
                flaky();
                synchronized (sets) {
                    PromptSet ps = set(req.getId());
                    List<ByteString> of = shots.get(ps.getId()).get(req.getRevision());
                    if (of == null) {
                        throw refusal(
                                Status.Code.NOT_FOUND,
                                "REVISION_NOT_FOUND",
                                "prompt set has no revision " + req.getRevision(),
                                null);
                    }
                    PromptSet next = ps.toBuilder()
                            .setRevision(req.getRevision())
                            .setShotCount(of.size())
                            .setVersion(ps.getVersion() + 1)
                            .build();
                    sets.put(next.getId(), next);
                    return next;
                }
            });
        }

        @Override
        public void getPromptSet(GetPromptSetRequest req, StreamObserver<PromptSet> out) {
            answer(out, () -> {
                synchronized (sets) {
                    return set(req.getId());
                }
            });
        }

        @Override
        public void listPromptSets(ListPromptSetsRequest req, StreamObserver<ListPromptSetsResponse> out) {
            List<PromptSet> all;
            synchronized (sets) {
                all = new ArrayList<>(sets.values());
            }
            int start = req.getPageToken().isEmpty() ? 0 : Integer.parseInt(req.getPageToken());
            int end = Math.min(all.size(), start + (req.getPageSize() == 0 ? 100 : req.getPageSize()));
            out.onNext(ListPromptSetsResponse.newBuilder()
                    .addAllPromptSets(all.subList(start, end))
                    .setNextPageToken(end < all.size() ? String.valueOf(end) : "")
                    .build());
            out.onCompleted();
        }

        @Override
        public void deletePromptSet(DeletePromptSetRequest req, StreamObserver<DeletePromptSetResponse> out) {
            synchronized (sets) {
                if (sets.remove(req.getId()) == null) {
                    out.onError(Status.NOT_FOUND
                            .withDescription("prompt set " + req.getId() + " not found")
                            .asRuntimeException());
                    return;
                }
            }
            out.onNext(DeletePromptSetResponse.getDefaultInstance());
            out.onCompleted();
        }
    }
}
