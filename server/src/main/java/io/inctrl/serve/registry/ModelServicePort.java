package io.inctrl.serve.registry;

import io.inctrl.serve.image.ImageNotes;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.inference.ModelBatcher;
import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.models.LoadedModel;
import io.inctrl.serve.models.ModelChoice;
import io.inctrl.serve.models.ModelManager;
import io.inctrl.serve.models.ModelRef;
import io.inctrl.serve.models.ModelRouter;
import io.inctrl.serve.scoring.DecodePool;
import io.inctrl.serve.scoring.ImagePipeline;
import io.inctrl.serve.scoring.RequestPixelBudget;
import io.inctrl.serve.scoring.ScoreCommand;
import io.inctrl.serve.scoring.ScoreResult;
import io.inctrl.serve.scoring.ScoringService;
import io.inctrl.serve.text.PromptTemplates;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;

/** The registry's model port on the real model layer: the loaded versions, their router and the image pipeline. */
@ApplicationScoped
public class ModelServicePort implements ModelPort {

    /** The registry's own fairness lane in each version's batcher, next to the scoring tenants. */
    static final String LANE = "registry";

    @Inject
    ModelManager models;

    @Inject
    ModelRouter router;

    @Inject
    DecodePool decodePool;

    /** Lazy: ScoringService resolves registered sets through the registry, which uses this port. */
    @Inject
    jakarta.enterprise.inject.Instance<ScoringService> scoring;

    @Inject
    RequestPixelBudget pixelBudget;

    @Inject
    ImagePipeline images;

    @Override
    public List<ModelVersionPort> candidates(ModelChoice choice) {
        return router.candidates(choice).stream().map(this::port).toList();
    }

    @Override
    public Optional<ModelVersionPort> serving(String model) {
        try {
            return Optional.of(port(router.serving(model)));
        } catch (io.inctrl.serve.error.ServeException e) {
            return Optional.empty();
        }
    }

    @Override
    public Optional<ModelVersionPort> version(ModelRef ref) {
        return models.get(ref).map(this::port);
    }

    @Override
    public List<ModelVersionPort> versions(String model) {
        return models.versions(model).stream().map(this::port).toList();
    }

    @Override
    public List<ModelVersionPort> allVersions() {
        return models.all().stream().map(this::port).toList();
    }

    private ModelVersionPort port(LoadedModel m) {
        return new Version(m, LANE);
    }

    @Override
    public int[] imageSize(byte[] image, String what) {
        return images.declaredSize(image, what);
    }

    @Override
    public String defaultModel() {
        return models.defaultModel();
    }

    @Override
    public int maxTokens(String sentence) {
        List<LoadedModel> v = models.versions(models.defaultModel());
        return v.isEmpty() ? 0 : v.get(0).tokenCount(sentence);
    }

    /** The console's "try it" is a Score request by id: one use case, one queue, the same limits and metrics. */
    @Override
    public ScoredQuery scoreQuery(String tenant, String promptSetId, byte[] image, ModelChoice choice) {
        var command = new ScoreCommand(tenant, "", image, new ScoreCommand.Registered(promptSetId), null, choice);
        try {
            ScoreResult r = scoring.get().scoreAsync(command).join();
            return new ScoredQuery(r.scores(), r.threshold(), r.servedBy(), r.bundleId(), r.queryId());
        } catch (CompletionException e) {
            throw ModelBatcher.translate(e.getCause());
        }
    }

    /** One loaded version behind the port. */
    private final class Version implements ModelVersionPort {
        private final LoadedModel model;
        private final String lane;

        Version(LoadedModel model, String lane) {
            this.model = model;
            this.lane = lane;
        }

        @Override
        public ModelVersionPort inLane(String other) {
            return new Version(model, other);
        }

        @Override
        public ModelRef ref() {
            return model.ref();
        }

        @Override
        public String bundleId() {
            return model.bundleId();
        }

        @Override
        public String encoderId() {
            return model.encoderId();
        }

        @Override
        public String precision() {
            return model.precision();
        }

        @Override
        public int inputSize() {
            return model.preprocess().size();
        }

        @Override
        public boolean hasTextPrior() {
            return model.manifest().hasTextPrior();
        }

        @Override
        public String modeDescription() {
            return model.manifest().modeDescription();
        }

        @Override
        public EncodedShots encodeShots(List<byte[]> encoded, Inspection mode) {
            java.util.function.IntFunction<String> what = ImageNotes::shot;
            // the same per-request budget as scoring, from the headers, before anything is decoded
            pixelBudget.check(encoded, what, mode, model.preprocess().size());
            // too small to show detail: still encoded, but the set's calibration warnings say so
            List<String> warnings = new ArrayList<>();
            for (int i = 0; i < encoded.size(); i++) {
                int[] wh = images.declaredSize(encoded.get(i), what.apply(i));
                ImageNotes.tinyWarning(
                                what.apply(i), wh[0], wh[1], model.preprocess().size())
                        .ifPresent(warnings::add);
            }
            List<float[]> pixels = new ArrayList<>();
            List<Integer> shotOf = new ArrayList<>();
            try {
                List<ImagePipeline.Prepared> prepared = decodePool
                        .prepareAll(encoded, what, mode, model.preprocess())
                        .join();
                for (int i = 0; i < prepared.size(); i++) {
                    for (float[] view : prepared.get(i).views()) {
                        pixels.add(view);
                        shotOf.add(i);
                    }
                }
            } catch (CompletionException e) {
                throw ModelBatcher.translate(e.getCause());
            }
            // through the batcher like every other encoding
            return new EncodedShots(
                    model.batcher().encodeAll(lane, pixels, null),
                    shotOf.stream().mapToInt(Integer::intValue).toArray(),
                    warnings);
        }

        @Override
        public TextPrior textPrior(PromptTemplates templates, String category) {
            try {
                return model.textPrior(templates, category, lane).join();
            } catch (CompletionException e) {
                throw ModelBatcher.translate(e.getCause());
            }
        }

        @Override
        public List<InctrlScores> scoreEach(ImageFeatures queries, List<PromptFeatures> prompts, TextPrior prior) {
            // one job per query (each carries its own leave-one-out prompts)
            return model.batcher()
                    .scoreEncoded(lane, queries, prompts, Collections.nCopies(queries.count(), prior), null);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Version v && v.model == model;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(model);
        }
    }
}
