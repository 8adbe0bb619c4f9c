package io.inctrl.serve.registry;

import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.text.PromptTemplates;
import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.List;

/** Used only while no model adapter bean exists: registry reads work, anything that needs the model is UNAVAILABLE. */
@DefaultBean
@ApplicationScoped
public class UnavailableModelPort implements ModelPort {

    @Override
    public String bundleId() {
        return "none";
    }

    @Override
    public ImageFeatures encodeImages(List<byte[]> images) {
        throw unavailable();
    }

    @Override
    public PromptFeatures promptFeatures(ImageFeatures shots) {
        throw unavailable();
    }

    @Override
    public TextPrior textPrior(PromptTemplates templates, String category) {
        throw unavailable();
    }

    @Override
    public InctrlScores score(ImageFeatures query, PromptFeatures prompts, TextPrior prior) {
        throw unavailable();
    }

    @Override
    public int maxTokens(String sentence) {
        throw unavailable();
    }

    private static RegistryException unavailable() {
        return new RegistryException(RegistryException.Kind.UNAVAILABLE, "MODEL_NOT_LOADED", "no model bundle is loaded");
    }
}
