package io.inctrl.serve.batching;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * Where one worker runs and how it builds its processor. A factory rather than an instance, so that a
 * worker whose processor failed can throw it away and build a fresh one.
 *
 * @param device            device name, also the worker thread's name ("cpu0", "gpu0")
 * @param processorFactory  builds the worker's processor; called on the worker thread
 */
public record WorkerSpec<I, O>(String device, Supplier<? extends BatchProcessor<I, O>> processorFactory) {

    public WorkerSpec {
        Objects.requireNonNull(device, "device must not be null");
        if (device.isBlank()) {
            throw new IllegalArgumentException("device must not be blank");
        }
        Objects.requireNonNull(processorFactory, "processorFactory must not be null");
    }
}
