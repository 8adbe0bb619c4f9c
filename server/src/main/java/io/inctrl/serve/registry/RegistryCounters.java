package io.inctrl.serve.registry;

import jakarta.enterprise.context.ApplicationScoped;

import java.util.concurrent.atomic.AtomicLong;

/** Work counters of the registry; tests use them to prove scoring by id re-encodes neither shots nor text. */
@ApplicationScoped
public class RegistryCounters {

    /** Shot images passed to the vision encoder (registration and re-encoding only). */
    public final AtomicLong shotImagesEncoded = new AtomicLong();
    /** Text priors computed (cache misses of the text-prior cache). */
    public final AtomicLong textPriorsEncoded = new AtomicLong();
    /** Query images encoded by {@link PromptSetService#score}. */
    public final AtomicLong queryImagesEncoded = new AtomicLong();
    public final AtomicLong featureCacheHits = new AtomicLong();
    /** Feature loads from the store (cache misses). */
    public final AtomicLong featureCacheMisses = new AtomicLong();
    public final AtomicLong reencodes = new AtomicLong();
}
