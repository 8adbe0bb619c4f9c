package io.inctrl.serve.registry;

import io.inctrl.serve.model.PromptFeatures;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LRU cache of decoded prompt features, bounded by the bytes of their float arrays. Entries carry the prompt set
 * version they were decoded from, so a stale entry is never served even if an invalidation was missed.
 */
public final class FeatureCache {

    private record Entry(long version, PromptFeatures features, long bytes) {}

    private final long maxBytes;
    private final LinkedHashMap<String, Entry> map = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;

    public FeatureCache(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    public synchronized PromptFeatures get(String id, long version) {
        Entry e = map.get(id);
        return e != null && e.version == version ? e.features : null;
    }

    public synchronized void put(String id, long version, PromptFeatures f) {
        invalidate(id);
        long size = f.sizeInBytes();
        if (size > maxBytes) {
            return; // would evict everything and still not fit
        }
        map.put(id, new Entry(version, f, size));
        bytes += size;
        Iterator<Map.Entry<String, Entry>> it = map.entrySet().iterator();
        while (bytes > maxBytes && it.hasNext()) {
            bytes -= it.next().getValue().bytes;
            it.remove();
        }
    }

    public synchronized void invalidate(String id) {
        Entry e = map.remove(id);
        if (e != null) {
            bytes -= e.bytes;
        }
    }

    public synchronized void clear() {
        map.clear();
        bytes = 0;
    }

    public synchronized long bytes() {
        return bytes;
    }

    public synchronized int size() {
        return map.size();
    }

    public synchronized boolean contains(String id) {
        return map.containsKey(id);
    }
}
