package io.inctrl.serve.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.inctrl.serve.image.DecodedImage;
import io.inctrl.serve.image.ImageDecoder;
import io.inctrl.serve.image.ImageLimits;
import io.inctrl.serve.image.ImagePreprocessor;
import io.inctrl.serve.image.InvalidImageException;
import io.inctrl.serve.image.PreprocessConfig;

/**
 * Any bytes a client sends as an image either decode into a preprocessed tensor or fail with the typed
 * {@link InvalidImageException}; any other throwable is a crash. Seeds (PNG/JPEG/BMP/TIFF variants) are in
 * {@code ImageDecoderFuzzTestInputs/}; CI fuzzes for a bounded time (JAZZER_FUZZ=1, surefire execution fuzz-tier).
 */
class ImageDecoderFuzzTest {

    // small limits keep each input cheap, so the fuzzer explores headers rather than allocating
    private static final ImageDecoder DECODER = new ImageDecoder(new ImageLimits(1 << 20, 1 << 20));
    private static final ImagePreprocessor PREPROCESS = new ImagePreprocessor(PreprocessConfig.inctrl());

    @FuzzTest(maxDuration = "90s")
    void decodeAnyBytes(byte[] bytes) {
        try {
            DECODER.header(bytes); // the header-only probe of request pixel budgets sees the same bytes first
        } catch (InvalidImageException expected) {
            // typed refusal: fine
        }
        DecodedImage img;
        try {
            img = DECODER.decode(bytes);
        } catch (InvalidImageException expected) {
            return;
        }
        float[] tensor;
        try {
            tensor = PREPROCESS.tensor(img); // resize can still refuse typed (e.g. an aspect ratio past 2^24 px)
        } catch (InvalidImageException expected) {
            return;
        }
        if (tensor.length != 3 * 240 * 240) {
            throw new IllegalStateException("tensor of " + tensor.length + " values");
        }
    }
}
