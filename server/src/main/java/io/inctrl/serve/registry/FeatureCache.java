package io.inctrl.serve.registry;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.inctrl.serve.model.PromptFeatures;
import java.util.concurrent.Executor;

/**
 * Decoded prompt features of encodings (set, revision, encoder), bounded by the bytes of their float arrays
 * (Caffeine, size-based eviction). Entries carry the encoding version they were decoded from, so a stale entry is never
 * served even if an invalidation was missed.
 */
public final class FeatureCache {

    /** One encoding of one revision of a set. */
    public record Key(String setId, long revision, String encoder) {}

    private record Entry(long version, PromptFeatures features) {}

    private final Cache<Key, Entry> cache;
    private final long maxBytes;

    public FeatureCache(long maxBytes) {
        this(maxBytes, null);
    }

    /** {@code executor} runs evictions; tests pass {@code Runnable::run} to see them at once. */
    FeatureCache(long maxBytes, Executor executor) {
        this.maxBytes = maxBytes;
        Caffeine<Key, Entry> b = Caffeine.newBuilder().maximumWeight(maxBytes).weigher((Key k, Entry e) ->
                (int) Math.min(Integer.MAX_VALUE, e.features().sizeInBytes()));
        cache = (executor == null ? b : b.executor(executor)).build();
    }

    public PromptFeatures get(Key key, long version) {
        Entry e = cache.getIfPresent(key);
        return e != null && e.version == version ? e.features : null;
    }

    public void put(Key key, long version, PromptFeatures f) {
        if (f.sizeInBytes() > maxBytes) {
            cache.invalidate(key); // would evict everything and still not fit
            return;
        }
        cache.put(key, new Entry(version, f));
    }

    /** Drops every encoding of a set. */
    public void invalidate(String setId) {
        cache.asMap().keySet().removeIf(k -> k.setId().equals(setId));
    }

    public void clear() {
        cache.invalidateAll();
    }

    /** Bytes held (after pending evictions). */
    public long bytes() {
        cache.cleanUp();
        return cache.policy().eviction().map(e -> e.weightedSize().orElse(0L)).orElse(0L);
    }

    public long size() {
        cache.cleanUp();
        return cache.estimatedSize();
    }

    /** Whether any encoding of the set is held. */
    public boolean contains(String setId) {
        cache.cleanUp();
        return cache.asMap().keySet().stream().anyMatch(k -> k.setId().equals(setId));
    }
}
