package io.inctrl.serve.registry;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.inctrl.serve.model.TextPrior;
import java.util.function.Supplier;

/**
 * Text priors of registered template sets, keyed by (template set id, template version, category, bundle id) and
 * bounded by entry count ({@code inctrl.registry.cache.text-prior-entries}; each entry is two embeddings of a few
 * kilobytes), least recently used first out.
 */
public final class TextPriorCache {

    public record Key(String templateId, long templateVersion, String category, String bundleId) {
        public Key {
            // Templates read '_' as ' ' before anything else; case is kept (the CIFAR special case is case-sensitive).
            category = category.replace('_', ' ');
        }
    }

    private final Cache<Key, TextPrior> cache;

    public TextPriorCache(int maxEntries) {
        this.cache = Caffeine.newBuilder().maximumSize(maxEntries).build();
    }

    /**
     * Returns the cached prior or computes it. Computing (encoding 242 sentences takes a while) holds up only
     * callers of the same key; concurrent first uses of one key encode it once.
     */
    public TextPrior get(Key key, Supplier<TextPrior> compute) {
        return cache.get(key, k -> compute.get());
    }

    public void invalidateTemplate(String templateId) {
        cache.asMap().keySet().removeIf(k -> k.templateId().equals(templateId));
    }

    public int size() {
        cache.cleanUp();
        return (int) cache.estimatedSize();
    }
}
