package io.inctrl.serve.scoring;

import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.ImageNotes;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.inference.ModelBatcher;
import io.inctrl.serve.inference.ModelJob;
import io.inctrl.serve.inference.ModelOutput;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.models.LoadedModel;
import io.inctrl.serve.models.ModelManager;
import io.inctrl.serve.models.ModelRef;
import io.inctrl.serve.models.ModelRouter;
import io.inctrl.serve.text.PromptTemplates;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The scoring use case: validate, pick the model version (the request's choice, the roll-out state, and for a
 * registered set a version that has encoded it), decode for that version's input, resolve prompts (inline or
 * registered), then queue the query on that version's dynamic batcher. Preparation blocks (decoding, a set not yet
 * encoded), so callers run it off the event loop.
 */
@ApplicationScoped
public class ScoringService {

    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(ScoringService.class);

    /** Tenants warned about a tiny image in the last 10 s: a misconfigured rig must not flood the log. */
    private final com.github.benmanes.caffeine.cache.Cache<String, Boolean> tinyWarned =
            com.github.benmanes.caffeine.cache.Caffeine.newBuilder()
                    .expireAfterWrite(Duration.ofSeconds(10))
                    .maximumSize(10_000)
                    .build();

    @Inject
    ImagePipeline images;

    /** Where results are completed: never a device worker, whose only job is the next batch. */
    java.util.concurrent.Executor responder = io.smallrye.mutiny.infrastructure.Infrastructure.getDefaultWorkerPool();

    static final String SHADOW_LANE = ModelBatcher.SHADOW_LANE;

    @Inject
    InctrlConfig config;

    @Inject
    ModelRouter router;

    @Inject
    ModelManager models;

    @Inject
    PromptSource promptSource;

    @Inject
    ShadowSink shadows;

    @Inject
    ScoredQueries scoredQueries;

    @Inject
    io.inctrl.serve.drift.DriftWatch drift;

    @Inject
    MeterRegistry registry;

    @Inject
    StageSpans spans;

    @Inject
    RequestPixelBudget pixelBudget;

    @Inject
    TenantPixelRate pixelRate;

    @Inject
    DecodePool decodePool;

    /** Shadow samples wait here for their store read; beyond 64 waiting, samples are dropped, never the answers. */
    private final java.util.concurrent.ThreadPoolExecutor shadowExecutor = new java.util.concurrent.ThreadPoolExecutor(
            1,
            1,
            0,
            TimeUnit.MILLISECONDS,
            new java.util.concurrent.ArrayBlockingQueue<>(64),
            r -> {
                Thread t = new Thread(r, "inctrl-shadow");
                t.setDaemon(true);
                return t;
            },
            new java.util.concurrent.ThreadPoolExecutor.DiscardPolicy());

    private Timer decodeTimer;
    private Timer preprocessTimer;
    private Timer encodeTimer;
    private Timer scoreTimer;
    private Timer queueTimer;
    private Timer totalTimer;

    @jakarta.annotation.PreDestroy
    void stop() {
        shadowExecutor.shutdownNow();
    }

    @PostConstruct
    void init() {
        decodeTimer = stageTimer("decode");
        preprocessTimer = stageTimer("preprocess");
        encodeTimer = stageTimer("encode");
        scoreTimer = stageTimer("score");
        queueTimer = stageTimer("queue");
        totalTimer = stageTimer("total");
    }

    /**
     * Checks limits on the calling thread, decodes every image of the request in parallel on the {@link DecodePool},
     * then queues on the chosen version's batcher: inline shots are encoded as jobs of their own and the query is
     * queued once they are pooled and the category's text prior is known. Cancelling the returned future discards
     * whatever is still queued. Failures surface as {@link ServeException}.
     */
    public CompletableFuture<ScoreResult> scoreAsync(ScoreCommand cmd) {
        return scoreEachAsync(cmd, List.of(cmd.image())).get(0);
    }

