package io.inctrl.serve.scoring;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.models.ModelChoice;
import io.inctrl.serve.models.ModelRef;
import java.time.Instant;
import java.util.Optional;

/** Registered prompt sets, looked up by id for the calling tenant (implemented by the prompt registry). */
public interface PromptSource {

    /**
     * What scoring needs from a registered set, for the model version that serves it.
     *
     * @param servedBy the loaded version whose encoding {@code features} are: the query must run on it
     * @param drift    what that encoding's calibration expects of normal traffic (null: not watched for drift)
     */
    record Resolved(
            PromptFeatures features,
            TextPrior prior,
            Optional<Float> threshold,
            Inspection inspection,
            ModelRef servedBy,
            io.inctrl.serve.drift.Baseline drift) {}

    /**
     * @param choice   the model (and version) the request names; ANY = the set's own model
     * @param deadline when the caller stops waiting (a set being encoded for the routed version is waited for)
     * @throws ServeException NOT_FOUND when the set does not exist or belongs to another tenant (indistinguishable)
     */
    Resolved resolve(String tenant, String promptSetId, ModelChoice choice, Instant deadline);

    /**
     * The set as {@code version} has encoded it, or empty when that version has not (never encodes; for shadow
     * scoring).
     */
    Optional<Resolved> resolveEncoded(String tenant, String promptSetId, ModelRef version);
}
