package io.inctrl.serve.registry;

import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.inference.InferenceService;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.ModelService;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.scoring.DecodePool;
import io.inctrl.serve.scoring.ImagePipeline;
import io.inctrl.serve.scoring.RequestPixelBudget;
import io.inctrl.serve.scoring.ScoreCommand;
import io.inctrl.serve.scoring.ScoringService;
import io.inctrl.serve.text.PromptTemplates;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;

/** The registry's model port on the real model core: the scoring image pipeline and the loaded bundle. */
@ApplicationScoped
public class ModelServicePort implements ModelPort {

    static final String LANE = "registry";

    @Inject
    ModelService model;

    @Inject
    DecodePool decodePool;

    @Inject
    InferenceService inference;
    /** Lazy: ScoringService resolves registered sets through the registry, which uses this port. */
    @Inject
    jakarta.enterprise.inject.Instance<ScoringService> scoring;

    @Inject
    RequestPixelBudget pixelBudget;

    @Inject
    ImagePipeline images;

    @Override
    public int[] imageSize(byte[] image, String what) {
        return images.declaredSize(image, what);
    }

    @Override
    public int inputSize() {
        return images.inputSize();
    }

    @Override
    public String bundleId() {
        return model.bundleId();
    }

    @Override
    public EncodedImages encodeImages(List<byte[]> encoded) {
        List<float[]> pixels = new ArrayList<>(encoded.size());
        java.util.function.IntFunction<String> what = i -> encoded.size() == 1 ? "image" : "shot " + i;
        // the same per-request budget as scoring, from the headers, before anything is decoded; refusals arrive as
        // ServeException INVALID_ARGUMENT with the image's reason code
        pixelBudget.check(encoded, what);
        try {
            decodePool.prepareAll(encoded, what).join().forEach(p -> pixels.add(p.pixels()));
        } catch (java.util.concurrent.CompletionException e) {
            throw InferenceService.translate(e.getCause());
        }
        // through the batcher like every other encoding; "registry" is its own fairness lane next to scoring tenants
        return inference.encodeAll(LANE, pixels, null);
    }

    @Override
    public EncodedShots encodeShots(List<byte[]> encoded, Inspection mode) {
        java.util.function.IntFunction<String> what = i -> encoded.size() == 1 ? "image" : "shot " + i;
        pixelBudget.check(encoded, what, mode);
        List<float[]> pixels = new ArrayList<>();
        List<Integer> shotOf = new ArrayList<>();
        try {
            List<ImagePipeline.Prepared> prepared =
                    decodePool.prepareAll(encoded, what, mode).join();
            for (int i = 0; i < prepared.size(); i++) {
                for (float[] view : prepared.get(i).views()) {
                    pixels.add(view);
                    shotOf.add(i);
                }
            }
        } catch (java.util.concurrent.CompletionException e) {
            throw InferenceService.translate(e.getCause());
        }
        return new EncodedShots(
                inference.encodeAll(LANE, pixels, null),
                shotOf.stream().mapToInt(Integer::intValue).toArray());
    }

    @Override
    public TextPrior textPrior(PromptTemplates templates, String category) {
        return model.textPrior(templates, category);
    }

    @Override
    public InctrlScores score(ImageFeatures query, PromptFeatures prompts, TextPrior prior) {
        return scoreEach(query, List.of(prompts), prior).get(0);
    }

    @Override
    public List<InctrlScores> scoreEach(ImageFeatures queries, List<PromptFeatures> prompts, TextPrior prior) {
        // through the batcher like every device pass, one job per query (each carries its own leave-one-out prompts)
        return inference.scoreEncoded(
                LANE, queries, prompts, java.util.Collections.nCopies(queries.count(), prior), null);
    }

    /** The console's "try it" is a Score request by id: one use case, one queue, the same limits and metrics. */
    @Override
    public InctrlScores scoreQuery(String tenant, String promptSetId, byte[] image, ResolvedPromptSet resolved) {
        var command = new ScoreCommand(tenant, "", image, new ScoreCommand.Registered(promptSetId), null);
        try {
            return scoring.get().scoreAsync(command).join().scores();
        } catch (java.util.concurrent.CompletionException e) {
            throw InferenceService.translate(e.getCause());
        }
    }

    @Override
    public int maxTokens(String sentence) {
        return model.tokenCount(sentence);
    }
}