    /**
     * Scores several query images against the prompts of {@code cmd} (its own image is ignored): one routing, one
     * resolution of a registered set, and inline shots decoded and encoded once for all of them (the Open Inference
     * Protocol's batched ModelInfer). The budgets count every query and the shots once. One future per image, in
     * order; cancelling one cancels that image's work, and the shots' once every image is done or cancelled.
     */
    public List<CompletableFuture<ScoreResult>> scoreEachAsync(ScoreCommand cmd, List<byte[]> images) {
        long start = System.nanoTime();
        io.opentelemetry.context.Context traceParent = io.opentelemetry.context.Context.current();
        validateRequest(cmd, images);
        checkDeadline(cmd.deadline());
        // a registered set is resolved first: it decides the version (one that encoded it) and how the query is cut
        Prompts registered =
                cmd.prompts() instanceof ScoreCommand.Registered r ? registeredPrompts(cmd, r.promptSetId()) : null;
        LoadedModel model = registered != null ? registered.model() : router.route(cmd.model());
        List<byte[]> shots = List.of();
        if (cmd.prompts() instanceof ScoreCommand.Inline inline) {
            validateInline(inline, model);
            shots = inline.shots();
        }
        Inspection mode =
                registered != null ? registered.inspection() : ((ScoreCommand.Inline) cmd.prompts()).inspection();
        // budgets first, from the headers: nothing is decoded for a request that would be refused
        List<byte[]> all = new ArrayList<>(images);
        all.addAll(shots);
        int queries = images.size();
        java.util.function.IntFunction<String> names =
                i -> i < queries ? (queries == 1 ? "image" : ImageNotes.image(i)) : ImageNotes.shot(i - queries);
        long pixels = pixelBudget.check(all, names, mode, model.preprocess().size());
        pixelRate.charge(cmd.tenant(), pixels);
        warnIfTiny(cmd, all, names, model.preprocess().size());
        CompletableFuture<List<ImagePipeline.Prepared>> decoding =
                decodePool.prepareAll(all, names, mode, model.preprocess());
        List<CompletableFuture<ModelOutput>> queued = new java.util.concurrent.CopyOnWriteArrayList<>();
        // the prompts every query is scored against: a registered set's, or the inline shots encoded once
        CompletableFuture<Scored> prompts;
        if (registered != null) {
            prompts = CompletableFuture.completedFuture(new Scored(registered.features(), registered.prior()));
        } else {
            // while the images decode: the category's text prior (cached per version; a batcher job when new)
            CompletableFuture<TextPrior> prior = model.textPrior(
                    PromptTemplates.defaults(), ((ScoreCommand.Inline) cmd.prompts()).category(), cmd.tenant());
            CompletableFuture<PromptFeatures> features = decoding.thenCompose(prepared -> {
                checkDeadline(cmd.deadline());
                List<CompletableFuture<ModelOutput>> jobs = new ArrayList<>();
                for (ImagePipeline.Prepared shot : prepared.subList(queries, prepared.size())) {
                    for (float[] view : shot.views()) { // in tiles mode every tile of every shot joins the pool
                        jobs.add(model.batcher().submit(cmd.tenant(), ModelJob.encode(view), cmd.deadline()));
                    }
                }
                queued.addAll(jobs);
                return AllOrNothing.of(jobs)
                        .thenApply(done -> EncodedImages.concat(
                                        done.stream().map(ModelOutput::encoded).toList())
                                .pool());
            });
            prompts = features.thenCombine(prior, Scored::new);
        }
        Optional<Float> threshold = registered == null ? Optional.empty() : registered.threshold();
        List<CompletableFuture<ScoreResult>> results = new ArrayList<>(queries);
        java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger(queries);
        for (int i = 0; i < queries; i++) {
            int index = i;
            List<CompletableFuture<ModelOutput>> mine = new java.util.concurrent.CopyOnWriteArrayList<>();
            CompletableFuture<ScoreResult> result = decoding.thenCombine(
                            prompts, (prepared, p) -> new Object[] {prepared, p})
                    .thenCompose(x -> {
                        @SuppressWarnings("unchecked")
                        List<ImagePipeline.Prepared> prepared = (List<ImagePipeline.Prepared>) x[0];
                        return queue(
                                cmd,
                                model,
                                start,
                                traceParent,
                                prepared,
                                queries,
                                index,
                                images.get(index),
                                (Scored) x[1],
                                threshold,
                                mine);
                    })
                    .exceptionallyCompose(t -> CompletableFuture.failedFuture(ModelBatcher.translate(
                            t instanceof java.util.concurrent.CompletionException ? t.getCause() : t)));
            // cancelling what the caller holds must reach the batcher, which sees only its futures; the shared work
            // (decoding, shots) goes once no image needs it any more
            result.whenComplete((r, t) -> {
                if (result.isCancelled()) {
                    mine.forEach(f -> f.cancel(false));
                }
                if (open.decrementAndGet() == 0 && (result.isCancelled() || t != null)) {
                    decoding.cancel(false);
                    queued.forEach(f -> f.cancel(false));
                }
            });
            if (registered != null && registered.drift() != null) {
                String setId = ((ScoreCommand.Registered) cmd.prompts()).promptSetId();
                result.thenAccept(r -> drift.observe(
                        cmd.tenant(), setId, registered.drift(), r.scores().score()));
            }
            if (registered != null) {
                // never on the batcher's completion thread: resolving the shadow's encoding reads the store
                result.thenAcceptAsync(r -> shadow(cmd, images.get(index), model, r), shadowExecutor);
            }
            results.add(result);
        }
        return results;
    }

