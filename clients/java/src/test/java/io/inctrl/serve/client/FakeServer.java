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
import io.inctrl.serve.api.v1.CreatePromptSetRequest;
import io.inctrl.serve.api.v1.DeletePromptSetRequest;
import io.inctrl.serve.api.v1.DeletePromptSetResponse;
import io.inctrl.serve.api.v1.Error;
import io.inctrl.serve.api.v1.GetPromptSetRequest;
import io.inctrl.serve.api.v1.ListPromptSetsRequest;
import io.inctrl.serve.api.v1.ListPromptSetsResponse;
import io.inctrl.serve.api.v1.ModelInfo;
import io.inctrl.serve.api.v1.ModelInfoRequest;
import io.inctrl.serve.api.v1.PromptRegistryGrpc;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.api.v1.StageTimings;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * In-process fake of the InCTRL serve API (same contract, no model). Image bytes decide the behaviour:
 * PNG/JPEG/BMP/TIFF magic = decodable, "ANOMALY" = high score, "SLOW" = 500 ms delay. Stream answers are
 * delayed per id so they come back out of order.
 */
final class FakeServer implements AutoCloseable {
    static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

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
        if (req.hasPromptSetId()) {
            synchronized (sets) {
                if (!sets.containsKey(req.getPromptSetId())) {
                    throw Status.NOT_FOUND
                            .withDescription("prompt set " + req.getPromptSetId() + " not found")
                            .asRuntimeException();
                }
            }
        } else if (!req.hasInline() || req.getInline().getShotsCount() == 0) {
            throw Status.INVALID_ARGUMENT.withDescription("no shots").asRuntimeException();
        }
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
                .setTimings(StageTimings.newBuilder().setTotalUs(1000));
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
            try {
                flaky();
                out.onNext(ModelInfo.newBuilder()
                        .setBundleId(name)
                        .setKind("inctrl")
                        .setRandomWeights(true)
                        .build());
                out.onCompleted();
            } catch (RuntimeException e) {
                out.onError(e);
            }
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

    private final class Registry extends PromptRegistryGrpc.PromptRegistryImplBase {
        @Override
        public void createPromptSet(CreatePromptSetRequest req, StreamObserver<PromptSet> out) {
            try {
                flaky();
            } catch (RuntimeException e) {
                out.onError(e);
                return;
            }
            synchronized (sets) {
                if (sets.values().stream().anyMatch(p -> p.getName().equals(req.getName()))) {
                    out.onError(Status.ALREADY_EXISTS
                            .withDescription("prompt set " + req.getName() + " exists")
                            .asRuntimeException());
                    return;
                }
                PromptSet ps = PromptSet.newBuilder()
                        .setId("ps-" + (sets.size() + 1) + "-" + req.getName())
                        .setName(req.getName())
                        .setCategory(req.getCategory())
                        .setShotCount(req.getShotsCount())
                        .setVersion(1)
                        .build();
                sets.put(ps.getId(), ps);
                out.onNext(ps);
                out.onCompleted();
            }
        }

        @Override
        public void getPromptSet(GetPromptSetRequest req, StreamObserver<PromptSet> out) {
            PromptSet ps;
            synchronized (sets) {
                ps = sets.get(req.getId());
            }
            if (ps == null) {
                out.onError(Status.NOT_FOUND
                        .withDescription("prompt set " + req.getId() + " not found")
                        .asRuntimeException());
            } else {
                out.onNext(ps);
                out.onCompleted();
            }
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
