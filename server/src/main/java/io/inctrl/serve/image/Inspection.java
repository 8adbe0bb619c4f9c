package io.inctrl.serve.image;

import java.util.Locale;

/**
 * Which part of an image the model sees. The official pipeline's centre crop shows only the middle square, so a
 * 4096x256 strip loses 94 % of its pixels; the other modes trade parity with the paper for coverage.
 */
public enum Inspection {
    /** Spec §3: shorter side to S, centre S x S crop. Bit-exact with the reference. */
    CENTER_CROP("center-crop"),
    /** Whole image, longer side to S, padded to S x S with zeros after normalisation (the mean colour). */
    RESIZE("resize"),
    /** Shorter side to S, then overlapping S x S tiles covering the whole frame; scored per tile, combined by max. */
    TILES("tiles"),
    /**
     * Prompt sets only: one of the three modes above, chosen at registration by {@link InspectionChooser} and stored
     * in its place; never reaches preprocessing or the scorer.
     */
    AUTO("auto");

    private final String wireName;

    Inspection(String wireName) {
        this.wireName = wireName;
    }

    /** The REST / JSON spelling, e.g. "center-crop". */
    public String wireName() {
        return wireName;
    }

    /** A mode images can be cut by (every mode but {@link #AUTO}). */
    public boolean concrete() {
        return this != AUTO;
    }

    /** Parses the REST spelling (also accepts the enum name); null or blank is the default, centre crop. */
    public static Inspection parse(String value) {
        return parse(value, CENTER_CROP);
    }

    /** As {@link #parse(String)} with another default for null or blank (prompt sets: {@link #AUTO}). */
    public static Inspection parse(String value, Inspection absent) {
        if (value == null || value.isBlank()) {
            return absent;
        }
        String v = value.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (Inspection i : values()) {
            if (i.wireName.equals(v)) {
                return i;
            }
        }
        throw new IllegalArgumentException(
                "inspection must be one of center-crop, resize, tiles, auto; got '" + value + "'");
    }
}
