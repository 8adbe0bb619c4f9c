package io.inctrl.serve.api.grpc;

import io.grpc.Context;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.StageTimings;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.scoring.ScoreCommand;
import io.inctrl.serve.scoring.ScoreResult;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/** Proto ↔ use-case conversions for the Scorer service. */
final class ScoreMessages {

    private ScoreMessages() {}

    static ScoreCommand command(ScoreRequest r, String tenant, Context context) {
        // a request that sets neither prompts field is an empty inline one: validation names what is missing
        ScoreCommand.Prompts prompts = !r.getPromptSetId().isEmpty()
                ? new ScoreCommand.Registered(r.getPromptSetId())
                : new ScoreCommand.Inline(
                        r.getInline().getShotsList().stream()
                                .map(b -> b.toByteArray())
                                .toList(),
                        r.hasInline() ? r.getInline().getCategory() : null,
                        InspectionMessages.fromProto(r.getInline().getInspection()));
        Instant deadline = null;
        if (context != null && context.getDeadline() != null) {
            deadline = Instant.now().plusNanos(context.getDeadline().timeRemaining(TimeUnit.NANOSECONDS));
        }
        return new ScoreCommand(
                tenant,
                r.getRequestId(),
                r.getImage().toByteArray(),
                prompts,
                deadline,
                choice(r.getModel(), r.getModelVersion()));
    }

    static ScoreResponse response(ScoreResult res, boolean omitMap) {
        InctrlScores s = res.scores();
        ScoreResponse.Builder b = ScoreResponse.newBuilder()
                .setRequestId(nullToEmpty(res.requestId()))
                .setScore(s.score())
                .setSP(s.sP())
                .setMapHeight(s.mapHeight())
                .setMapWidth(s.mapWidth())
                .setBundleId(res.bundleId())
                .setModel(res.servedBy().name())
                .setModelVersion(res.servedBy().version())
                .setQueryId(nullToEmpty(res.queryId()))
                .setTimings(StageTimings.newBuilder()
                        .setDecodeUs(res.decodeNanos() / 1000)
                        .setPreprocessUs(res.preprocessNanos() / 1000)
                        .setEncodeUs(res.encodeNanos() / 1000)
                        .setScoreUs(res.scoreNanos() / 1000)
                        .setQueueUs(res.queueNanos() / 1000)
                        .setTotalUs(res.totalNanos() / 1000));
        if (s.sH() != null) {
            b.setSH(s.sH());
        }
        if (s.sI() != null) {
            b.setSI(s.sI());
        }
        if (s.sA() != null) {
            b.setSA(s.sA());
        }
        if (!omitMap) {
            for (float v : s.map()) {
                b.addMap(v);
            }
        }
        res.threshold().ifPresent(t -> b.setThreshold(t).setIsAnomalous(s.score() >= t));
        return b.build();
    }

    /** A request's model and version fields; a negative version is refused like any invalid field. */
    static io.inctrl.serve.models.ModelChoice choice(String model, long version) {
        if (version < 0) {
            throw io.inctrl.serve.error.ServeException.invalid(
                    Reason.INVALID_MODEL_VERSION,
                    "model_version must be >= 0 (0 = the routed version), got " + version);
        }
        return io.inctrl.serve.models.ModelChoice.of(model, version);
    }

    static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
