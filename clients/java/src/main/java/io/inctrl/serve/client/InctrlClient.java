package io.inctrl.serve.client;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ConnectivityState;
import io.grpc.Deadline;
import io.grpc.ForwardingClientCall;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.NettyChannelBuilder;
import io.inctrl.serve.api.v1.AddShotsRequest;
import io.inctrl.serve.api.v1.CreatePromptSetRequest;
import io.inctrl.serve.api.v1.DeletePromptSetRequest;
import io.inctrl.serve.api.v1.GetPromptSetRequest;
import io.inctrl.serve.api.v1.ListModelsRequest;
import io.inctrl.serve.api.v1.ListModelsResponse;
import io.inctrl.serve.api.v1.ListPromptSetsRequest;
import io.inctrl.serve.api.v1.ListPromptSetsResponse;
import io.inctrl.serve.api.v1.ListRevisionsRequest;
import io.inctrl.serve.api.v1.ListRevisionsResponse;
import io.inctrl.serve.api.v1.ModelInfo;
import io.inctrl.serve.api.v1.ModelInfoRequest;
import io.inctrl.serve.api.v1.PromptRegistryGrpc;
import io.inctrl.serve.api.v1.PromptSet;
import io.inctrl.serve.api.v1.ReencodePromptSetRequest;
import io.inctrl.serve.api.v1.RemoveShotsRequest;
import io.inctrl.serve.api.v1.RollbackPromptSetRequest;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.api.v1.SetThresholdRequest;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Client for InCTRL serve. Thread-safe; share one per process.
 *
 * <p>The address is {@code host:port}, a DNS name with several addresses, or a comma-separated list of
 * {@code host:port}: gRPC balances calls round-robin over the backends and retries idempotent calls (Score,
 * GetModelInfo, ListModels, GetPromptSet, ListPromptSets, ListRevisions) that fail with UNAVAILABLE on another one
 * ({@link RetryPolicy}).
 *
 * <pre>{@code
 * try (InctrlClient c = InctrlClient.builder("10.0.0.5:9000,10.0.0.6:9000").apiKey(key).build()) {
 *   ScoreResponse r = c.score(image, Prompts.inline("transistor", shot1, shot2));
 * }
 * }</pre>
 */
