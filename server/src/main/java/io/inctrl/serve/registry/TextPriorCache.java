package io.inctrl.serve.registry;

import io.inctrl.serve.model.TextPrior;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/** Text priors keyed by (template set id, template version, category, bundle id); LRU by entry count. */
public final class TextPriorCache {

    public record Key(String templateId, long templateVersion, String category, String bundleId) {
        public Key {
            // Templates read '_' as ' ' before anything else; case is kept (the CIFAR special case is case-sensitive).
            category = category.replace('_', ' ');
        }
    }

    private final int maxEntries;
    private final Map<Key, TextPrior> map;

    public TextPriorCache(int maxEntries) {
        this.maxEntries = maxEntries;
        this.map = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, TextPrior> eldest) {
                return size() > TextPriorCache.this.maxEntries;
            }
        };
    }

    /** Returns the cached prior or computes it outside the lock (encoding 242 sentences takes a while). */
    public TextPrior get(Key key, Supplier<TextPrior> compute) {
        synchronized (this) {
            TextPrior p = map.get(key);
            if (p != null) {
                return p;
            }
        }
        TextPrior p = compute.get();
        synchronized (this) {
            map.putIfAbsent(key, p);
            return map.get(key);
        }
    }

    public synchronized void invalidateTemplate(String templateId) {
        map.keySet().removeIf(k -> k.templateId().equals(templateId));
    }

    public synchronized int size() {
        return map.size();
    }
}
