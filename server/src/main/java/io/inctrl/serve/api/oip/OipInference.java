package io.inctrl.serve.api.oip;

import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.ImageNotes;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.scoring.ScoreCommand;
import io.inctrl.serve.scoring.ScoreResult;
import io.inctrl.serve.scoring.ScoringService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * ModelInfer on the scoring use case, for both transports: every element of the {@code image} tensor is one Score
 * command (same validation, limits, batching and errors as {@code Scorer.Score}) against the prompt set named by the
 * {@code prompt_set_id} parameter or the inline {@code shots} tensor with the {@code category} parameter. The
 * request fails as a whole when one image fails (the protocol has no per-item errors), cancelling the others.
 */
@ApplicationScoped
public class OipInference {

    static final String IMAGE = "image";
    static final String SHOTS = "shots";
    static final String PROMPT_SET_ID = "prompt_set_id";
    static final String CATEGORY = "category";
    /** Inline prompts only: center-crop (default), resize or tiles; a registered set brings its own mode. */
    static final String INSPECTION = "inspection";

    static final String SCORE = "score";
    static final String MAP = "map";
    static final String IS_ANOMALOUS = "is_anomalous";
    static final String S_P = "s_p";
    static final String S_I = "s_i";
    static final String S_A = "s_a";
    static final String S_H = "s_h";

    @Inject
    ScoringService scoring;

    @Inject
    OipModel model;

    @Inject
    InctrlConfig config;

    /**
     * Validates and decodes on the calling thread (it blocks: run it off the event loop), then completes when every
     * image is scored. Cancelling the returned future discards whatever is still queued.
     *
     * @param deadline when the caller stops waiting; null for none
     */
    public CompletableFuture<OipInferResult> infer(OipInferRequest r, String tenant, Instant deadline) {
        io.inctrl.serve.models.ModelChoice choice = model.choice(r.modelName(), r.modelVersion());
        List<String> outputs = requestedOutputs(r.outputs(), model.resolve(r.modelName(), r.modelVersion()));
        OipTensor image = null;
        OipTensor shots = null;
        for (OipTensor t : r.inputs()) {
            switch (t.name()) {
                case IMAGE -> image = bytesInput(t, image);
                case SHOTS -> shots = bytesInput(t, shots);
                default ->
                    throw ServeException.invalid(
                            Reason.UNKNOWN_INPUT,
                            "unknown input '" + LogSafe.of(t.name()) + "': this model takes '" + IMAGE + "' and '"
                                    + SHOTS + "' (BYTES)");
            }
        }
        if (image == null || image.elements().isEmpty()) {
            throw ServeException.invalid(
                    Reason.EMPTY_IMAGE,
                    "input '" + IMAGE + "' is missing or empty: send 1 or more encoded images (BYTES)");
        }
        int limit = config.limits().maxInferBatch();
        if (image.elements().size() > limit) {
            throw ServeException.invalid(
                    Reason.TOO_MANY_IMAGES,
                    image.elements().size() + " images exceed the limit of " + limit
                            + " per request (inctrl.limits.max-infer-batch)");
        }
        ScoreCommand.Prompts prompts = prompts(r, shots);
        List<byte[]> images = image.elements();
        // one request: one routing, and inline shots decoded and encoded once for all its images
        List<CompletableFuture<ScoreResult>> parts = scoring.scoreEachAsync(
                new ScoreCommand(tenant, r.id(), images.get(0), prompts, deadline, choice), images);
        CompletableFuture<OipInferResult> result = new CompletableFuture<>();
        // cancelling what the caller holds (or one image failing) must reach the batcher through each part
        result.whenComplete((v, t) -> parts.forEach(p -> p.cancel(false)));
        AtomicInteger left = new AtomicInteger(parts.size());
        for (int i = 0; i < parts.size(); i++) {
            int index = i;
            parts.get(i).whenComplete((v, t) -> {
                if (t != null) {
                    result.completeExceptionally(located(t, index, parts.size()));
                } else if (left.decrementAndGet() == 0) {
                    List<ScoreResult> done =
                            parts.stream().map(CompletableFuture::join).toList();
                    var servedBy = done.get(0).servedBy();
                    result.complete(new OipInferResult(
                            servedBy.name(), Long.toString(servedBy.version()), r.id(), assemble(done, outputs)));
                }
            });
        }
        return result;
    }

    private ScoreCommand.Prompts prompts(OipInferRequest r, OipTensor shots) {
        Object setId = r.parameters().get(PROMPT_SET_ID);
        Object category = r.parameters().get(CATEGORY);
        if (setId != null && !(setId instanceof String)) {
            throw ServeException.invalid(Reason.BAD_PARAMETER, "parameter '" + PROMPT_SET_ID + "' must be a string");
        }
        if (category != null && !(category instanceof String)) {
            throw ServeException.invalid(Reason.BAD_PARAMETER, "parameter '" + CATEGORY + "' must be a string");
        }
        if (setId != null && !((String) setId).isEmpty()) {
            if (shots != null) {
                throw ServeException.invalid(
                        Reason.AMBIGUOUS_PROMPTS,
                        "send either the '" + PROMPT_SET_ID + "' parameter or the '" + SHOTS + "' input, not both");
            }
            return new ScoreCommand.Registered((String) setId);
        }
        // no shots either: the use case answers NO_PROMPTS, naming both ways
        Object inspection = r.parameters().get(INSPECTION);
        if (inspection != null && !(inspection instanceof String)) {
            throw ServeException.invalid(Reason.BAD_PARAMETER, "parameter '" + INSPECTION + "' must be a string");
        }
        io.inctrl.serve.image.Inspection mode;
        try {
            mode = io.inctrl.serve.image.Inspection.parse((String) inspection);
        } catch (IllegalArgumentException e) {
            throw ServeException.invalid(
                    Reason.INVALID_INSPECTION, "parameter '" + INSPECTION + "': " + e.getMessage());
        }
        return new ScoreCommand.Inline(shots == null ? List.of() : shots.elements(), (String) category, mode);
    }

