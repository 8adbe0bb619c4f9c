package io.inctrl.serve.inference;

import io.inctrl.serve.batching.BatchProcessor;
import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlEngine;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs one batch of {@link ModelJob}s on one device's engine: a single vision forward for every job that carries
 * pixels (encode and score mixed), one residual/heads pass for the already-encoded queries, and the text tower for
 * text-prior jobs (one ensemble each: their sentence counts differ, so they are not stacked).
 */
final class EngineBatchProcessor implements BatchProcessor<ModelJob, ModelOutput> {

    private final InctrlEngine engine;

    EngineBatchProcessor(InctrlEngine engine) {
        this.engine = engine;
    }

    @Override
    public List<ModelOutput> process(List<ModelJob> batch) {
        long start = System.nanoTime();
        String device = engine.device().toString();
        ModelOutput[] result = new ModelOutput[batch.size()];

        List<Integer> forward = new ArrayList<>();
        List<Integer> encoded = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            ModelJob job = batch.get(i);
            if (job instanceof ModelJob.Text t) {
                long t0 = System.nanoTime();
                TextPrior prior = engine.textPrior(t.normal(), t.anomalous());
                result[i] = new ModelOutput(
                        null, null, prior, batch.size(), device, queued(job, start), System.nanoTime() - t0, 0);
            } else {
                (job instanceof ModelJob.ScoreEncoded ? encoded : forward).add(i);
            }
        }
        if (!forward.isEmpty()) {
            List<float[]> pixels = new ArrayList<>(forward.size());
            List<PromptFeatures> prompts = new ArrayList<>(forward.size());
            List<TextPrior> priors = new ArrayList<>(forward.size());
            for (int i : forward) {
                ModelJob job = batch.get(i);
                if (job instanceof ModelJob.Score s) {
                    pixels.add(s.pixels());
                    prompts.add(s.prompts());
                    priors.add(s.prior());
                } else {
                    pixels.add(((ModelJob.Encode) job).pixels());
                    prompts.add(null); // encode only
                    priors.add(null);
                }
            }
            InctrlEngine.BatchOutput out = engine.process(pixels, prompts, priors);
            for (int r = 0; r < forward.size(); r++) {
                int i = forward.get(r);
                result[i] = new ModelOutput(
                        out.encoded().get(r),
                        out.scores().get(r),
                        batch.size(),
                        device,
                        queued(batch.get(i), start),
                        out.encodeNanos(),
                        out.scoreNanos());
            }
        }
        if (!encoded.isEmpty()) {
            long t0 = System.nanoTime();
            List<ImageFeatures> queries = new ArrayList<>(encoded.size());
            List<PromptFeatures> prompts = new ArrayList<>(encoded.size());
            List<TextPrior> priors = new ArrayList<>(encoded.size());
            for (int i : encoded) {
                ModelJob.ScoreEncoded j = (ModelJob.ScoreEncoded) batch.get(i);
                queries.add(j.query());
                prompts.add(j.prompts());
                priors.add(j.prior());
            }
            List<InctrlScores> scores = engine.score(ImageFeatures.concat(queries), prompts, priors);
            long scoreNanos = System.nanoTime() - t0;
            for (int r = 0; r < encoded.size(); r++) {
                int i = encoded.get(r);
                result[i] = new ModelOutput(
                        null, scores.get(r), batch.size(), device, queued(batch.get(i), start), 0, scoreNanos);
            }
        }
        return List.of(result);
    }

    private static long queued(ModelJob job, long start) {
        return Math.max(0, start - job.submittedNanos());
    }
}
