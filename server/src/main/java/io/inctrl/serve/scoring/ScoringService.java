package io.inctrl.serve.scoring;

import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.inference.InferenceService;
import io.inctrl.serve.inference.ModelJob;
import io.inctrl.serve.inference.ModelOutput;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.ModelService;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.text.PromptTemplates;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The scoring use case: validate, decode, resolve prompts (inline or registered), then queue the query on the
 * dynamic batcher. Preparation blocks (decoding, inline shot encoding), so callers run it off the event loop.
 */
@ApplicationScoped
public class ScoringService {

    @Inject
    InctrlConfig config;

    @Inject
    ModelService model;

    @Inject
    InferenceService inference;

    @Inject
    PromptSource promptSource;

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

    private Timer decodeTimer;
    private Timer preprocessTimer;
    private Timer encodeTimer;
    private Timer scoreTimer;
    private Timer queueTimer;
    private Timer totalTimer;

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
     * then queues on the dynamic batcher: inline shots are encoded as jobs of their own and the query is queued once
     * they are pooled. Only the text prior of a new inline category blocks the caller. Cancelling the returned future
     * discards whatever is still queued. Failures surface as {@link ServeException}.
     */
    public CompletableFuture<ScoreResult> scoreAsync(ScoreCommand cmd) {
        long start = System.nanoTime();
        io.opentelemetry.context.Context traceParent = io.opentelemetry.context.Context.current();
        validate(cmd);
        checkDeadline(cmd.deadline());
        // budgets first, from the headers: nothing is decoded for a request that would be refused
        List<byte[]> all = new ArrayList<>();
        all.add(cmd.image());
        if (cmd.prompts() instanceof ScoreCommand.Inline inline) {
            all.addAll(inline.shots());
        }
        // a registered set is resolved first: its inspection mode decides how the query is cut into views
        Prompts registered = cmd.prompts() instanceof ScoreCommand.Registered r
                ? registeredPrompts(cmd.tenant(), r.promptSetId())
                : null;
        Inspection mode =
                registered != null ? registered.inspection() : ((ScoreCommand.Inline) cmd.prompts()).inspection();
        long pixels = pixelBudget.check(all, i -> i == 0 ? "image" : "shot " + (i - 1), mode);
        pixelRate.charge(cmd.tenant(), pixels);
        CompletableFuture<List<ImagePipeline.Prepared>> decoding =
                decodePool.prepareAll(all, i -> i == 0 ? "image" : "shot " + (i - 1), mode);
        // while the images decode: the text prior of an inline category is looked up (cached; encoded on first use)
        Prompts known;
        try {
            known = registered != null
                    ? registered
                    : new Prompts(
                            null,
                            model.textPrior(
                                    PromptTemplates.defaults(), ((ScoreCommand.Inline) cmd.prompts()).category()),
                            Optional.empty(),
                            mode);
        } catch (RuntimeException e) {
            decoding.cancel(false);
            throw e;
        }
        List<CompletableFuture<ModelOutput>> queued = new java.util.concurrent.CopyOnWriteArrayList<>();
        CompletableFuture<ScoreResult> result = decoding.thenCompose(
                        prepared -> queue(cmd, start, traceParent, prepared, known, queued))
                .exceptionallyCompose(t -> CompletableFuture.failedFuture(InferenceService.translate(
                        t instanceof java.util.concurrent.CompletionException ? t.getCause() : t)));
        // cancelling what the caller holds must reach the decode pool and the batcher, which see only their futures
        result.whenComplete((r, t) -> {
            if (result.isCancelled()) {
                decoding.cancel(false);
                queued.forEach(f -> f.cancel(false));
            }
        });
        return result;
    }

