package io.inctrl.serve.registry;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.PostConstruct;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Work counters of the registry, published as Micrometer counters {@code inctrl.registry.*} (on /q/metrics); tests
 * read the fields to prove scoring by id re-encodes neither shots nor text. A singleton, not a normal scope: the
 * fields are read and written directly, and a client proxy would serve its own copies without creating the instance.
 */
@Singleton
public class RegistryCounters {

    /** Shot images passed to the vision encoder (registration and re-encoding only). */
    public final AtomicLong shotImagesEncoded = new AtomicLong();
    /** Query images encoded by the registry (REST try-it scoring). */
    public final AtomicLong queryImagesEncoded = new AtomicLong();

    public final AtomicLong featureCacheHits = new AtomicLong();
    /** Feature loads from the store (cache misses). */
    public final AtomicLong featureCacheMisses = new AtomicLong();

    public final AtomicLong reencodes = new AtomicLong();
    /** Encodings of sets for a model version that had not encoded them (background or first request). */
    public final AtomicLong encodings = new AtomicLong();

    /** Audit entries of refused attempts that could not be written (changes themselves are never unaudited). */
    public final AtomicLong auditWriteFailures = new AtomicLong();
    /** Audit entries deleted by retention. */
    public final AtomicLong auditEntriesPurged = new AtomicLong();

    /** Absent when the class is built by hand (unit tests without Quarkus). */
    @Inject
    MeterRegistry registry;

    @PostConstruct
    void publish() {
        counter("inctrl.registry.shot.images.encoded", shotImagesEncoded, "shot images passed to the vision encoder");
        counter("inctrl.registry.query.images.encoded", queryImagesEncoded, "query images encoded by the registry");
        counter("inctrl.registry.feature.cache.hits", featureCacheHits, "prompt features served from memory");
        counter("inctrl.registry.feature.cache.misses", featureCacheMisses, "prompt features loaded from the store");
        counter("inctrl.registry.reencodes", reencodes, "prompt sets re-encoded on request");
        counter(
                "inctrl.registry.encodings",
                encodings,
                "prompt sets encoded for a model version that had not encoded them yet");
        counter("inctrl.audit.write.failures", auditWriteFailures, "audit entries of refused attempts not written");
        counter("inctrl.audit.entries.purged", auditEntriesPurged, "audit entries deleted by retention");
    }

    private void counter(String name, AtomicLong value, String description) {
        FunctionCounter.builder(name, value, AtomicLong::get)
                .description(description)
                .register(registry);
    }
}
