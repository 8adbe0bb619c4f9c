package io.inctrl.serve.registry;

import io.inctrl.serve.models.ModelChoice;
import io.inctrl.serve.models.ModelRef;
import java.util.List;
import java.util.Optional;

/**
 * What the registry needs from the model layer: the loaded versions and how requests are routed to them. Kept as a
 * port so the registry (and its tests) do not depend on DJL; the production adapter is {@link ModelServicePort}.
 */
public interface ModelPort {

    /**
     * Versions that may serve a request naming {@code choice} (a choice without a model names the default one), best
     * first: the routed version (canary or serving), the serving one, then the others. A registered set is served by
     * the first of them that has encoded it.
     *
     * @throws io.inctrl.serve.error.ServeException NOT_FOUND / UNAVAILABLE when the model has no such loaded version
     */
    List<ModelVersionPort> candidates(ModelChoice choice);

    /** The version that serves {@code model} by default (no canary draw); empty when none is loaded. */
    Optional<ModelVersionPort> serving(String model);

    Optional<ModelVersionPort> version(ModelRef ref);

    /** Every loaded version of {@code model}, highest first. */
    List<ModelVersionPort> versions(String model);

    /** Every loaded version of every model. */
    List<ModelVersionPort> allVersions();

    /**
     * Width and height of an encoded image from its header (no decoding).
     *
     * @throws io.inctrl.serve.error.ServeException INVALID_ARGUMENT naming {@code what} when the header is unreadable
     */
    int[] imageSize(byte[] image, String what);

    /** The model of sets registered without one. */
    String defaultModel();

    /** Token count of a sentence including SOT/EOT with the default model's tokenizer (CLIP's context is 77). */
    int maxTokens(String sentence);

    /**
     * Scores one query image against a registered set as a Score request of {@code tenant} would be scored (same
     * validation, budgets, routing, batcher and metrics).
     */
    ScoredQuery scoreQuery(String tenant, String promptSetId, byte[] image, ModelChoice choice);

    /** A query's scores, the threshold in force for the version that scored it, and who that was. */
    record ScoredQuery(
            io.inctrl.serve.model.InctrlScores scores,
            Optional<Float> threshold,
            ModelRef servedBy,
            String bundleId,
            String queryId) {}
}
