package io.inctrl.serve.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * CLIP BPE tokenisation through DJL's HuggingFace tokenizers, reading the bundle's {@code tokenizer.json}; the
 * fixed-length layout (SOT … EOT, zero padding, EOT kept last on truncation) matches open_clip.tokenize.
 */
public final class ClipTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final int contextLength;
    private final long eotToken;

    public ClipTokenizer(Path tokenizerJson, int contextLength, long eotToken) {
        try {
            // Special tokens come from the file's post-processor; padding and truncation are ours (77 slots, EOT last).
            this.tokenizer = HuggingFaceTokenizer.newInstance(
                    tokenizerJson, Map.of("addSpecialTokens", "true", "padding", "false", "truncation", "false"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load tokenizer " + tokenizerJson, e);
        }
        this.contextLength = contextLength;
        this.eotToken = eotToken;
    }

    /** Token ids with SOT and EOT, before padding or truncation. */
    public long[] rawIds(String sentence) {
        Encoding enc = tokenizer.encode(sentence);
        return enc.getIds();
    }

    /** Number of tokens the sentence needs, SOT and EOT included (must be ≤ the context length to fit). */
    public int tokenCount(String sentence) {
        return rawIds(sentence).length;
    }

    public int contextLength() {
        return contextLength;
    }

    /** Row-major [sentences, contextLength] ids, zero-padded; over-long rows are cut and end with EOT. */
    public long[] encodeFixed(List<String> sentences) {
        long[] out = new long[sentences.size() * contextLength];
        for (int i = 0; i < sentences.size(); i++) {
            long[] ids = rawIds(sentences.get(i));
            int n = Math.min(ids.length, contextLength);
            System.arraycopy(ids, 0, out, i * contextLength, n);
            if (ids.length > contextLength) {
                out[i * contextLength + contextLength - 1] = eotToken;
            }
        }
        return out;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
