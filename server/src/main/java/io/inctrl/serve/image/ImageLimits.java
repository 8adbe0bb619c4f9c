package io.inctrl.serve.image;

/**
 * Decoder limits. {@code maxPixels} bounds the declared width x height read from the header, so a small file that
 * claims a huge canvas (decompression bomb) is refused before any pixel buffer is allocated.
 */
public record ImageLimits(long maxBytes, long maxPixels) {

    /** 32 MiB of encoded bytes, 40 megapixels. */
    public static final ImageLimits DEFAULT = new ImageLimits(32L << 20, 40_000_000L);

    public ImageLimits {
        if (maxBytes <= 0 || maxPixels <= 0) {
            throw new IllegalArgumentException("limits must be positive: " + maxBytes + ", " + maxPixels);
        }
    }
}
