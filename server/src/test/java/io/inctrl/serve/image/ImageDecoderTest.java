package io.inctrl.serve.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.inctrl.serve.image.InvalidImageException.Reason;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every {@link Reason}, plus decoding basics that need no Python fixtures. */
class ImageDecoderTest {

    private final ImageDecoder decoder = new ImageDecoder();

    static byte[] png(int w, int h, int type) throws IOException {
        BufferedImage bi = new BufferedImage(w, h, type);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                bi.setRGB(x, y, (x * 7 + y * 13) * 0x010203);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(bi, "png", out)).isTrue();
        return out.toByteArray();
    }

    private static void assertReason(ImageDecoder d, byte[] bytes, Reason reason) {
        assertThatThrownBy(() -> d.decode(bytes)).isInstanceOfSatisfying(InvalidImageException.class, e -> {
            assertThat(e.reason()).isEqualTo(reason);
            assertThat(e.getMessage())
                    .startsWith(reason.name() + ": ")
                    .hasSizeGreaterThan(reason.name().length() + 10);
        });
    }

    @Test
    void empty() {
        assertReason(decoder, new byte[0], Reason.EMPTY);
        assertReason(decoder, null, Reason.EMPTY);
    }

    @Test
    void truncatedPng() throws IOException {
        byte[] ok = png(300, 200, BufferedImage.TYPE_INT_RGB);
        assertThat(decoder.decode(ok).mode()).isEqualTo(PixelMode.RGB);
        assertReason(decoder, Arrays.copyOf(ok, ok.length / 2), Reason.UNDECODABLE);
        assertReason(decoder, Arrays.copyOf(ok, 40), Reason.UNDECODABLE); // header only
    }

    @Test
    void corruptPngData() throws IOException {
        byte[] bad = png(64, 64, BufferedImage.TYPE_INT_RGB);
        for (int i = 41; i < bad.length - 12; i++) { // scramble everything after the IHDR
            bad[i] = (byte) (bad[i] * 31 + 7);
        }
        assertReason(decoder, bad, Reason.UNDECODABLE);
    }

    @Test
    void randomBytesAreUnsupported() {
        byte[] noise = new byte[4096];
        new Random(42).nextBytes(noise);
        noise[0] = 0x11; // no magic can match by chance
        assertReason(decoder, noise, Reason.UNSUPPORTED_FORMAT);
        assertReason(decoder, "GIF89a....".getBytes(), Reason.UNSUPPORTED_FORMAT);
    }

    @Test
    void tooManyBytes() throws IOException {
        byte[] ok = png(50, 50, BufferedImage.TYPE_INT_RGB);
        ImageDecoder small = new ImageDecoder(new ImageLimits(ok.length - 1, 1_000_000));
        assertReason(small, ok, Reason.TOO_MANY_BYTES);
        assertThat(new ImageDecoder(new ImageLimits(ok.length, 2500)).decode(ok).width())
                .isEqualTo(50);
    }

    @Test
    void tooManyPixels() throws IOException {
        assertReason(
                new ImageDecoder(new ImageLimits(1 << 20, 2499)),
                png(50, 50, BufferedImage.TYPE_INT_RGB),
                Reason.TOO_MANY_PIXELS);
    }

    /** A 100 000 x 100 000 PNG of a few hundred bytes is refused from its header, before allocation. */
    @Test
    void decompressionBombRefusedFromHeader() {
        ByteBuffer b = ByteBuffer.allocate(8 + 25 + 12);
        b.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
        byte[] ihdr = ByteBuffer.allocate(17)
                .put("IHDR".getBytes())
                .putInt(100_000)
                .putInt(100_000)
                .put((byte) 8)
                .put((byte) 2)
                .put((byte) 0)
                .put((byte) 0)
                .put((byte) 0)
                .array();
        CRC32 crc = new CRC32();
        crc.update(ihdr);
        b.putInt(13).put(ihdr).putInt((int) crc.getValue());
        b.putInt(0).put("IEND".getBytes()).putInt(0xAE426082);
        assertReason(decoder, b.array(), Reason.TOO_MANY_PIXELS);
    }

    /** SOF0 with 4 components (CMYK/YCCK) is refused before decoding. */
    @Test
    void cmykJpegUnsupported() {
        byte[] sof = {
            (byte) 0xFF,
            (byte) 0xD8,
            (byte) 0xFF,
            (byte) 0xE0,
            0,
            4,
            0,
            0,
            (byte) 0xFF,
            (byte) 0xC0,
            0,
            20,
            8,
            0,
            16,
            0,
            16,
            4,
            1,
            0x11,
            0,
            2,
            0x11,
            0,
            3,
            0x11,
            0,
            4,
            0x11,
            0
        };
        assertThat(ImageDecoder.jpegComponents(sof)).isEqualTo(4);
        assertReason(decoder, sof, Reason.UNSUPPORTED_FORMAT);
    }

    @Test
    void truncatedJpegUndecodable() throws IOException {
        BufferedImage bi = new BufferedImage(64, 48, BufferedImage.TYPE_3BYTE_BGR);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(bi, "jpeg", out);
        byte[] jpg = out.toByteArray();
        assertThat(decoder.decode(jpg).mode()).isEqualTo(PixelMode.RGB);
        assertReason(decoder, Arrays.copyOf(jpg, 30), Reason.UNDECODABLE);
    }

    /** A noisy 80x64 JPEG (noise keeps the entropy-coded data long, so a cut lands inside it). */
    static byte[] noisyJpeg(boolean progressive) throws IOException {
        BufferedImage bi = new BufferedImage(80, 64, BufferedImage.TYPE_3BYTE_BGR);
        Random rnd = new Random(3);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 80; x++) {
                bi.setRGB(x, y, rnd.nextInt(0x1000000));
            }
        }
        javax.imageio.ImageWriter w =
                ImageIO.getImageWritersByFormatName("jpeg").next();
        javax.imageio.ImageWriteParam p = w.getDefaultWriteParam();
        if (progressive) {
            p.setProgressiveMode(javax.imageio.ImageWriteParam.MODE_DEFAULT);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (javax.imageio.stream.ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            w.setOutput(ios);
            w.write(null, new javax.imageio.IIOImage(bi, null, null), p);
        }
        w.dispose();
        return out.toByteArray();
    }

    /** ImageIO decodes a JPEG cut anywhere after its header (it pads with a fake EOI); Pillow refuses it. */
    @Test
    void jpegCutInsideItsData_isUndecodable_asPillowRefusesIt() throws IOException {
        for (boolean progressive : new boolean[] {false, true}) {
            byte[] jpg = noisyJpeg(progressive);
            assertThat(decoder.decode(jpg).mode()).isEqualTo(PixelMode.RGB);
            assertThat(decoder.decode(Arrays.copyOf(jpg, jpg.length + 64)).width())
                    .isEqualTo(80); // padding after EOI
            assertReason(decoder, Arrays.copyOf(jpg, jpg.length / 2), Reason.UNDECODABLE);
            assertReason(decoder, Arrays.copyOf(jpg, jpg.length - 2), Reason.UNDECODABLE); // only the EOI missing
        }
    }

    /** Pillow checks the CRC of every chunk before the first IDAT and skips the later ones; so do we. */
    @Test
    void pngWithABadChunkCrcBeforeTheImageData_isUndecodable_asPillowRefusesIt() throws IOException {
        byte[] ok = png(40, 30, BufferedImage.TYPE_INT_RGB);
        byte[] badIhdr = ok.clone();
        badIhdr[29] ^= 0x5A; // IHDR's CRC
        assertReason(decoder, badIhdr, Reason.UNDECODABLE);
        assertThatThrownBy(() -> decoder.header(badIhdr)).hasMessageContaining("IHDR has a bad CRC");
        byte[] badIdat = ok.clone();
        int idat = 33;
        assertThat(new String(ok, idat + 4, 4, java.nio.charset.StandardCharsets.US_ASCII))
                .isEqualTo("IDAT");
        int len = ByteBuffer.wrap(ok, idat, 4).getInt();
        badIdat[idat + 8 + len] ^= 0x5A; // IDAT's CRC: Pillow does not check it
        assertThat(decoder.decode(badIdat).width()).isEqualTo(40);
    }

    /** 32-bit samples (PIL "F"/"I") were refused with "java.lang.ArithmeticException: / by zero". */
    @Test
    void floatAndInt32Tiff_areUnsupportedFormat_fromTheHeader() throws IOException {
        for (int type : new int[] {java.awt.image.DataBuffer.TYPE_FLOAT, java.awt.image.DataBuffer.TYPE_INT}) {
            java.awt.image.ColorModel cm = new java.awt.image.ComponentColorModel(
                    java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_GRAY),
                    false,
                    false,
                    java.awt.Transparency.OPAQUE,
                    type);
            BufferedImage bi = new BufferedImage(cm, cm.createCompatibleWritableRaster(16, 8), false, null);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            assertThat(ImageIO.write(bi, "tiff", out)).isTrue();
            byte[] tiff = out.toByteArray();
            assertReason(decoder, tiff, Reason.UNSUPPORTED_FORMAT);
            assertThatThrownBy(() -> decoder.header(tiff)).isInstanceOfSatisfying(InvalidImageException.class, e -> {
                assertThat(e.reason()).isEqualTo(Reason.UNSUPPORTED_FORMAT);
                assertThat(e.getMessage())
                        .contains("samples")
                        .doesNotContain("Exception")
                        .doesNotContain("by zero");
            });
        }
    }

    /** A request's pixel budget is read from headers: a 6000x6000 PNG with garbage data is measured, not decoded. */
    @Test
    void header_readsTheDeclaredSizeWithoutDecoding() {
        byte[] bomb = io.inctrl.serve.registry.TestImages.pngHeaderOnly(6000, 6000);
        ImageDecoder.Header h = decoder.header(bomb);
        assertThat(h.format()).isEqualTo("png");
        assertThat(h.pixels()).isEqualTo(36_000_000L);
        assertReason(decoder, bomb, Reason.UNDECODABLE);
    }

    @Test
    void modesFromJavaWrittenImages() throws IOException {
        assertThat(decoder.decode(png(20, 10, BufferedImage.TYPE_BYTE_GRAY)).mode())
                .isEqualTo(PixelMode.L);
        assertThat(decoder.decode(png(20, 10, BufferedImage.TYPE_INT_ARGB)).mode())
                .isEqualTo(PixelMode.RGBA);
        DecodedImage p = decoder.decode(png(20, 10, BufferedImage.TYPE_BYTE_INDEXED));
        assertThat(p.mode()).isEqualTo(PixelMode.P);
        assertThat(p.palette()).isNotNull();
        assertThat(ImageDecoder.round16to8(0)).isZero();
        assertThat(ImageDecoder.round16to8(128)).isZero();
        assertThat(ImageDecoder.round16to8(129)).isEqualTo(1);
        assertThat(ImageDecoder.round16to8(65535)).isEqualTo(255);
    }

    @Test
    void missingFixturesFailWithTheCommandToRun(@TempDir Path empty) {
        assertThatThrownBy(() -> PreprocessFixtures.dir(empty.toString()))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining(PreprocessFixtures.SCRIPT)
                .hasMessageContaining(empty.toString());
        assertThatThrownBy(() -> PreprocessFixtures.dir(null)).hasMessageContaining("test.assets.dir");
    }
}
