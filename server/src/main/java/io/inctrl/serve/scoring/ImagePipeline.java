package io.inctrl.serve.scoring;

import io.inctrl.serve.error.ServeException;

/** Encoded image bytes to the model's normalised CHW pixels (spec §3). */
public interface ImagePipeline {

    /** Decoded pixels plus how long decoding and preprocessing took. */
    record Prepared(float[] pixels, long decodeNanos, long preprocessNanos) {}

    /**
     * @param what names the image in error messages, e.g. "image" or "shot 3"
     * @throws ServeException INVALID_ARGUMENT naming the reason when the bytes are empty, too large or undecodable
     */
    Prepared prepare(byte[] encoded, String what);

    /**
     * Width x height the image's header declares, read without decoding pixels (for request pixel budgets).
     *
     * @throws ServeException INVALID_ARGUMENT, as {@link #prepare} would, when the header cannot be read
     */
    long declaredPixels(byte[] encoded, String what);
}
