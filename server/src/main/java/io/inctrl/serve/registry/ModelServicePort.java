package io.inctrl.serve.registry;

import io.inctrl.serve.image.InvalidImageException;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.ModelService;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.scoring.ImagePipeline;
import io.inctrl.serve.scoring.ScoringException;
import io.inctrl.serve.text.PromptTemplates;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.util.ArrayList;
import java.util.List;

/** The registry's model port on the real model core: the scoring image pipeline and the loaded bundle. */
@ApplicationScoped
public class ModelServicePort implements ModelPort {

    /** Shots per vision forward: bounds device memory for large K. */
    static final int ENCODE_CHUNK = 8;

    @Inject
    ModelService model;
    @Inject
    ImagePipeline images;

    @Override
    public String bundleId() {
        return model.bundleId();
    }

    @Override
    public EncodedImages encodeImages(List<byte[]> encoded) {
        List<float[]> pixels = new ArrayList<>(encoded.size());
        for (int i = 0; i < encoded.size(); i++) {
            String what = encoded.size() == 1 ? "image" : "shot " + i;
            try {
                pixels.add(images.prepare(encoded.get(i), what).pixels());
            } catch (ScoringException e) {
                throw new RegistryException(RegistryException.Kind.INVALID_ARGUMENT, reason(e), e.getMessage(), e);
            }
        }
        List<EncodedImages> parts = new ArrayList<>();
        for (int s = 0; s < pixels.size(); s += ENCODE_CHUNK) {
            List<float[]> chunk = pixels.subList(s, Math.min(pixels.size(), s + ENCODE_CHUNK));
            parts.add(model.withEngine(e -> e.encode(chunk)));
        }
        return concat(parts);
    }

    @Override
    public TextPrior textPrior(PromptTemplates templates, String category) {
        return model.textPrior(templates, category);
    }

    @Override
    public InctrlScores score(ImageFeatures query, PromptFeatures prompts, TextPrior prior) {
        return model.withEngine(e -> e.score(query, List.of(prompts), List.of(prior))).get(0);
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
            out.addAll(model.withEngine(e -> e.score(q, p, priors)));
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

    private static String reason(ScoringException e) {
        if (e.getCause() instanceof InvalidImageException iie) {
            return switch (iie.reason()) {
                case EMPTY -> "EMPTY_IMAGE";
                case TOO_MANY_BYTES, TOO_MANY_PIXELS -> "IMAGE_TOO_LARGE";
                case UNDECODABLE -> "UNDECODABLE_IMAGE";
                case UNSUPPORTED_FORMAT -> "UNSUPPORTED_IMAGE";
            };
        }
        return "INVALID_IMAGE";
    }

    static EncodedImages concat(List<EncodedImages> parts) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        ImageFeatures f0 = parts.get(0).features();
        int n = parts.stream().mapToInt(p -> p.features().count()).sum();
        int per = f0.patches() * f0.width();
        float[] g = new float[n * f0.embedDim()];
        float[] adapted = new float[n * f0.embedDim()];
        float[][] taps = new float[f0.taps().length][n * per];
        int at = 0;
        for (EncodedImages p : parts) {
            ImageFeatures f = p.features();
            System.arraycopy(f.g(), 0, g, at * f0.embedDim(), f.g().length);
            System.arraycopy(p.adapted(), 0, adapted, at * f0.embedDim(), p.adapted().length);
            for (int l = 0; l < taps.length; l++) {
                System.arraycopy(f.taps()[l], 0, taps[l], at * per, f.taps()[l].length);
            }
            at += f.count();
        }
        return new EncodedImages(new ImageFeatures(n, f0.embedDim(), f0.patches(), f0.width(), g, taps), adapted);
    }
}