    /** Queues the shots' encodings (inline) and then the query on the batcher, once every image is decoded. */
    private CompletableFuture<ScoreResult> queue(
            ScoreCommand cmd,
            long start,
            io.opentelemetry.context.Context traceParent,
            List<ImagePipeline.Prepared> prepared,
            Prompts known,
            List<CompletableFuture<ModelOutput>> queued) {
        ImagePipeline.Prepared query = prepared.get(0);
        long decode = 0;
        long preprocess = 0;
        for (ImagePipeline.Prepared p : prepared) {
            decode += p.decodeNanos();
            preprocess += p.preprocessNanos();
        }
        checkDeadline(cmd.deadline());
        CompletableFuture<Prompts> prompts;
        if (cmd.prompts() instanceof ScoreCommand.Inline) {
            List<CompletableFuture<ModelOutput>> shots = new ArrayList<>();
            for (ImagePipeline.Prepared shot : prepared.subList(1, prepared.size())) {
                for (float[] view : shot.views()) { // in tiles mode every tile of every shot joins the prompt pool
                    shots.add(inference.submit(cmd.tenant(), ModelJob.encode(view), cmd.deadline()));
                }
            }
            queued.addAll(shots);
            prompts = AllOrNothing.of(shots)
                    .thenApply(done -> new Prompts(
                            EncodedImages.concat(done.stream()
                                            .map(ModelOutput::encoded)
                                            .toList())
                                    .pool(),
                            known.prior(),
                            Optional.empty(),
                            known.inspection()));
        } else {
            prompts = CompletableFuture.completedFuture(known);
        }
        long decodeNanos = decode;
        long preprocessNanos = preprocess;
        return prompts.thenCompose(p -> {
            List<CompletableFuture<ModelOutput>> views =
                    new ArrayList<>(query.views().size());
            for (float[] view : query.views()) { // one batcher job per tile; the batcher may group them freely
                views.add(
                        inference.submit(cmd.tenant(), ModelJob.score(view, p.features(), p.prior()), cmd.deadline()));
            }
            queued.addAll(views);
            // a tile that fails (deadline, queue full) fails the request at once and cancels its other tiles
            CompletableFuture<ModelOutput> job =
                    AllOrNothing.of(views).thenApply(done -> TileMerge.merge(done, query.tiling()));
            return job.thenApply(out -> {
                long total = System.nanoTime() - start;
                record(decodeNanos, preprocessNanos, out, total);
                ScoreResult r = new ScoreResult(
                        cmd.requestId(),
                        out.scores(),
                        model.bundleId(),
                        p.threshold(),
                        decodeNanos,
                        preprocessNanos,
                        out.encodeNanos(),
                        out.scoreNanos(),
                        out.queueNanos(),
                        total);
                spans.record(traceParent, r, out.batchSize(), out.device());
                return r;
            });
        });
    }

    /** Features are null for inline prompts until their shots are encoded. */
    private record Prompts(
            PromptFeatures features, TextPrior prior, Optional<Float> threshold, Inspection inspection) {}

    private Prompts registeredPrompts(String tenant, String promptSetId) {
        PromptSource.Resolved resolved = promptSource.resolve(tenant, promptSetId);
        return new Prompts(resolved.features(), resolved.prior(), resolved.threshold(), resolved.inspection());
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

    private void validate(ScoreCommand cmd) {
        InctrlConfig.Limits limits = config.limits();
        if (cmd.requestId() != null && cmd.requestId().length() > limits.maxRequestIdLength()) {
            throw ServeException.invalid(
                    Reason.REQUEST_ID_TOO_LONG,
                    "request_id is longer than " + limits.maxRequestIdLength() + " characters");
        }
        if (cmd.image() == null || cmd.image().length == 0) {
            throw ServeException.invalid(
                    Reason.EMPTY_IMAGE, "image is empty: send the encoded PNG/JPEG/BMP/TIFF bytes");
        }
        if (cmd.prompts() instanceof ScoreCommand.Inline inline) {
            validateInline(inline, limits);
        }
    }

    private void validateInline(ScoreCommand.Inline cmd, InctrlConfig.Limits limits) {
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
