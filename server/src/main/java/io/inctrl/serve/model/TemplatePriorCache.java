package io.inctrl.serve.model;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.inctrl.serve.text.PromptTemplates;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * The text priors of one loaded model version, keyed by template content and category: registered template sets,
 * inline categories of Score requests and the edited sets of template previews alike (one cache, so a prior is never
 * encoded twice on one version). Clients choose these keys, so the cache is bounded by an estimate of the bytes it
 * holds (key strings plus the two embeddings); beyond it Caffeine evicts entries (size-based W-TinyLFU policy).
 * Entries are futures: concurrent first uses of a key share one encoding, and nobody holds a lock while it runs.
 */
public final class TemplatePriorCache {

    record Key(PromptTemplates templates, String category) {}

    private final AsyncCache<Key, TextPrior> cache;

    public TemplatePriorCache(long maxBytes) {
        this(maxBytes, null);
    }

    /** {@code executor} runs evictions; tests pass {@code Runnable::run} to see them at once. */
    TemplatePriorCache(long maxBytes, Executor executor) {
        Caffeine<Key, TextPrior> b =
                Caffeine.newBuilder().maximumWeight(maxBytes).weigher((Key k, TextPrior p) -> weight(k, p));
        cache = (executor == null ? b : b.executor(executor)).buildAsync();
    }

    /**
     * The cached prior, or {@code compute}'s (started once for all concurrent callers of the key; a failed
     * computation is not kept, so the next call tries again).
     */
    public CompletableFuture<TextPrior> get(
            PromptTemplates templates, String category, Supplier<CompletableFuture<TextPrior>> compute) {
        return cache.get(new Key(templates, category), (k, executor) -> compute.get());
    }

    /** The cached prior or null (also while it is still being computed). */
    public TextPrior getIfPresent(PromptTemplates templates, String category) {
        CompletableFuture<TextPrior> f = cache.getIfPresent(new Key(templates, category));
        return f != null && f.isDone() && !f.isCompletedExceptionally() ? f.join() : null;
    }

    public long size() {
        cache.synchronous().cleanUp();
        return cache.synchronous().estimatedSize();
    }

    /** Bytes the cache may hold (its bound, for memory accounting). */
    public long maxBytes() {
        return cache.synchronous().policy().eviction().map(e -> e.getMaximum()).orElse(0L);
    }

    /** Rough bytes: 2 per key character, 4 per float, plus object overheads. */
    static int weight(Key k, TextPrior p) {
        long chars = k.category().length()
                + chars(k.templates().normalStates())
                + chars(k.templates().anomalousStates())
                + chars(k.templates().templates());
        long bytes = 256 + 2 * chars + 4L * (p.normal().length + p.anomalous().length);
        return (int) Math.min(Integer.MAX_VALUE, bytes);
    }

    private static long chars(List<String> items) {
        long n = 0;
        for (String s : items) {
            n += s.length() + 40;
        }
        return n;
    }
}
