package io.inctrl.serve.image;

import io.inctrl.serve.image.InvalidImageException.Reason;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.SampleModel;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Objects;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes PNG, JPEG, BMP and TIFF bytes with {@code javax.imageio} into the 8-bit mode Pillow would see, so that
 * {@link PilResize} and {@link ImagePreprocessor} reproduce the official PIL pipeline. Raw raster samples are
 * used (never {@code getRGB}, which would apply colour conversions Pillow does not).
 *
 * <p>Deliberate choices (each has a parity fixture in the tests):
 * <ul>
 *   <li><b>Limits:</b> byte count checked first; width x height read from the header via {@link ImageReader}
 *       and checked against {@link ImageLimits#maxPixels()} before any pixel is decoded (decompression bombs).</li>
 *   <li><b>Format sniffing:</b> by magic bytes only; anything else (GIF, WebP, random bytes...) is
 *       {@link Reason#UNSUPPORTED_FORMAT}. Corrupt/truncated data in a recognised container is
 *       {@link Reason#UNDECODABLE}.</li>
 *   <li><b>Corruption ImageIO tolerates but Pillow refuses</b> is refused too (see the package documentation):
 *       a PNG chunk before the first IDAT with a bad CRC, and a JPEG that ends before its data does.</li>
 *   <li><b>32-bit samples</b> (PIL modes "F" and "I", e.g. float TIFF) are {@link Reason#UNSUPPORTED_FORMAT},
 *       detected from the header before decoding.</li>
 *   <li><b>16-bit grayscale</b> (PNG/TIFF, PIL mode "I;16"): the official transform crashes on it ("image has wrong
 *       mode"). We convert to 8 bits by rounding {@code v / 257} (i.e. {@code (v + 128) / 257}) and then treat
 *       the image as "L". {@link DecodedImage#sourceMode()} still says "I;16".</li>
 *   <li><b>Other 16-bit PNG/TIFF</b> (RGB, RGBA, gray+alpha): keep the high byte, as Pillow's "RGB;16B"-style
 *       unpackers do; 16-bit gray+alpha PNG becomes RGBA as in Pillow.</li>
 *   <li><b>1/2/4-bit gray PNG:</b> 1-bit is PIL mode "1" (0/255, nearest resize); 2/4-bit become "L" scaled by
 *       85/17 like Pillow's "L;2"/"L;4".</li>
 *   <li><b>Palette</b> (PNG any bit depth, BMP, TIFF): kept as "P" with its RGB palette (resized nearest, then
 *       looked up). A palette's tRNS/alpha is ignored, as {@code convert("RGB")} ignores it. BMP follows Pillow's
 *       rule: a palette that is exactly (i,i,i) becomes "L" ("1" for a black/white 2-colour palette).</li>
 *   <li><b>Alpha:</b> "LA"/"RGBA" are kept; the resize is premultiplied and alpha is dropped after the crop.
 *       A PNG tRNS colour key on gray/RGB (which ImageIO may turn into an alpha band) is ignored: Pillow keeps
 *       such images as "L"/"RGB".</li>
 *   <li><b>Interlaced PNG and progressive JPEG</b> are decoded normally.</li>
 *   <li><b>CMYK/YCCK JPEG</b> (4 components) and CMYK TIFF are <em>rejected</em> with
 *       {@link Reason#UNSUPPORTED_FORMAT}: Pillow would keep them as "CMYK" and convert naively after the
 *       resize; we prefer a clear refusal over a silently different colour.</li>
 *   <li><b>EXIF orientation is ignored</b>, exactly like the official PIL pipeline (no {@code exif_transpose});
 *       a rotated phone photo is scored as stored. Embedded ICC profiles and PNG gamma are ignored as well.</li>
 *   <li><b>JPEG pixels</b> come from the JDK's libjpeg-6b-based decoder, not libjpeg-turbo: expect differences of a
 *       few levels on some pixels versus Pillow (measured in the tests).</li>
 * </ul>
 * Thread-safe: a new {@link ImageReader} is used per call.
 */
public final class ImageDecoder {

    private final ImageLimits limits;

    public ImageDecoder(ImageLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    public ImageDecoder() {
        this(ImageLimits.DEFAULT);
    }

    public ImageLimits limits() {
        return limits;
    }

    /** Container format and the width x height its header declares. */
    public record Header(String format, int width, int height) {
        public long pixels() {
            return (long) width * height;
        }
    }

    /**
     * Reads only the header: the same checks as {@link #decode} short of decoding pixels (bytes, format, PNG chunk
     * CRCs, per-image pixel limit, sample type), so callers can budget a whole request before decoding any of it.
     */
    public Header header(byte[] bytes) {
        String format = container(bytes);
        ImageReader reader = reader(format);
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            reader.setInput(in, true, true);
            return checkedHeader(reader, format);
        } catch (InvalidImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw undecodable(format, e);
        } finally {
            reader.dispose();
        }
    }

    /** Decodes the first image of {@code bytes}; throws {@link InvalidImageException} on any refusal. */
    public DecodedImage decode(byte[] bytes) {
        String format = container(bytes);
        PngHeader png = format.equals("png") ? PngHeader.parse(bytes) : null;
        BufferedImage bi = read(bytes, format);
        try {
            return png != null ? fromPng(bi, png) : fromColorModel(bi, format);
        } catch (InvalidImageException e) {
            throw e;
        } catch (RuntimeException e) {
            // the exception text describes our code, not the image: it stays out of the client's message
            throw new InvalidImageException(Reason.UNDECODABLE, format + " pixel layout could not be read", e);
        }
    }

    /** Checks that need no decoder: size, magic bytes, PNG chunk CRCs, JPEG colour components; returns the format. */
    private String container(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new InvalidImageException(Reason.EMPTY, "no image bytes were sent");
        }
        if (bytes.length > limits.maxBytes()) {
            throw new InvalidImageException(
                    Reason.TOO_MANY_BYTES, "image is " + bytes.length + " bytes, the limit is " + limits.maxBytes());
        }
        String format = sniff(bytes);
        if (format == null) {
            throw new InvalidImageException(
                    Reason.UNSUPPORTED_FORMAT,
                    "not a PNG, JPEG, BMP or TIFF image (starts with " + hexPrefix(bytes) + ")");
        }
        if (format.equals("png")) {
            checkPngChunks(bytes);
        } else if (format.equals("jpeg")) {
            int components = jpegComponents(bytes);
            if (components == 4) {
                throw new InvalidImageException(
                        Reason.UNSUPPORTED_FORMAT,
                        "CMYK/YCCK JPEG (4 colour components) is not supported; convert the image to RGB");
            }
        }
        return format;
    }

    private static ImageReader reader(String format) {
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format);
        if (!readers.hasNext()) {
            throw new InvalidImageException(Reason.UNSUPPORTED_FORMAT, "no " + format + " decoder in this JVM");
        }
        return readers.next();
    }

    /** Declared size within the limits, and integer samples of at most 16 bits (PIL modes F and I are refused). */
    private Header checkedHeader(ImageReader reader, String format) throws IOException {
        int w = reader.getWidth(0);
        int h = reader.getHeight(0);
        if (w <= 0 || h <= 0) {
            throw new InvalidImageException(Reason.UNDECODABLE, format + " header declares " + w + "x" + h);
        }
        if ((long) w * h > limits.maxPixels()) {
            throw new InvalidImageException(
                    Reason.TOO_MANY_PIXELS,
                    format + " image is " + w + "x" + h + " = " + (long) w * h + " pixels, the limit is "
                            + limits.maxPixels());
        }
        ImageTypeSpecifier raw = reader.getRawImageType(0);
        if (raw != null) {
            SampleModel sm = raw.getSampleModel();
            int type = sm.getDataType();
            if (type == DataBuffer.TYPE_FLOAT || type == DataBuffer.TYPE_DOUBLE) {
                throw new InvalidImageException(
                        Reason.UNSUPPORTED_FORMAT,
                        format + " with floating-point samples "
                                + "(PIL mode F) is not supported; convert it to 8- or 16-bit integer samples");
            }
            for (int size : sm.getSampleSize()) {
                if (size > 16) {
                    throw new InvalidImageException(
                            Reason.UNSUPPORTED_FORMAT,
                            format + " with " + size + "-bit "
                                    + "samples (PIL mode I) is not supported; convert it to 8- or 16-bit samples");
                }
            }
        }
        return new Header(format, w, h);
    }

    private BufferedImage read(byte[] bytes, String format) {
        ImageReader reader = reader(format);
        // In-memory stream: ImageIO.createImageInputStream may spill to temp files.
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            reader.setInput(in, true, true);
            Header header = checkedHeader(reader, format);
            boolean[] truncated = new boolean[1];
            reader.addIIOReadWarningListener((source, warning) -> truncated[0] |= isTruncation(warning));
            BufferedImage bi = reader.read(0);
            if (truncated[0]) {
                throw new InvalidImageException(
                        Reason.UNDECODABLE,
                        format + " data ends before the image does (truncated file; Pillow refuses it as well)");
            }
            if (bi == null || bi.getWidth() != header.width() || bi.getHeight() != header.height()) {
                throw new InvalidImageException(Reason.UNDECODABLE, format + " decoder returned no/wrong image");
            }
            return bi;
        } catch (InvalidImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw undecodable(format, e);
        } finally {
            reader.dispose();
        }
    }

    /**
     * The JDK's JPEG reader fills a stream that ends early with a fake end-of-image marker and only warns
     * ("Truncated File - Missing EOI marker", libjpeg's "Premature end of JPEG file"); Pillow raises instead.
     */
    static boolean isTruncation(String warning) {
        String w = warning == null ? "" : warning.toLowerCase(java.util.Locale.ROOT);
        return w.contains("missing eoi") || w.contains("premature end of jpeg file");
    }

    /** ImageIO's own messages describe the data; other exceptions describe our code and stay out of the message. */
    private static InvalidImageException undecodable(String format, Exception e) {
        String detail = e instanceof IOException && e.getMessage() != null ? ": " + e.getMessage() : "";
        return new InvalidImageException(Reason.UNDECODABLE, "corrupt or truncated " + format + " data" + detail, e);
    }

    // ---- format detection ----------------------------------------------------------------------------------

    static String sniff(byte[] b) {
        if (startsWith(b, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
            return "png";
        }
        if (startsWith(b, 0xFF, 0xD8, 0xFF)) {
            return "jpeg";
        }
        if (startsWith(b, 'B', 'M') && b.length >= 26) {
            return "bmp";
        }
        if (startsWith(b, 'I', 'I', 42, 0) || startsWith(b, 'M', 'M', 0, 42)) {
            return "tiff";
        }
        return null;
    }

    private static boolean startsWith(byte[] b, int... magic) {
        if (b.length < magic.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if ((b[i] & 0xff) != magic[i]) {
                return false;
            }
        }
        return true;
    }

    private static String hexPrefix(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(8, b.length); i++) {
            sb.append(String.format("%02x", b[i] & 0xff));
        }
        return sb.toString();
    }

    /** Component count from the first SOFn frame header; -1 when none is found (the decoder then reports). */
    static int jpegComponents(byte[] b) {
        int p = 2;
        while (p + 4 <= b.length) {
            if ((b[p] & 0xff) != 0xFF) {
                return -1;
            }
            int m = b[p + 1] & 0xff;
            if (m == 0xFF) { // fill byte
                p++;
                continue;
            }
            if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) { // standalone markers
                p += 2;
                continue;
            }
            if (m == 0xDA || m == 0xD9) { // start of scan / end of image before any frame
                return -1;
            }
            int len = ((b[p + 2] & 0xff) << 8) | (b[p + 3] & 0xff);
            boolean sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
            if (sof) {
                return p + 9 < b.length ? b[p + 9] & 0xff : -1;
            }
            p += 2 + len;
        }
        return -1;
    }

    /**
     * Verifies the CRC of every chunk before the first IDAT (or IEND), as Pillow does when it opens a PNG ("broken
     * PNG file (bad header checksum)"); ImageIO checks none. Pillow skips the CRCs of IDAT and later chunks, as we do.
     */
    static void checkPngChunks(byte[] b) {
        int p = 8;
        while (true) {
            if (p + 8 > b.length) {
                throw new InvalidImageException(Reason.UNDECODABLE, "PNG ends before its image data (truncated file)");
            }
            long length =
                    ((b[p] & 0xffL) << 24) | ((b[p + 1] & 0xff) << 16) | ((b[p + 2] & 0xff) << 8) | (b[p + 3] & 0xff);
            String type = chunkType(b, p + 4);
            if (type.equals("IDAT") || type.equals("IEND")) { // Pillow stops reading chunks there as well
                return;
            }
            if (length > Integer.MAX_VALUE || p + 12 + length > b.length) {
                throw new InvalidImageException(
                        Reason.UNDECODABLE, "PNG chunk " + type + " is cut short (truncated file)");
            }
            CRC32 crc = new CRC32();
            crc.update(b, p + 4, 4 + (int) length);
            int at = p + 8 + (int) length;
            long stored = ((b[at] & 0xffL) << 24)
                    | ((b[at + 1] & 0xff) << 16)
                    | ((b[at + 2] & 0xff) << 8)
                    | (b[at + 3] & 0xff);
            if (crc.getValue() != stored) {
                throw new InvalidImageException(
                        Reason.UNDECODABLE, "PNG chunk " + type + " has a bad CRC (corrupt file)");
            }
            p = at + 4;
        }
    }

    /** A chunk type for messages: four ASCII letters, else hex. */
    private static String chunkType(byte[] b, int at) {
        StringBuilder sb = new StringBuilder(4);
        for (int i = at; i < at + 4; i++) {
            char c = (char) (b[i] & 0xff);
            if (!Character.isLetter(c) || c > 'z') {
                return "0x" + hexPrefix(java.util.Arrays.copyOfRange(b, at, at + 4));
            }
            sb.append(c);
        }
        return sb.toString();
    }

    /** IHDR fields: the PNG colour type decides the PIL mode (ImageIO may add an alpha band for tRNS). */
    record PngHeader(int bitDepth, int colorType) {
        static PngHeader parse(byte[] b) {
            if (b.length < 33 || b[12] != 'I' || b[13] != 'H' || b[14] != 'D' || b[15] != 'R') {
                throw new InvalidImageException(Reason.UNDECODABLE, "PNG without a valid IHDR chunk");
            }
            return new PngHeader(b[24] & 0xff, b[25] & 0xff);
        }
    }

    // ---- pixel extraction ----------------------------------------------------------------------------------

    private static DecodedImage fromPng(BufferedImage bi, PngHeader hdr) {
        int bd = hdr.bitDepth();
        switch (hdr.colorType()) {
            case 0 -> {
                if (bd == 1) {
                    return gray(bi, "png", PixelMode.ONE, "1", v -> v != 0 ? 255 : 0);
                }
                if (bd == 16) {
                    return gray(bi, "png", PixelMode.L, "I;16", ImageDecoder::round16to8);
                }
                int max = (1 << bd) - 1;
                return gray(bi, "png", PixelMode.L, "L", v -> v * 255 / max);
            }
            case 2 -> {
                return bands(bi, "png", PixelMode.RGB, "RGB", new int[] {0, 1, 2}, bd == 16);
            }
            case 3 -> {
                return palette(bi, "png", (IndexColorModel) bi.getColorModel());
            }
            case 4 -> {
                if (bd == 16) { // Pillow: (16, 4) -> RGBA via "LA;16B"
                    return bands(bi, "png", PixelMode.RGBA, "RGBA", new int[] {0, 0, 0, 1}, true);
                }
                return bands(bi, "png", PixelMode.LA, "LA", new int[] {0, 1}, false);
            }
            case 6 -> {
                return bands(bi, "png", PixelMode.RGBA, "RGBA", new int[] {0, 1, 2, 3}, bd == 16);
            }
            default -> throw new InvalidImageException(Reason.UNDECODABLE, "PNG colour type " + hdr.colorType());
        }
    }

    private static DecodedImage fromColorModel(BufferedImage bi, String format) {
        ColorModel cm = bi.getColorModel();
        if (cm instanceof IndexColorModel icm) {
            DecodedImage p = palette(bi, format, icm);
            return isGrayRamp(icm, format) ? lookupGray(p, icm.getMapSize() == 2) : p;
        }
        if (cm.getColorSpace().getType() == ColorSpace.TYPE_CMYK) {
            throw new InvalidImageException(
                    Reason.UNSUPPORTED_FORMAT, "CMYK " + format + " is not supported; convert the image to RGB");
        }
        int nc = cm.getNumComponents();
        int bits = cm.getComponentSize(0);
        int dataType = bi.getRaster().getDataBuffer().getDataType();
        if (bits > 16 || dataType == DataBuffer.TYPE_FLOAT || dataType == DataBuffer.TYPE_DOUBLE) {
            throw new InvalidImageException(
                    Reason.UNSUPPORTED_FORMAT,
                    format + " with " + bits + "-bit "
                            + (dataType == DataBuffer.TYPE_FLOAT || dataType == DataBuffer.TYPE_DOUBLE
                                    ? "floating-point "
                                    : "")
                            + "samples is not supported; convert it to 8- or 16-bit integer samples");
        }
        boolean wide = bits > 8;
        return switch (nc) {
            case 1 ->
                bits == 16
                        ? gray(bi, format, PixelMode.L, "I;16", ImageDecoder::round16to8)
                        : bits == 8
                                ? gray(bi, format, PixelMode.L, "L", v -> v)
                                : gray(bi, format, PixelMode.L, "L", v -> v * 255 / ((1 << bits) - 1));
            case 2 -> bands(bi, format, PixelMode.LA, "LA", new int[] {0, 1}, wide);
            case 3 -> bands(bi, format, PixelMode.RGB, "RGB", new int[] {0, 1, 2}, wide);
            case 4 -> {
                if (!cm.hasAlpha()) {
                    throw new InvalidImageException(
                            Reason.UNSUPPORTED_FORMAT,
                            "4-channel " + format + " without alpha (CMYK?) is not supported; convert it to RGB");
                }
                yield bands(bi, format, PixelMode.RGBA, "RGBA", new int[] {0, 1, 2, 3}, wide);
            }
            default ->
                throw new InvalidImageException(
                        Reason.UNSUPPORTED_FORMAT, format + " with " + nc + " colour components is not supported");
        };
    }

    /** Pillow's BMP rule (palette exactly (i,i,i), or black/white for 2 colours); TIFF: a 0..255 ramp. */
    private static boolean isGrayRamp(IndexColorModel icm, String format) {
        int n = icm.getMapSize();
        if (n < 2) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            int want = n == 2 ? i * 255 : (format.equals("bmp") ? i : i * 255 / (n - 1));
            if (icm.getRed(i) != want || icm.getGreen(i) != want || icm.getBlue(i) != want) {
                return false;
            }
        }
        return true;
    }

    private static DecodedImage lookupGray(DecodedImage p, boolean bilevel) {
        byte[] pal = p.palette();
        byte[] px = p.pixels();
        byte[] out = new byte[px.length];
        for (int i = 0; i < px.length; i++) {
            out[i] = pal[(px[i] & 0xff) * 3];
        }
        PixelMode mode = bilevel ? PixelMode.ONE : PixelMode.L;
        return new DecodedImage(mode, mode.pilName(), p.width(), p.height(), out, null, p.format());
    }

    /** Band 0 of the raster, row by row, mapped to one byte per pixel (gray levels or palette indices). */
    private static byte[] firstBand(BufferedImage bi, java.util.function.IntUnaryOperator map) {
        Raster r = bi.getRaster();
        int w = bi.getWidth();
        int h = bi.getHeight();
        byte[] out = new byte[w * h];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            r.getSamples(0, y, w, 1, 0, row);
            for (int x = 0; x < w; x++) {
                out[y * w + x] = (byte) map.applyAsInt(row[x]);
            }
        }
        return out;
    }

    /** Round-to-nearest 16 -> 8 bit: round(v / 257) == (v + 128) / 257 (no ties exist). */
    static int round16to8(int v) {
        return (v + 128) / 257;
    }

    private static DecodedImage gray(
            BufferedImage bi,
            String format,
            PixelMode mode,
            String sourceMode,
            java.util.function.IntUnaryOperator map) {
        int w = bi.getWidth();
        int h = bi.getHeight();
        byte[] out = firstBand(bi, map);
        return new DecodedImage(mode, sourceMode, w, h, out, null, format);
    }

    /** Copies raster bands {@code src[i]} into output channel i; 16-bit samples keep their high byte. */
    private static DecodedImage bands(
            BufferedImage bi, String format, PixelMode mode, String sourceMode, int[] src, boolean sixteen) {
        Raster r = bi.getRaster();
        int w = bi.getWidth();
        int h = bi.getHeight();
        int nb = r.getNumBands();
        for (int s : src) {
            if (s >= nb) {
                throw new InvalidImageException(
                        Reason.UNDECODABLE, format + " decoder produced " + nb + " bands for mode " + sourceMode);
            }
        }
        int c = src.length;
        int shift = sixteen ? 8 : 0;
        byte[] out = new byte[w * h * c];
        ByteLayout fast = sixteen ? null : ByteLayout.of(r);
        if (fast != null) { // direct copy from the interleaved byte buffer (the common 8-bit case)
            int[] off = new int[c];
            for (int ch = 0; ch < c; ch++) {
                off[ch] = fast.bandOffsets[src[ch]];
            }
            for (int y = 0; y < h; y++) {
                int rowBase = fast.offset + y * fast.scanlineStride;
                int o = y * w * c;
                for (int x = 0; x < w; x++) {
                    int px = rowBase + x * fast.pixelStride;
                    for (int ch = 0; ch < c; ch++) {
                        out[o++] = fast.data[px + off[ch]];
                    }
                }
            }
            return new DecodedImage(mode, sourceMode, w, h, out, null, format);
        }
        int[] row = new int[w * nb];
        for (int y = 0; y < h; y++) {
            r.getPixels(0, y, w, 1, row);
            for (int x = 0; x < w; x++) {
                for (int ch = 0; ch < c; ch++) {
                    out[(y * w + x) * c + ch] = (byte) (row[x * nb + src[ch]] >> shift);
                }
            }
        }
        return new DecodedImage(mode, sourceMode, w, h, out, null, format);
    }

    /** An 8-bit pixel-interleaved raster we can read straight from its byte array. */
    private record ByteLayout(byte[] data, int offset, int pixelStride, int scanlineStride, int[] bandOffsets) {
        static ByteLayout of(Raster r) {
            if (!(r.getDataBuffer() instanceof DataBufferByte db)
                    || db.getNumBanks() != 1
                    || !(r.getSampleModel() instanceof ComponentSampleModel sm)
                    || r.getSampleModelTranslateX() != 0
                    || r.getSampleModelTranslateY() != 0) {
                return null;
            }
            for (int bank : sm.getBankIndices()) {
                if (bank != 0) {
                    return null;
                }
            }
            return new ByteLayout(
                    db.getData(), db.getOffset(), sm.getPixelStride(), sm.getScanlineStride(), sm.getBandOffsets());
        }
    }

    private static DecodedImage palette(BufferedImage bi, String format, IndexColorModel icm) {
        int n = icm.getMapSize();
        byte[] pal = new byte[n * 3];
        for (int i = 0; i < n; i++) {
            pal[i * 3] = (byte) icm.getRed(i);
            pal[i * 3 + 1] = (byte) icm.getGreen(i);
            pal[i * 3 + 2] = (byte) icm.getBlue(i);
        }
        int w = bi.getWidth();
        int h = bi.getHeight();
        byte[] out = firstBand(bi, v -> v);
        return new DecodedImage(PixelMode.P, "P", w, h, out, pal, format);
    }
}
