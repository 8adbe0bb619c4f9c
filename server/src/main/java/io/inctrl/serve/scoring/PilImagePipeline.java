package io.inctrl.serve.scoring;

import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.DecodedImage;
import io.inctrl.serve.image.FrameTiling;
import io.inctrl.serve.image.ImageDecoder;
import io.inctrl.serve.image.ImageLimits;
import io.inctrl.serve.image.ImagePreprocessor;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.image.InvalidImageException;
import io.inctrl.serve.image.PreprocessConfig;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;

/**
 * Decoding and PIL-exact preprocessing with the limits from config and each model version's image settings (one
 * preprocessor per distinct input size and normalisation).
 */
@ApplicationScoped
public class PilImagePipeline implements ImagePipeline {

    @Inject
    InctrlConfig config;

    private ImageDecoder decoder;
    private final java.util.Map<PreprocessConfig, ImagePreprocessor> preprocessors =
            new java.util.concurrent.ConcurrentHashMap<>();

    @PostConstruct
    void init() {
        decoder = new ImageDecoder(
                new ImageLimits(config.limits().maxImageBytes(), config.limits().maxImagePixels()));
    }

    @Override
    public Prepared prepare(byte[] encoded, String what, Inspection mode, PreprocessConfig input) {
        ImagePreprocessor preprocessor = preprocessors.computeIfAbsent(input, ImagePreprocessor::new);
        try {
            long t0 = System.nanoTime();
            DecodedImage img = decoder.decode(encoded);
            long t1 = System.nanoTime();
            List<float[]> views = preprocessor.views(img, mode);
            FrameTiling tiling = mode == Inspection.TILES
                    ? FrameTiling.of(
                            img.width(), img.height(), preprocessor.config().size())
                    : null;
            return new Prepared(views, tiling, t1 - t0, System.nanoTime() - t1);
        } catch (InvalidImageException e) {
            throw refused(what, e);
        }
    }

    @Override
    public long declaredPixels(byte[] encoded, String what) {
        try {
            return decoder.header(encoded).pixels();
        } catch (InvalidImageException e) {
            throw refused(what, e);
        }
    }

    @Override
    public int[] declaredSize(byte[] encoded, String what) {
        try {
            var h = decoder.header(encoded);
            return new int[] {h.width(), h.height()};
        } catch (InvalidImageException e) {
            throw refused(what, e);
        }
    }

    /** The one place the image package's refusals become client errors, for scoring and the registry alike. */
    static ServeException refused(String what, InvalidImageException e) {
        Reason reason = switch (e.reason()) {
            case EMPTY -> Reason.EMPTY_IMAGE;
            case TOO_MANY_BYTES, TOO_MANY_PIXELS -> Reason.IMAGE_TOO_LARGE;
            case UNDECODABLE -> Reason.UNDECODABLE_IMAGE;
            case UNSUPPORTED_FORMAT -> Reason.UNSUPPORTED_IMAGE;
        };
        return new ServeException(reason, what + ": " + e.getMessage(), e);
    }
}