public final class InctrlClient implements AutoCloseable {
    static final Metadata.Key<String> API_KEY = Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);
    // Inline shots travel with every request; allow messages well above gRPC's 4 MiB default.
    private static final int MAX_MESSAGE = 64 << 20;
    // gRPC can only retry a call whose request it still holds: room for a request with inline shots
    private static final long RETRY_BUFFER_PER_CALL = 16L << 20;

    private final ManagedChannel channel;
    private final Channel intercepted;
    private final ScorerGrpc.ScorerBlockingStub scorer;
    private final ScorerGrpc.ScorerStub scorerAsync;
    private final PromptRegistryGrpc.PromptRegistryBlockingStub registry;
    private final RetryPolicy retry;
    private final Duration timeout;
    private final String address;

    private InctrlClient(Builder b) {
        ChannelCredentials creds;
        if (b.tls) {
            try {
                creds = b.trustCertificates == null
                        ? TlsChannelCredentials.create()
                        : TlsChannelCredentials.newBuilder()
                                .trustManager(b.trustCertificates)
                                .build();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        } else {
            creds = InsecureChannelCredentials.create(); // h2c, the server's default
        }
        this.address = b.address;
        this.channel = channelBuilder(b.address, creds)
                .maxInboundMessageSize(MAX_MESSAGE)
                .defaultServiceConfig(b.retry.serviceConfig())
                .enableRetry()
                .perRpcBufferLimit(RETRY_BUFFER_PER_CALL)
                .retryBufferSize(4 * RETRY_BUFFER_PER_CALL)
                // pings notice a backend that vanished without closing its connections (the server permits 20 s)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(false) // idle connections are not pinged (a server counts those as abuse)
                .build();
        this.intercepted =
                b.apiKey == null ? channel : ClientInterceptors.intercept(channel, apiKeyInterceptor(b.apiKey));
        this.scorer = ScorerGrpc.newBlockingStub(intercepted).withMaxOutboundMessageSize(MAX_MESSAGE);
        this.scorerAsync = ScorerGrpc.newStub(intercepted).withMaxOutboundMessageSize(MAX_MESSAGE);
        this.registry = PromptRegistryGrpc.newBlockingStub(intercepted).withMaxOutboundMessageSize(MAX_MESSAGE);
        this.retry = b.retry;
        this.timeout = b.timeout;
    }

    @SuppressWarnings("deprecation") // nameResolverFactory: the per-channel way to give grpc-java a fixed address list
    private static NettyChannelBuilder channelBuilder(String address, ChannelCredentials creds) {
        List<String> entries = StaticAddresses.entries(address);
        if (entries.size() == 1) {
            return NettyChannelBuilder.forTarget(entries.get(0), creds);
        }
        return NettyChannelBuilder.forTarget(StaticAddresses.SCHEME + ":///replicas", creds)
                .nameResolverFactory(StaticAddresses.of(entries));
    }

    /** Shortcut for {@code builder(address).apiKey(apiKey).tls(tls).build()}. */
    public static InctrlClient connect(String address, String apiKey, boolean tls) {
        return builder(address).apiKey(apiKey).tls(tls).build();
    }

    public static Builder builder(String address) {
        return new Builder(address);
    }

    public static final class Builder {
        private final String address;
        private String apiKey;
        private boolean tls;
        private File trustCertificates;
        private RetryPolicy retry = RetryPolicy.DEFAULT;
        private Duration timeout = Duration.ofSeconds(30);

        private Builder(String address) {
            this.address = address;
        }

        /** Sent as {@code x-api-key} metadata on every call. */
        public Builder apiKey(String key) {
            this.apiKey = key;
            return this;
        }
        /** TLS instead of plaintext h2c (the default), trusting the system roots. */
        public Builder tls(boolean tls) {
            this.tls = tls;
            return this;
        }
        /** TLS trusting the given PEM certificates. */
        public Builder trustCertificates(File pem) {
            this.tls = true;
            this.trustCertificates = pem;
            return this;
        }
        /** gRPC retry policy for UNAVAILABLE (idempotent calls), and the resend budget of streams. */
        public Builder retry(RetryPolicy p) {
            this.retry = p;
            return this;
        }
        /** Default deadline for unary calls (null = none). */
        public Builder timeout(Duration d) {
            this.timeout = d;
            return this;
        }

        public InctrlClient build() {
            return new InctrlClient(this);
        }
    }

    private static ClientInterceptor apiKeyInterceptor(String key) {
        return new ClientInterceptor() {
            @Override
            public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> m, CallOptions o, Channel next) {
                return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(m, o)) {
                    @Override
                    public void start(Listener<R> listener, Metadata headers) {
                        headers.put(API_KEY, key);
                        super.start(listener, headers);
                    }
                };
            }
        };
    }

    private <T> T unary(Duration callTimeout, Function<Deadline, T> call) {
        Duration t = callTimeout != null ? callTimeout : timeout;
        Deadline deadline = t == null ? null : Deadline.after(t.toNanos(), TimeUnit.NANOSECONDS);
        try {
            return call.apply(deadline); // retries: the channel's service config (UNAVAILABLE, idempotent calls)
        } catch (RuntimeException e) {
            throw InctrlException.from(e);
        }
    }

    /** An idempotent call: also resent after the server's retry hint (see {@link RetryPolicy}), within its deadline. */
    private <T> T idempotent(Duration callTimeout, Function<Deadline, T> call) {
        Duration t = callTimeout != null ? callTimeout : timeout;
        Deadline deadline = t == null ? null : Deadline.after(t.toNanos(), TimeUnit.NANOSECONDS);
        for (int attempt = 1; ; attempt++) {
            try {
                return call.apply(deadline);
            } catch (RuntimeException e) {
                InctrlException x = InctrlException.from(e);
                Optional<Duration> wait = retry.hintedDelay(
                        x, attempt, deadline == null ? null : deadline.timeRemaining(TimeUnit.NANOSECONDS));
                if (wait.isEmpty()) {
                    throw x;
                }
                try {
                    Thread.sleep(wait.get().toMillis(), (int) (wait.get().toNanos() % 1_000_000));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw InctrlException.of(Status.Code.CANCELLED, "interrupted while waiting to retry", "", x);
                }
            }
        }
    }

    private static <S extends io.grpc.stub.AbstractStub<S>> S within(S stub, Deadline d) {
        return d == null ? stub : stub.withDeadline(d);
    }

    /** Blocks until connected; throws {@link InctrlException.Unavailable} after {@code max}. */
    public void awaitReady(Duration max) {
        Deadline d = Deadline.after(max.toNanos(), TimeUnit.NANOSECONDS);
        ConnectivityState s = channel.getState(true);
        while (s != ConnectivityState.READY) {
            CountDownLatch changed = new CountDownLatch(1);
            channel.notifyWhenStateChanged(s, changed::countDown);
            try {
                if (!changed.await(d.timeRemaining(TimeUnit.NANOSECONDS), TimeUnit.NANOSECONDS)) {
                    throw InctrlException.of(
                            Status.Code.UNAVAILABLE, "cannot reach " + address + " (" + s + ")", "", null);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw InctrlException.of(Status.Code.CANCELLED, "interrupted", "", e);
            }
            s = channel.getState(true);
        }
    }

    /**
     * Scores one image ({@link Prompts#withModel} chooses the model version). Scored against a prompt set, the
     * response's {@code getQueryId()} can confirm the query as a normal shot ({@link #addShots}) while the replica keeps
     * it.
     */
    public ScoreResponse score(byte[] image, Prompts prompts) {
        return score(prompts.request("", image).build(), null);
    }

    /** Scores a fully built request with an explicit deadline (null = the client's default). */
    public ScoreResponse score(ScoreRequest request, Duration callTimeout) {
        return idempotent(callTimeout, d -> within(scorer, d).score(request));
    }

    /** The default model's serving version. */
    public ModelInfo modelInfo() {
        return modelInfo("", 0);
    }

    /**
     * One loaded model version ({@code model} "" = the default model, {@code version} 0 = its serving version). One the
     * server does not serve: {@link InctrlException.NotFound} with reason MODEL_NOT_FOUND or MODEL_VERSION_NOT_LOADED.
     */
    public ModelInfo modelInfo(String model, long version) {
        ModelInfoRequest req = ModelInfoRequest.newBuilder()
                .setModel(model == null ? "" : model)
                .setModelVersion(version)
                .build();
        return idempotent(null, d -> within(scorer, d).getModelInfo(req));
    }

    /** The models the server serves (loaded versions, serving/canary/shadow version each) and the default model. */
    public ListModelsResponse listModels() {
        return idempotent(null, d -> within(scorer, d).listModels(ListModelsRequest.getDefaultInstance()));
    }

    /** Registers shots once; then score with {@code Prompts.promptSet(ps.getId())}. */
    public PromptSet registerPromptSet(String name, String category, List<byte[]> shots) {
        CreatePromptSetRequest.Builder b =
                CreatePromptSetRequest.newBuilder().setName(name).setCategory(category);
        shots.forEach(s -> b.addShots(ByteString.copyFrom(s)));
        return registerPromptSet(b.build());
    }

    /** The full request: {@code setModel} names the set's model (default: the server's), {@code setTargetFpr}, .... */
    public PromptSet registerPromptSet(CreatePromptSetRequest request) {
        return unary(null, d -> within(registry, d).createPromptSet(request));
    }

    public PromptSet getPromptSet(String id) {
        return idempotent(
                null,
                d -> within(registry, d)
                        .getPromptSet(GetPromptSetRequest.newBuilder().setId(id).build()));
    }

    /** All prompt sets of the tenant, following page tokens. */
    public List<PromptSet> listPromptSets(int pageSize) {
        List<PromptSet> all = new ArrayList<>();
        String token = "";
        do {
            ListPromptSetsRequest req = ListPromptSetsRequest.newBuilder()
                    .setPageSize(pageSize)
                    .setPageToken(token)
                    .build();
            ListPromptSetsResponse page =
                    idempotent(null, d -> within(registry, d).listPromptSets(req));
            all.addAll(page.getPromptSetsList());
            token = page.getNextPageToken();
        } while (!token.isEmpty());
        return all;
    }

    public void deletePromptSet(String id) {
        unary(
                null,
                d -> within(registry, d)
                        .deletePromptSet(
                                DeletePromptSetRequest.newBuilder().setId(id).build()));
    }

    /**
     * Overrides the decision threshold of one model version's encoding ({@code setModelVersion}, 0 = the serving version
     * of the set's model), or clears the override when {@code threshold} is not set; {@code setTargetFpr} also changes
     * the set's target false-positive rate.
     */
    public PromptSet setThreshold(SetThresholdRequest request) {
        return unary(null, d -> within(registry, d).setThreshold(request));
    }

    /** Re-encodes the set's stored shots with one loaded version (0 = the serving version of its model). */
    public PromptSet reencodePromptSet(String id, long modelVersion) {
        ReencodePromptSetRequest req = ReencodePromptSetRequest.newBuilder()
                .setId(id)
                .setModelVersion(modelVersion)
                .build();
        return unary(null, d -> within(registry, d).reencodePromptSet(req));
    }

    // addShots, removeShots and rollbackPromptSet make a new revision of the shots: writes, never resent after a retry
    // hint (a resend of an addShots that had arrived would add the shots twice). InctrlException.Aborted with reason
    // CONCURRENT_CHANGE means the set's shots changed meanwhile: read the set again and decide again.

    /**
     * Adds normal shots to a set as a new revision of its shots (the old one stays for {@link #rollbackPromptSet}):
     * uploaded images and/or queries scored against the set, confirmed as normal by their
     * {@code ScoreResponse.getQueryId()} (no second upload). A query the answering replica no longer keeps (with several
     * replicas: possibly one that never scored it) is {@link InctrlException.NotFound} with reason QUERY_NOT_RETAINED:
     * upload the image instead.
     */
    public PromptSet addShots(String id, List<byte[]> shots, List<String> queryIds) {
        AddShotsRequest.Builder b = AddShotsRequest.newBuilder().setId(id).addAllQueryIds(queryIds);
        shots.forEach(s -> b.addShots(ByteString.copyFrom(s)));
        AddShotsRequest req = b.build();
        return unary(null, d -> within(registry, d).addShots(req));
    }

    /** Confirms queries scored against the set as normal shots: {@code addShots(id, List.of(), queryIds)}. */
    public PromptSet confirmQueries(String id, String... queryIds) {
        return addShots(id, List.of(), List.of(queryIds));
    }

    /**
     * Removes shots by 0-based position in the current revision (as in {@code Calibration.getShotScoresList()}): a new
     * revision. At least one shot stays.
     */
    public PromptSet removeShots(String id, int... positions) {
        RemoveShotsRequest.Builder b = RemoveShotsRequest.newBuilder().setId(id);
        for (int p : positions) {
            b.addShots(p);
        }
        RemoveShotsRequest req = b.build();
        return unary(null, d -> within(registry, d).removeShots(req));
    }

    /** The revisions of a set's shots, oldest first, and the current one. A read: resent like getPromptSet. */
    public ListRevisionsResponse listRevisions(String id) {
        ListRevisionsRequest req = ListRevisionsRequest.newBuilder().setId(id).build();
        return idempotent(null, d -> within(registry, d).listRevisions(req));
    }

    /** Points the set at another revision of its shots; its stored encodings serve it again, bit for bit. */
    public PromptSet rollbackPromptSet(String id, long revision) {
        RollbackPromptSetRequest req = RollbackPromptSetRequest.newBuilder()
                .setId(id)
                .setRevision(revision)
                .build();
        return unary(null, d -> within(registry, d).rollbackPromptSet(req));
    }

    /**
     * Opens a ScoreStream with at most {@code window} unanswered requests; {@code defaults} are used by
     * {@link ScoreStream#submit(String, byte[])}. {@code streamTimeout} bounds the whole stream (null = none).
     * {@code resend} bounds the resends of unanswered requests after UNAVAILABLE (null = the client's retry
     * policy; {@link RetryPolicy#NONE}: a broken stream fails its in-flight requests).
     */
    public ScoreStream openStream(int window, Prompts defaults, Duration streamTimeout, RetryPolicy resend) {
        ScorerGrpc.ScorerStub stub = streamTimeout == null
                ? scorerAsync
                : scorerAsync.withDeadlineAfter(
                        streamTimeout.toNanos(), TimeUnit.NANOSECONDS); // one deadline for every call
        return new ScoreStream(stub::scoreStream, window, defaults, resend != null ? resend : retry);
    }

    public ScoreStream openStream(int window, Prompts defaults, Duration streamTimeout) {
        return openStream(window, defaults, streamTimeout, null);
    }

    public ScoreStream openStream(int window, Prompts defaults) {
        return openStream(window, defaults, null);
    }

    @Override
    public void close() {
        channel.shutdown();
        try {
            if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        } catch (InterruptedException e) {
            channel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
