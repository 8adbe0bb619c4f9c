package io.inctrl.serve.scoring;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.FrameTiling;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.image.PreprocessConfig;
import java.util.List;

/** Encoded image bytes to the model's normalised CHW pixels (spec §3). */
public interface ImagePipeline {

    /**
     * The model inputs of one image plus how long decoding and preprocessing took.
     *
     * @param views  normalised S x S tensors: one, or one per tile in tiles mode
     * @param tiling where the tiles lie (tiles mode only; null otherwise)
     */
    record Prepared(List<float[]> views, FrameTiling tiling, long decodeNanos, long preprocessNanos) {
        public Prepared(float[] pixels, long decodeNanos, long preprocessNanos) {
            this(List.of(pixels), null, decodeNanos, preprocessNanos);
        }

        /** The only view (centre crop and resize modes). */
        public float[] pixels() {
            return views.get(0);
        }
    }

    /**
     * The views of {@code mode} preprocessed for a model whose input is {@code input} (each model version has its
     * own size and normalisation).
     *
     * @param what names the image in error messages, e.g. "image" or "shot 3 (0-based)" ({@link io.inctrl.serve.image.ImageNotes#shot})
     * @throws ServeException INVALID_ARGUMENT naming the reason when the bytes are empty, too large or undecodable
     */
    Prepared prepare(byte[] encoded, String what, Inspection mode, PreprocessConfig input);

    /**
     * Width x height the image's header declares, read without decoding pixels (for request pixel budgets).
     *
     * @throws ServeException INVALID_ARGUMENT, as {@link #prepare} would, when the header cannot be read
     */
    long declaredPixels(byte[] encoded, String what);

    /** {width, height} from the image's header, without decoding (tile counts are checked before decoding). */
    default int[] declaredSize(byte[] encoded, String what) {
        throw new UnsupportedOperationException("no header reader");
    }
}
