package io.inctrl.serve.inference;

import io.inctrl.serve.batching.BatchProcessor;
import io.inctrl.serve.model.InctrlEngine;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import java.util.ArrayList;
import java.util.List;

/** Runs one batch of {@link ModelJob}s on one device's engine: a single vision forward for all of them. */
final class EngineBatchProcessor implements BatchProcessor<ModelJob, ModelOutput> {

    private final InctrlEngine engine;

    EngineBatchProcessor(InctrlEngine engine) {
        this.engine = engine;
    }

    @Override
    public List<ModelOutput> process(List<ModelJob> batch) {
        long start = System.nanoTime();
        List<float[]> pixels = new ArrayList<>(batch.size());
        List<PromptFeatures> prompts = new ArrayList<>(batch.size());
        List<TextPrior> priors = new ArrayList<>(batch.size());
        for (ModelJob job : batch) {
            pixels.add(job.pixels());
            prompts.add(job.prompts());
            priors.add(job.prior());
        }
        InctrlEngine.BatchOutput out = engine.process(pixels, prompts, priors);
        String device = engine.device().toString();
        List<ModelOutput> result = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            result.add(new ModelOutput(out.encoded().get(i), out.scores().get(i), batch.size(), device,
                    Math.max(0, start - batch.get(i).submittedNanos()), out.encodeNanos(), out.scoreNanos()));
        }
        return result;
    }
}
