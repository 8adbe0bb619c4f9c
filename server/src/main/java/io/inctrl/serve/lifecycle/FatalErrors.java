package io.inctrl.serve.lifecycle;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Errors after which this process can no longer serve correctly (out of memory, the embedded store closed). Liveness
 * reports DOWN once one is recorded, so the orchestrator restarts the replica instead of keeping a zombie in service.
 */
@ApplicationScoped
public class FatalErrors {

    private final AtomicReference<String> first = new AtomicReference<>();

    public void record(Throwable t) {
        first.compareAndSet(
                null,
                t.getClass().getSimpleName() + ": "
                        + String.valueOf(t.getMessage()).lines().findFirst().orElse(""));
    }

    /** The first fatal error's one-line description, or null while healthy. */
    public String first() {
        return first.get();
    }
}
