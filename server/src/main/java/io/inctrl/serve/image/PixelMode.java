package io.inctrl.serve.image;

/**
 * The 8-bit pixel layouts we keep after decoding, named after the PIL modes they mirror. The mode decides how
 * {@link PilResize} resamples (bicubic, premultiplied bicubic or nearest) exactly as Pillow would.
 */
public enum PixelMode {
    /** PIL "1": bilevel, stored as 0/255 bytes like Pillow does; resized nearest-neighbour. */
    ONE("1", 1),
    L("L", 1),
    /** Gray + alpha: resized premultiplied (Pillow goes LA -> La -> LA). */
    LA("LA", 2),
    RGB("RGB", 3),
    /** Resized premultiplied (Pillow goes RGBA -> RGBa -> RGBA). */
    RGBA("RGBA", 4),
    /** Palette indices (1 byte) + an RGB palette; resized nearest-neighbour as Pillow forces. */
    P("P", 1);

    private final String pilName;
    private final int channels;

    PixelMode(String pilName, int channels) {
        this.pilName = pilName;
        this.channels = channels;
    }

    /** The PIL mode string. */
    public String pilName() {
        return pilName;
    }

    /** Bytes per pixel in {@link DecodedImage#pixels()}. */
    public int channels() {
        return channels;
    }

    /** Pillow resizes these with nearest-neighbour whatever filter is requested. */
    public boolean forcesNearest() {
        return this == ONE || this == P;
    }

    public boolean hasAlpha() {
        return this == LA || this == RGBA;
    }
}
