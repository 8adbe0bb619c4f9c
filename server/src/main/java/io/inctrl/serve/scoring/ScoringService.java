package io.inctrl.serve.scoring;

import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.InctrlEngine;
import io.inctrl.serve.model.ModelService;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.text.PromptTemplates;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The scoring use case: validate, decode, resolve prompts (inline or registered), run the model. Blocking; the API
 * layer calls it off the event loop.
 */
@ApplicationScoped
public class ScoringService {

    @Inject
    InctrlConfig config;

    @Inject
    ModelService model;

    @Inject
    ImagePipeline images;

    @Inject
    PromptSource promptSource;

    public ScoreResult score(ScoreCommand cmd) {
        long start = System.nanoTime();
        validate(cmd);
        checkDeadline(cmd.deadline());
        ImagePipeline.Prepared query = images.prepare(cmd.image(), "image");
        long decode = query.decodeNanos();
        long preprocess = query.preprocessNanos();

        PromptFeatures prompts;
        TextPrior prior;
        Optional<Float> threshold;
        if (cmd.inline()) {
            List<float[]> shotPixels = new ArrayList<>(cmd.shots().size());
            for (int i = 0; i < cmd.shots().size(); i++) {
                ImagePipeline.Prepared shot = images.prepare(cmd.shots().get(i), "shot " + i);
                decode += shot.decodeNanos();
                preprocess += shot.preprocessNanos();
                shotPixels.add(shot.pixels());
            }
            checkDeadline(cmd.deadline());
            EncodedImages encoded = model.withEngine(e -> e.encode(shotPixels));
            prompts = encoded.pool();
            prior = model.textPrior(PromptTemplates.defaults(), cmd.category());
            threshold = Optional.empty();
        } else {
            PromptSource.Resolved resolved = promptSource.resolve(cmd.tenant(), cmd.promptSetId());
            prompts = resolved.features();
            prior = resolved.prior();
            threshold = resolved.threshold();
        }
        checkDeadline(cmd.deadline());
        long queued = System.nanoTime();
        PromptFeatures p = prompts;
        InctrlEngine.ScoredBatch batch = model.withEngine(
                e -> e.run(List.of(query.pixels()), List.of(p), List.of(prior)));
        long queueNanos = 0;
        return new ScoreResult(cmd.requestId(), batch.scores().get(0), model.bundleId(), threshold, decode, preprocess,
                batch.encodeNanos(), batch.scoreNanos(), queueNanos, System.nanoTime() - start);
    }

    private void validate(ScoreCommand cmd) {
        InctrlConfig.Limits limits = config.limits();
        if (cmd.requestId() != null && cmd.requestId().length() > limits.maxRequestIdLength()) {
            throw ScoringException.invalid("request_id is longer than " + limits.maxRequestIdLength() + " characters");
        }
        if (cmd.image() == null || cmd.image().length == 0) {
            throw ScoringException.invalid("image is empty: send the encoded PNG/JPEG/BMP/TIFF bytes");
        }
        if (cmd.inline()) {
            if (cmd.shots() == null || cmd.shots().isEmpty()) {
                throw ScoringException.invalid("no prompts: send inline shots (K >= 1) with a category, or a prompt_set_id");
            }
            if (cmd.shots().size() > limits.maxShots()) {
                throw ScoringException.invalid(cmd.shots().size() + " shots exceed the limit of " + limits.maxShots());
            }
            if (cmd.category() == null || cmd.category().isBlank()) {
                throw ScoringException.invalid("inline prompts need a category name (used by the text prior)");
            }
            if (cmd.category().length() > 100) {
                throw ScoringException.invalid("category is longer than 100 characters");
            }
        }
    }

    private static void checkDeadline(Instant deadline) {
        if (deadline != null && Instant.now().isAfter(deadline)) {
            throw new ScoringException(ScoringException.Kind.DEADLINE_EXCEEDED, "deadline passed before scoring finished");
        }
    }
}