    private static OipTensor bytesInput(OipTensor t, OipTensor previous) {
        if (previous != null) {
            throw ServeException.invalid(Reason.DUPLICATE_INPUT, "input '" + t.name() + "' is given twice");
        }
        if (!OipTensor.BYTES.equals(t.datatype())) {
            throw ServeException.invalid(
                    Reason.BAD_DATATYPE,
                    "input '" + t.name() + "' must be BYTES (encoded PNG/JPEG/BMP/TIFF images), not "
                            + LogSafe.of(t.datatype(), 16));
        }
        long declared = Arrays.stream(t.shape()).reduce(1, (a, b) -> a * b);
        if (t.shape().length == 0 || declared != t.elements().size()) {
            throw ServeException.invalid(
                    Reason.SHAPE_MISMATCH,
                    "input '" + t.name() + "' has shape " + Arrays.toString(t.shape()) + " but "
                            + t.elements().size() + " elements");
        }
        return t;
    }

    private static List<String> requestedOutputs(List<String> requested, io.inctrl.serve.models.LoadedModel described) {
        List<String> known = OipModel.outputs(described).stream()
                .map(OipModel.TensorSpec::name)
                .toList();
        if (requested.isEmpty()) {
            return known;
        }
        Set<String> wanted = new LinkedHashSet<>(requested);
        for (String name : wanted) {
            if (!known.contains(name)) {
                throw ServeException.invalid(
                        Reason.UNKNOWN_OUTPUT, "unknown output '" + LogSafe.of(name) + "': this model has " + known);
            }
        }
        return known.stream().filter(wanted::contains).toList();
    }

    /** Outputs in metadata order; is_anomalous only when the prompt set has a threshold. */
    private static List<OipOutput> assemble(List<ScoreResult> results, List<String> names) {
        int n = results.size();
        long[] batch = {n};
        List<OipOutput> out = new ArrayList<>();
        for (String name : names) {
            switch (name) {
                case SCORE -> out.add(OipOutput.fp32(name, batch, floats(results, InctrlScores::score)));
                case S_P -> out.add(OipOutput.fp32(name, batch, floats(results, InctrlScores::sP)));
                case S_I -> out.add(OipOutput.fp32(name, batch, floats(results, InctrlScores::sI)));
                case S_A -> out.add(OipOutput.fp32(name, batch, floats(results, InctrlScores::sA)));
                case S_H -> out.add(OipOutput.fp32(name, batch, floats(results, InctrlScores::sH)));
                case MAP -> out.add(map(results));
                case IS_ANOMALOUS -> {
                    Optional<Float> threshold = results.get(0).threshold();
                    if (threshold.isPresent()) {
                        boolean[] flags = new boolean[n];
                        for (int i = 0; i < n; i++) {
                            flags[i] = results.get(i).scores().score() >= threshold.get();
                        }
                        out.add(OipOutput.bool(name, batch, flags));
                    }
                }
                default -> throw new IllegalStateException("output without a mapping: " + name);
            }
        }
        return out;
    }

    private static float[] floats(List<ScoreResult> results, Function<InctrlScores, Float> field) {
        float[] v = new float[results.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = field.apply(results.get(i).scores());
        }
        return v;
    }

    private static OipOutput map(List<ScoreResult> results) {
        InctrlScores first = results.get(0).scores();
        int cells = first.mapHeight() * first.mapWidth();
        float[] all = new float[results.size() * cells];
        for (int i = 0; i < results.size(); i++) {
            InctrlScores s = results.get(i).scores();
            if (s.mapHeight() != first.mapHeight() || s.mapWidth() != first.mapWidth()) {
                // tiles mode: each frame's map has its own size, one tensor cannot hold them
                throw ServeException.invalid(
                        Reason.MAP_SHAPES_DIFFER,
                        "the images' tiled maps differ in size (" + first.mapHeight() + "x" + first.mapWidth() + " vs "
                                + s.mapHeight() + "x" + s.mapWidth() + "); request the map one image at a time");
            }
            System.arraycopy(s.map(), 0, all, i * cells, cells);
        }
        return OipOutput.fp32(MAP, new long[] {results.size(), first.mapHeight(), first.mapWidth()}, all);
    }

    /** With several images, a client error names the one it is about. */
    private static Throwable located(Throwable t, int index, int count) {
        Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        if (count > 1
                && c instanceof ServeException e
                && e.code() != ServeException.Code.INTERNAL
                && !String.valueOf(e.getMessage()).startsWith("image ")) { // decode errors name their image already
            return e.withMessage(ImageNotes.image(index) + ": " + e.getMessage());
        }
        return c;
    }
}