    /**
     * Logs a warning for images too small to show detail ({@link ImageNotes#tinyWarning}): the Score response has no
     * field for warnings, so the operator learns it from the log. Sizes come from the headers (microseconds; the pixel
     * budget has just read them too). At most one line per tenant every 10 s.
     */
    private void warnIfTiny(
            ScoreCommand cmd, List<byte[]> all, java.util.function.IntFunction<String> what, int inputSize) {
        List<String> notes = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            int[] wh = images.declaredSize(all.get(i), what.apply(i));
            ImageNotes.tinyWarning(what.apply(i), wh[0], wh[1], inputSize).ifPresent(notes::add);
        }
        if (!notes.isEmpty() && tinyWarned.asMap().putIfAbsent(cmd.tenant(), Boolean.TRUE) == null) {
            LOG.warnf(
                    "request %s of tenant %s: %s (logged at most every 10 s per tenant)",
                    LogSafe.of(cmd.requestId()), LogSafe.of(cmd.tenant()), String.join("; ", notes));
        }
    }

    /** Queues query {@code index}'s views on the batcher, once every image is decoded and the prompts are known. */
    private CompletableFuture<ScoreResult> queue(
            ScoreCommand cmd,
            LoadedModel model,
            long start,
            io.opentelemetry.context.Context traceParent,
            List<ImagePipeline.Prepared> prepared,
            int queries,
            int index,
            byte[] image,
            Scored p,
            Optional<Float> threshold,
            List<CompletableFuture<ModelOutput>> queued) {
        ImagePipeline.Prepared query = prepared.get(index);
        // this query's decode plus (shared, once per request) the shots'
        long decodeNanos = query.decodeNanos();
        long preprocessNanos = query.preprocessNanos();
        for (ImagePipeline.Prepared shot : prepared.subList(queries, prepared.size())) {
            decodeNanos += shot.decodeNanos();
            preprocessNanos += shot.preprocessNanos();
        }
        checkDeadline(cmd.deadline());
        List<CompletableFuture<ModelOutput>> views =
                new ArrayList<>(query.views().size());
        for (float[] view : query.views()) { // one batcher job per tile; the batcher may group them freely
            views.add(model.batcher()
                    .submit(cmd.tenant(), ModelJob.score(view, p.features(), p.prior()), cmd.deadline()));
        }
        queued.addAll(views);
        long decode = decodeNanos;
        long preprocess = preprocessNanos;
        // a tile that fails (deadline, queue full) fails the request at once and cancels its other tiles
        // merging tiles, building the result and everything the caller chains on it run off the device worker
        return AllOrNothing.of(views)
                .thenApplyAsync(done -> TileMerge.merge(done, query.tiling()), responder)
                .thenApply(out -> {
                    long total = System.nanoTime() - start;
                    String queryId = cmd.prompts() instanceof ScoreCommand.Registered reg
                            ? scoredQueries.retain(
                                    cmd.tenant(),
                                    reg.promptSetId(),
                                    image,
                                    out.scores().score())
                            : null;
                    record(decode, preprocess, out, total);
                    ScoreResult r = new ScoreResult(
                            cmd.requestId(),
                            out.scores(),
                            model.bundleId(),
                            model.ref(),
                            threshold,
                            decode,
                            preprocess,
                            out.encodeNanos(),
                            out.scoreNanos(),
                            out.queueNanos(),
                            total,
                            queryId);
                    spans.record(traceParent, r, out.batchSize(), out.device());
                    return r;
                });
    }

    private record Scored(PromptFeatures features, TextPrior prior) {}

    /**
     * Shadow scoring: when the served model has a shadow version loaded that has encoded the set, the sampled share
     * of requests is scored there too, on its own lane, after the answer went out; the two scores are recorded for
     * the set's comparison report, never returned. Failures only cost the sample.
     */
    private void shadow(ScoreCommand cmd, byte[] image, LoadedModel served, ScoreResult answered) {
        Optional<LoadedModel> candidate = router.shadow(served);
        if (candidate.isEmpty()) {
            return;
        }
        LoadedModel shadow = candidate.get();
        String setId = ((ScoreCommand.Registered) cmd.prompts()).promptSetId();
        try {
            Optional<PromptSource.Resolved> r = promptSource.resolveEncoded(cmd.tenant(), setId, shadow.ref());
            if (r.isEmpty()) {
                return; // not encoded there yet: the background encoder is on it
            }
            PromptSource.Resolved p = r.get();
            decodePool
                    .prepareAll(List.of(image), i -> "image", p.inspection(), shadow.preprocess())
                    .thenCompose(prepared -> {
                        ImagePipeline.Prepared query = prepared.get(0);
                        List<CompletableFuture<ModelOutput>> views = new ArrayList<>();
                        for (float[] view : query.views()) {
                            views.add(shadow.batcher()
                                    .submit(SHADOW_LANE, ModelJob.score(view, p.features(), p.prior()), null));
                        }
                        return AllOrNothing.of(views).thenApply(done -> TileMerge.merge(done, query.tiling()));
                    })
                    .thenAccept(out -> shadows.record(
                            cmd.tenant(),
                            setId,
                            served.ref(),
                            answered.scores().score(),
                            shadow.ref(),
                            out.scores().score()));
        } catch (RuntimeException e) {
            // a shadow sample is best effort: queue full, version unloading, store hiccup
        }
    }

    /** Features are null for inline prompts until their shots are encoded. */
    private record Prompts(
            LoadedModel model,
            PromptFeatures features,
            TextPrior prior,
            Optional<Float> threshold,
            Inspection inspection,
            io.inctrl.serve.drift.Baseline drift) {}

    private Prompts registeredPrompts(ScoreCommand cmd, String promptSetId) {
        PromptSource.Resolved r = promptSource.resolve(cmd.tenant(), promptSetId, cmd.model(), cmd.deadline());
        LoadedModel m = loaded(r.servedBy());
        return new Prompts(m, r.features(), r.prior(), r.threshold(), r.inspection(), r.drift());
    }

    private LoadedModel loaded(ModelRef ref) {
        return models.get(ref)
                .orElseThrow(() -> new ServeException(
                        Reason.MODEL_UNLOADING,
                        ref + " was unloaded while the request was being prepared; retry",
                        Duration.ZERO,
                        null));
    }

    private void record(long decode, long preprocess, ModelOutput out, long total) {
        decodeTimer.record(decode, TimeUnit.NANOSECONDS);
        preprocessTimer.record(preprocess, TimeUnit.NANOSECONDS);
        encodeTimer.record(out.encodeNanos(), TimeUnit.NANOSECONDS);
        scoreTimer.record(out.scoreNanos(), TimeUnit.NANOSECONDS);
        queueTimer.record(out.queueNanos(), TimeUnit.NANOSECONDS);
        totalTimer.record(total, TimeUnit.NANOSECONDS);
    }

    private Timer stageTimer(String stage) {
        return Timer.builder("inctrl.stage.latency")
                .tag("stage", stage)
                .publishPercentileHistogram()
                .description("per-request latency of one scoring stage")
                .register(registry);
    }

    private void validateRequest(ScoreCommand cmd, List<byte[]> images) {
        InctrlConfig.Limits limits = config.limits();
        if (cmd.requestId() != null && cmd.requestId().length() > limits.maxRequestIdLength()) {
            throw ServeException.invalid(
                    Reason.REQUEST_ID_TOO_LONG,
                    "request_id is longer than " + limits.maxRequestIdLength() + " characters");
        }
        for (int i = 0; i < images.size(); i++) {
            if (images.get(i) == null || images.get(i).length == 0) {
                throw ServeException.invalid(
                        Reason.EMPTY_IMAGE,
                        (images.size() == 1 ? "image" : "image " + i)
                                + " is empty: send the encoded PNG/JPEG/BMP/TIFF bytes");
            }
        }
        if (cmd.prompts() instanceof ScoreCommand.Inline inline) {
            validateShots(inline, limits);
        }
    }

    private void validateShots(ScoreCommand.Inline cmd, InctrlConfig.Limits limits) {
        if (!cmd.inspection().concrete()) {
            throw ServeException.invalid(
                    Reason.INVALID_INSPECTION,
                    "inline prompts take center-crop, resize or tiles: auto is chosen once, when a prompt set is"
                            + " registered");
        }
        if (cmd.shots().isEmpty()) {
            throw ServeException.invalid(
                    Reason.NO_PROMPTS, "no prompts: send inline shots (K >= 1) with a category, or a prompt_set_id");
        }
        if (cmd.shots().size() > limits.maxShots()) {
            throw ServeException.invalid(
                    Reason.TOO_MANY_SHOTS, cmd.shots().size() + " shots exceed the limit of " + limits.maxShots());
        }
        // before any sentence is built from it: 242 sentences of a 1 MiB category would take 250 MB
        if (cmd.category() != null && cmd.category().length() > limits.maxCategoryLength()) {
            throw ServeException.invalid(
                    Reason.CATEGORY_TOO_LONG,
                    "category is " + cmd.category().length() + " characters, more than the " + "limit of "
                            + limits.maxCategoryLength() + " (inctrl.limits.max-category-length)");
        }
    }

    /** The category checks that depend on the version: only bundles with a text tower need (and tokenise) one. */
    private static void validateInline(ScoreCommand.Inline cmd, LoadedModel model) {
        if (!model.manifest().hasTextPrior()) {
            return; // no text tower: the category is accepted and ignored
        }
        if (cmd.category() == null || cmd.category().isBlank()) {
            throw ServeException.invalid(
                    Reason.MISSING_CATEGORY, "inline prompts need a category name (used by the text prior)");
        }
        String longest = longestSentence(cmd.category());
        int tokens = model.tokenCount(longest);
        if (tokens > model.manifest().text().contextLength()) {
            throw ServeException.invalid(
                    Reason.CATEGORY_TOO_LONG,
                    "category '" + cmd.category() + "' is too long: the prompt '" + longest
                            + "' needs " + tokens + " tokens, more than the text encoder's "
                            + model.manifest().text().contextLength());
        }
    }

    private static String longestSentence(String category) {
        PromptTemplates t = PromptTemplates.defaults();
        String longest = "";
        for (List<String> side : List.of(t.normalSentences(category), t.anomalousSentences(category))) {
            for (String s : side) {
                if (s.length() > longest.length()) {
                    longest = s;
                }
            }
        }
        return longest;
    }

    private static void checkDeadline(Instant deadline) {
        if (deadline != null && Instant.now().isAfter(deadline)) {
            throw new ServeException(Reason.DEADLINE_EXCEEDED, "deadline passed before scoring finished");
        }
    }
}
