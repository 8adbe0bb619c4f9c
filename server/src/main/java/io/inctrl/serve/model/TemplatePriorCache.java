package io.inctrl.serve.model;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.inctrl.serve.text.PromptTemplates;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * Text priors keyed by template content and category: the inline categories of Score requests and the edited sets
 * of template previews. Clients choose these keys, so the cache is bounded by an estimate of the bytes it holds
 * (key strings plus the two embeddings); beyond it Caffeine evicts entries (size-based W-TinyLFU policy).
 */
public final class TemplatePriorCache {

    record Key(PromptTemplates templates, String category) {}

    private final Cache<Key, TextPrior> cache;

    public TemplatePriorCache(long maxBytes) {
        this(maxBytes, null);
    }

    /** {@code executor} runs evictions; tests pass {@code Runnable::run} to see them at once. */
    TemplatePriorCache(long maxBytes, Executor executor) {
        Caffeine<Key, TextPrior> b =
                Caffeine.newBuilder().maximumWeight(maxBytes).weigher((Key k, TextPrior p) -> weight(k, p));
        cache = (executor == null ? b : b.executor(executor)).build();
    }

    /** The cached prior, or {@code compute}'s result (stored unless it alone exceeds the bound). */
    public TextPrior get(PromptTemplates templates, String category, Supplier<TextPrior> compute) {
        return cache.get(new Key(templates, category), k -> compute.get());
    }

    /** The cached prior or null. */
    public TextPrior getIfPresent(PromptTemplates templates, String category) {
        return cache.getIfPresent(new Key(templates, category));
    }

    public long size() {
        cache.cleanUp();
        return cache.estimatedSize();
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
