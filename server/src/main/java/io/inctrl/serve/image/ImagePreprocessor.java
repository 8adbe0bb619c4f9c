package io.inctrl.serve.image;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Spec §3 preprocessing, matching torchvision {@code Resize(size, BICUBIC)}, {@code CenterCrop(size)},
 * {@code convert("RGB")}, {@code ToTensor()}, {@code Normalize(mean, std)} on a PIL image:
 * <ol>
 *   <li>shorter side to {@code size}, longer side {@code (int)(size * long / short)} (double division, truncated,
 *       as Python's {@code int(a * b / c)}); resampled in the image's own mode by {@link PilResize} (only the
 *       crop window is computed);</li>
 *   <li>centre crop with offsets {@code rint((dim - size) / 2)}: Python's round() is half-to-even, so 245 -> 2;</li>
 *   <li>RGB after the crop: L/1 replicated, P through its palette, alpha dropped (already un-premultiplied);</li>
 *   <li>{@code v / 255f}, then {@code (x - mean) / std}, both in float32 and in that order; CHW layout.</li>
 * </ol>
 * Thread-safe and allocation-only; no state beyond the config.
 */
public final class ImagePreprocessor {

    private final PreprocessConfig config;
    private final PilResize.PassOrder passOrder;

    /** Pillow 13 resize semantics (the reference venv used for the parity fixtures). */
    public ImagePreprocessor(PreprocessConfig config) {
        this(config, PilResize.PassOrder.PILLOW_13);
    }

    /** {@code passOrder} HORIZONTAL_FIRST reproduces Pillow &lt;= 12 (see {@link PilResize.PassOrder}). */
    public ImagePreprocessor(PreprocessConfig config, PilResize.PassOrder passOrder) {
        this.config = Objects.requireNonNull(config, "config");
        this.passOrder = Objects.requireNonNull(passOrder, "passOrder");
    }

    public PreprocessConfig config() {
        return config;
    }

    /** An 8-bit RGB image, HWC interleaved. */
    public record RgbImage(int width, int height, byte[] rgb) {
        public RgbImage {
            if ((long) width * height * 3 != rgb.length) {
                throw new IllegalArgumentException("rgb buffer size mismatch");
            }
        }

        /** Unsigned sample at (x, y, channel). */
        public int get(int x, int y, int channel) {
            return rgb[(y * width + x) * 3 + channel] & 0xff;
        }
    }

    /** Resized + centre-cropped + RGB uint8 image (size x size), the exact input of ToTensor. Also for thumbnails. */
    public RgbImage crop(DecodedImage img) {
        int size = config.size();
        int[] out = resizedSize(img.width(), img.height(), size);
        int left = cropOffset(out[0], size);
        int top = cropOffset(out[1], size);
        DecodedImage region = PilResize.resizeRegion(img, out[0], out[1], left, top, size, size, passOrder);
        return new RgbImage(size, size, toRgb(region));
    }

    /** Normalised float32 tensor [3, size, size] (CHW, flattened). */
    public float[] tensor(RgbImage crop) {
        int n = crop.width() * crop.height();
        float[] mean = config.mean();
        float[] std = config.std();
        float[] out = new float[3 * n];
        byte[] rgb = crop.rgb();
        for (int ch = 0; ch < 3; ch++) {
            float m = mean[ch];
            float s = std[ch];
            int base = ch * n;
            for (int i = 0; i < n; i++) {
                float x = (rgb[i * 3 + ch] & 0xff) / 255f;
                out[base + i] = (x - m) / s;
            }
        }
        return out;
    }

    /** {@code tensor(crop(img))}. */
    public float[] tensor(DecodedImage img) {
        return tensor(crop(img));
    }

    /**
     * The normalised S x S tensors the model sees for {@code mode}: one for centre crop and resize, one per tile
     * (row-major, see {@link FrameTiling}) for tiles.
     */
    public List<float[]> views(DecodedImage img, Inspection mode) {
        return switch (mode) {
            case CENTER_CROP -> List.of(tensor(crop(img)));
            case RESIZE -> List.of(padded(fitted(img)));
            case TILES -> {
                FrameTiling tiling = FrameTiling.of(img.width(), img.height(), config.size());
                List<float[]> out = new ArrayList<>(tiling.count());
                for (int[] t : tiling.tiles()) {
                    int size = config.size();
                    DecodedImage region = PilResize.resizeRegion(
                            img, tiling.frameWidth(), tiling.frameHeight(), t[0], t[1], size, size, passOrder);
                    out.add(tensor(new RgbImage(size, size, toRgb(region))));
                }
                yield out;
            }
            case AUTO -> throw new IllegalArgumentException("inspection auto is resolved when a set is registered");
        };
    }

    /** The whole image with its longer side scaled to S (same PIL resize), aspect kept; for {@link Inspection#RESIZE}. */
    public RgbImage fitted(DecodedImage img) {
        int[] out = fittedSize(img.width(), img.height(), config.size());
        DecodedImage resized = PilResize.resizeRegion(img, out[0], out[1], 0, 0, out[0], out[1], passOrder);
        return new RgbImage(out[0], out[1], toRgb(resized));
    }

    /**
     * {@code fitted} centred on an S x S canvas; the border is 0 after normalisation, i.e. the mean colour, so it
     * carries no signal of its own (a black border would look like an object edge to the model).
     */
    public float[] padded(RgbImage fitted) {
        int size = config.size();
        float[] inner = tensor(fitted);
        int w = fitted.width();
        int h = fitted.height();
        int left = (size - w) / 2;
        int top = (size - h) / 2;
        float[] out = new float[3 * size * size];
        for (int ch = 0; ch < 3; ch++) {
            for (int y = 0; y < h; y++) {
                System.arraycopy(inner, ch * w * h + y * w, out, ch * size * size + (top + y) * size + left, w);
            }
        }
        return out;
    }

    /** Longer side to {@code size}, shorter {@code max(1, int(size * short / long))} (truncated like the shorter-side resize). */
    public static int[] fittedSize(int width, int height, int size) {
        boolean portrait = width <= height;
        int shortSide =
                (int) Math.max(1, (double) ((long) size * (portrait ? width : height)) / (portrait ? height : width));
        return portrait ? new int[] {shortSide, size} : new int[] {size, shortSide};
    }

    /**
     * torchvision's shorter-side resize target {width, height}. Python computes {@code int(size * long / short)}
     * with a true (double) division; {@code (double) (size * long) / short} is the same correctly rounded double.
     */
    public static int[] resizedSize(int width, int height, int size) {
        boolean portrait = width <= height;
        double longSide = (double) ((long) size * (portrait ? height : width)) / (portrait ? width : height);
        if (longSide >= MAX_RESIZED_SIDE) { // Pillow's float box loses integer precision beyond 2^24
            throw new InvalidImageException(
                    InvalidImageException.Reason.TOO_MANY_PIXELS,
                    "aspect ratio " + width + "x" + height + " is too extreme: the shorter-side resize would be "
                            + (long) longSide + " px long");
        }
        return portrait ? new int[] {size, (int) longSide} : new int[] {(int) longSide, size};
    }

    /** Longest resized side we accept (2^24, where float coordinates stop being exact). */
    public static final int MAX_RESIZED_SIDE = 1 << 24;

    /** torchvision CenterCrop offset: {@code int(round((dim - size) / 2.0))}, half-to-even. */
    public static int cropOffset(int dim, int size) {
        return (int) Math.rint((dim - size) / 2.0);
    }

    /** PIL {@code convert("RGB")} for our 8-bit modes. */
    static byte[] toRgb(DecodedImage img) {
        byte[] px = img.pixels();
        int n = img.width() * img.height();
        int c = img.mode().channels();
        byte[] out = new byte[n * 3];
        switch (img.mode()) {
            case RGB -> System.arraycopy(px, 0, out, 0, out.length);
            case RGBA -> {
                for (int i = 0; i < n; i++) {
                    System.arraycopy(px, i * 4, out, i * 3, 3);
                }
            }
            case L, LA, ONE -> { // "1" holds 0/255 bytes, converted like L
                for (int i = 0; i < n; i++) {
                    byte v = px[i * c];
                    out[i * 3] = v;
                    out[i * 3 + 1] = v;
                    out[i * 3 + 2] = v;
                }
            }
            case P -> {
                byte[] pal = img.palette();
                int entries = pal.length / 3;
                for (int i = 0; i < n; i++) {
                    int idx = px[i] & 0xff;
                    if (idx < entries) { // Pillow palettes are 256 entries, padded with black
                        System.arraycopy(pal, idx * 3, out, i * 3, 3);
                    }
                }
            }
            default -> throw new IllegalStateException("unhandled mode " + img.mode());
        }
        return out;
    }
}
