package io.inctrl.serve.api.rest;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.registry.ModelPort;
import io.inctrl.serve.registry.ModelVersionPort;
import io.inctrl.serve.registry.TemplateService;
import io.inctrl.serve.text.PromptTemplates;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.List;
import org.jboss.resteasy.reactive.RestForm;
import org.jboss.resteasy.reactive.multipart.FileUpload;

/**
 * Dry runs of an edited (unsaved) text-prompt template set for the console: the sentences it yields for a
 * category with their token counts, and the text prior s_a it gives an image next to the built-in defaults.
 * Nothing is stored; any authenticated caller may use it (no tenant data is read). The edited set obeys the registry's
 * rules and bounds ({@link TemplateService#validate}, {@code inctrl.registry.templates.*}).
 */
@Path("/v1/templates/preview")
@Produces(MediaType.APPLICATION_JSON)
public class TemplatePreviewResource {

    /** An edited template set (the body of POST /v1/templates) plus the category to fill in. */
    public record PreviewRequest(
            String category, List<String> normalStates, List<String> anomalousStates, List<String> templates) {}

    public record Sentence(String text, int tokens, boolean tooLong) {}

    /** {@code tooLong} counts sentences over {@code maxTokens}; saving such a set fails with SENTENCE_TOO_LONG. */
    public record PreviewView(
            String category, int maxTokens, List<Sentence> normal, List<Sentence> anomalous, int tooLong) {}

    /** s_a of one image under the edited set and under the defaults; {@code delta} = edited − defaults. */
    public record PreviewScoreView(String category, Float editedSA, Float defaultSA, Float delta, String bundleId) {}

    @Inject
    ModelPort model;

    @Inject
    ObjectMapper json;

    @Inject
    TemplateService templateService;

    /**
     * Templates are previewed on the default model's serving version; a vision-only bundle has no text tower, so
     * there is nothing to preview (409 instead of a tokenizer failure).
     */
    private ModelVersionPort requireTextEncoder() {
        ModelVersionPort v = model.serving(model.defaultModel())
                .orElseThrow(() -> new ServeException(
                        Reason.MODEL_NOT_LOADED, "the default model has no loaded version on this replica"));
        if (!v.hasTextPrior()) {
            throw new ServeException(
                    Reason.NO_TEXT_ENCODER,
                    v.ref() + " (bundle " + v.bundleId() + ") is not InCTRL (" + v.modeDescription()
                            + "): it has no text encoder, so text-prompt templates have no effect");
        }
        return v;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public PreviewView preview(PreviewRequest r) {
        requireTextEncoder();
        if (r == null) {
            throw ServeException.invalid(
                    Reason.MISSING_BODY,
                    "a JSON body {category, normalStates, anomalousStates, templates} is required");
        }
        String category = category(r.category());
        PromptTemplates t = templateService.validate(r.normalStates(), r.anomalousStates(), r.templates());
        List<Sentence> normal = count(t.normalSentences(category));
        List<Sentence> anomalous = count(t.anomalousSentences(category));
        int tooLong = (int) (normal.stream().filter(Sentence::tooLong).count()
                + anomalous.stream().filter(Sentence::tooLong).count());
        return new PreviewView(category, TemplateService.MAX_TOKENS, normal, anomalous, tooLong);
    }

    /**
     * Multipart: {@code image} (file), {@code category}, and optionally {@code templates}, a JSON object
     * {normalStates, anomalousStates, templates}; without it the edited set is the defaults.
     */
    @POST
    @Path("/score")
    @Consumes(MediaType.MULTIPART_FORM_DATA)
    public PreviewScoreView score(
            @RestForm("image") FileUpload image,
            @RestForm("category") String category,
            @RestForm("templates") String templatesJson) {
        ModelVersionPort v = requireTextEncoder();
        String cat = category(category);
        PromptTemplates edited = PromptTemplates.defaults();
        if (templatesJson != null && !templatesJson.isBlank()) {
            PreviewRequest r;
            try {
                r = json.readValue(templatesJson, PreviewRequest.class);
            } catch (IOException e) {
                throw ServeException.invalid(
                        Reason.MALFORMED_TEMPLATES,
                        "part 'templates' must be a JSON object {normalStates, anomalousStates, templates}");
            }
            edited = templateService.validate(r.normalStates(), r.anomalousStates(), r.templates());
        }
        // a set that cannot be saved cannot be previewed either: CLIP would silently truncate long sentences
        templateService.checkSentences(edited, cat);
        byte[] bytes = read(image);
        EncodedImages enc = v.encodeImages(List.of(bytes));
        // s_a depends only on the image and the text prior; the image as its own shot satisfies the score call
        var self = enc.pool();
        InctrlScores e = v.score(enc.features(), self, v.textPrior(edited, cat));
        InctrlScores d = v.score(enc.features(), self, v.textPrior(PromptTemplates.defaults(), cat));
        Float delta = e.sA() == null || d.sA() == null ? null : e.sA() - d.sA();
        return new PreviewScoreView(cat, e.sA(), d.sA(), delta, v.bundleId());
    }

    private List<Sentence> count(List<String> sentences) {
        return sentences.stream()
                .map(s -> {
                    int n = model.maxTokens(s);
                    return new Sentence(s, n, n > TemplateService.MAX_TOKENS);
                })
                .toList();
    }

    private static String category(String category) {
        String c = category == null ? "" : category.strip();
        if (c.isEmpty() || c.length() > 128) {
            throw ServeException.invalid(Reason.INVALID_CATEGORY, "category must be 1-128 characters");
        }
        return c;
    }

    private static byte[] read(FileUpload image) {
        if (image == null) {
            throw ServeException.invalid(Reason.EMPTY_IMAGE, "a multipart part named 'image' is required");
        }
        try {
            byte[] b = Files.readAllBytes(image.uploadedFile());
            if (b.length == 0) {
                throw ServeException.invalid(Reason.EMPTY_IMAGE, "image is empty (0 bytes)");
            }
            return b;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
