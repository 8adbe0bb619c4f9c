package io.inctrl.serve.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Device copies of prompt tokens, transposed to [width, K·P] for the nearest-neighbour matmul, kept while the same
 * {@link PromptFeatures} object keeps coming back (registered sets), LRU-bounded in bytes. Upload costs about as
 * much as the matmul itself, so re-uploading per query would halve throughput.
 */
final class PromptTensorCache implements AutoCloseable {

    private final NDManager manager;
    private final long maxBytes;
    private final LinkedHashMap<PromptFeatures, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;

    private record Entry(NDArray[] transposed, long bytes) {}

    PromptTensorCache(Device device, long maxBytes) {
        this.manager = NDManager.newBaseManager(device);
        this.maxBytes = maxBytes;
    }

    NDArray[] transposedTokens(PromptFeatures prompts) {
        Entry e = entries.get(prompts);
        if (e == null) {
            NDArray[] t = new NDArray[prompts.tokens().length];
            for (int l = 0; l < t.length; l++) {
                NDArray tokens = manager.create(prompts.tokens()[l], new Shape(prompts.rows(l), prompts.width()));
                t[l] = tokens.transpose().duplicate();
                tokens.close();
            }
            e = new Entry(t, prompts.sizeInBytes());
            entries.put(prompts, e);
            bytes += e.bytes;
            evict(prompts);
        }
        return e.transposed;
    }

    private void evict(PromptFeatures keep) {
        Iterator<Map.Entry<PromptFeatures, Entry>> it = entries.entrySet().iterator();
        while (bytes > maxBytes && it.hasNext()) {
            Map.Entry<PromptFeatures, Entry> oldest = it.next();
            if (oldest.getKey() == keep) {
                continue;
            }
            for (NDArray a : oldest.getValue().transposed) {
                a.close();
            }
            bytes -= oldest.getValue().bytes;
            it.remove();
        }
    }

    @Override
    public void close() {
        manager.close();
        entries.clear();
    }
}
