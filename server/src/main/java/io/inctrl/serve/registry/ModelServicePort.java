package io.inctrl.serve.registry;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.inference.InferenceService;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.ModelService;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.scoring.ImagePipeline;
import io.inctrl.serve.scoring.RequestPixelBudget;
import io.inctrl.serve.text.PromptTemplates;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.util.ArrayList;
import java.util.List;

/** The registry's model port on the real model core: the scoring image pipeline and the loaded bundle. */
@ApplicationScoped
public class ModelServicePort implements ModelPort {

    /** Calibration queries per scoring call: each carries its own prompt tensors, so this bounds memory. */
    static final int ENCODE_CHUNK = 8;
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
        // the same per-request budget as scoring, from the headers, before anything is decoded; refusals arrive as
        // ServeException INVALID_ARGUMENT with the image's reason code
        pixelBudget.check(encoded, what);
        for (int i = 0; i < encoded.size(); i++) {
            pixels.add(images.prepare(encoded.get(i), what.apply(i)).pixels());
        }
        // through the batcher like every other encoding; "registry" is its own fairness lane next to scoring tenants
        return inference.encodeAll(LANE, pixels, null);
    }

    @Override
    public TextPrior textPrior(PromptTemplates templates, String category) {
        return model.textPrior(templates, category);
    }

    @Override
    public InctrlScores score(ImageFeatures query, PromptFeatures prompts, TextPrior prior) {
        return model.score(query, prompts, prior);
    }

    @Override
    public List<InctrlScores> scoreEach(ImageFeatures queries, List<PromptFeatures> prompts, TextPrior prior) {
        // chunks: each query carries its own prompt tensors (leave-one-out), which bounds device memory per call
        List<InctrlScores> out = new ArrayList<>(queries.count());
        for (int s = 0; s < queries.count(); s += ENCODE_CHUNK) {
            int end = Math.min(queries.count(), s + ENCODE_CHUNK);
            ImageFeatures q = slice(queries, s, end);
            List<PromptFeatures> p = prompts.subList(s, end);
            List<TextPrior> priors = java.util.Collections.nCopies(end - s, prior);
            out.addAll(model.engines().get(0).score(q, p, priors)); // thread-safe, off the batcher (as ModelService.score)
        }
        return out;
    }

    private static ImageFeatures slice(ImageFeatures f, int from, int to) {
        if (from == 0 && to == f.count()) {
            return f;
        }
        int n = to - from;
        int per = f.patches() * f.width();
        float[] g = java.util.Arrays.copyOfRange(f.g(), from * f.embedDim(), to * f.embedDim());
        float[][] taps = new float[f.taps().length][];
        for (int l = 0; l < taps.length; l++) {
            taps[l] = java.util.Arrays.copyOfRange(f.taps()[l], from * per, to * per);
        }
        return new ImageFeatures(n, f.embedDim(), f.patches(), f.width(), g, taps);
    }

    @Override
    public int maxTokens(String sentence) {
        return model.tokenCount(sentence);
    }
}
