package io.inctrl.serve.registry;

import io.inctrl.serve.image.InvalidImageException;
import io.inctrl.serve.inference.InferenceService;
import io.inctrl.serve.logging.InternalErrors;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.ModelService;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.scoring.ImagePipeline;
import io.inctrl.serve.scoring.RequestPixelBudget;
import io.inctrl.serve.scoring.ScoringException;
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
    ImagePipeline images;
    @Inject
    InferenceService inference;
    @Inject
    RequestPixelBudget pixelBudget;

    @Override
    public String bundleId() {
        return model.bundleId();
    }

    @Override
    public EncodedImages encodeImages(List<byte[]> encoded) {
        List<float[]> pixels = new ArrayList<>(encoded.size());
        java.util.function.IntFunction<String> what = i -> encoded.size() == 1 ? "image" : "shot " + i;
        try {
            // the same per-request budget as scoring, from the headers, before anything is decoded
            pixelBudget.check(encoded, what);
            for (int i = 0; i < encoded.size(); i++) {
                pixels.add(images.prepare(encoded.get(i), what.apply(i)).pixels());
            }
        } catch (ScoringException e) {
            throw new RegistryException(RegistryException.Kind.INVALID_ARGUMENT, reason(e), e.getMessage(), e);
        }
        // through the batcher like every other encoding; "registry" is its own fairness lane next to scoring tenants
        try {
            return inference.encodeAll(LANE, pixels, null);
        } catch (ScoringException e) {
            throw unavailable(e);
        }
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
        try {
            return inference.scoreEncoded(LANE, queries, prompts, java.util.Collections.nCopies(queries.count(), prior), null);
        } catch (ScoringException e) {
            throw unavailable(e);
        }
    }

    /** A batcher failure as the registry reports it: queue full stays RESOURCE_EXHAUSTED, the rest UNAVAILABLE. */
    private static RegistryException unavailable(ScoringException e) {
        RegistryException.Kind kind = e.kind() == ScoringException.Kind.RESOURCE_EXHAUSTED
                ? RegistryException.Kind.RESOURCE_EXHAUSTED : RegistryException.Kind.UNAVAILABLE;
        // an INTERNAL failure's message is exception text: the client gets an error id instead
        String message = e.kind() == ScoringException.Kind.INTERNAL
                ? InternalErrors.clientMessage(InternalErrors.log("device work for the registry failed", e))
                : e.getMessage();
        return new RegistryException(kind, "MODEL_" + e.kind().name(), message, e);
    }

    @Override
    public int maxTokens(String sentence) {
        return model.tokenCount(sentence);
    }

    private static String reason(ScoringException e) {
        if (e.getCause() instanceof InvalidImageException iie) {
            return switch (iie.reason()) {
                case EMPTY -> "EMPTY_IMAGE";
                case TOO_MANY_BYTES, TOO_MANY_PIXELS -> "IMAGE_TOO_LARGE";
                case UNDECODABLE -> "UNDECODABLE_IMAGE";
                case UNSUPPORTED_FORMAT -> "UNSUPPORTED_IMAGE";
            };
        }
        return e instanceof RequestPixelBudget.Exceeded ? "PIXEL_BUDGET_EXCEEDED" : "INVALID_IMAGE";
    }
}
