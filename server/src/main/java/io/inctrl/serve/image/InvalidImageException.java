package io.inctrl.serve.image;

/**
 * An image the server refuses to decode. {@link #reason()} is machine-readable (maps to a gRPC/HTTP error detail);
 * the message is for humans and always starts with the reason name.
 */
public final class InvalidImageException extends RuntimeException {

    /** Why an image was refused. */
    public enum Reason {
        /** No bytes at all. */
        EMPTY,
        /** More encoded bytes than {@link ImageLimits#maxBytes()}. */
        TOO_MANY_BYTES,
        /** Declared width x height above {@link ImageLimits#maxPixels()} (checked before pixels are decoded). */
        TOO_MANY_PIXELS,
        /** Recognised container (PNG/JPEG/BMP/TIFF) but corrupt or truncated data. */
        UNDECODABLE,
        /** Not PNG/JPEG/BMP/TIFF, or a variant we deliberately refuse (CMYK/YCCK JPEG). */
        UNSUPPORTED_FORMAT
    }

    private final Reason reason;

    public InvalidImageException(Reason reason, String detail) {
        this(reason, detail, null);
    }

    public InvalidImageException(Reason reason, String detail, Throwable cause) {
        super(reason + ": " + detail, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
