package io.inctrl.serve.registry;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;

/** Synthetic shot images: smooth "normal" textures per seed, plus broken inputs for negative tests. */
public final class TestImages {

    private TestImages() {}

    /** A normal-looking 32×32 PNG: a gentle gradient with little seed-dependent noise. */
    public static byte[] normal(int seed) {
        return png(seed, false);
    }

    /** A clearly different image (a bright defect blob in one quadrant). */
    public static byte[] anomalous(int seed) {
        return png(seed, true);
    }

    public static List<byte[]> normals(int k) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            out.add(normal(i));
        }
        return out;
    }

    /** A w x h PNG of one grey: e.g. 1x1, an image too small to show anything. */
    public static byte[] solid(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, 0x808080);
            }
        }
        return png(img);
    }

    private static byte[] png(BufferedImage img) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(img, "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A PNG cut in half: a valid signature and header, then nothing. */
    public static byte[] corrupt() {
        byte[] ok = normal(99);
        return Arrays.copyOf(ok, ok.length / 2);
    }

    public static byte[] undecodable() {
        return "this is not an image at all".getBytes();
    }

    /**
     * A PNG that declares w x h RGB pixels in a valid IHDR (CRC included) but carries a few garbage bytes of data:
     * its size can be read from the header, decoding it fails.
     */
    public static byte[] pngHeaderOnly(int w, int h) {
        ByteBuffer b = ByteBuffer.allocate(8 + 25 + 16 + 12);
        b.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
        byte[] ihdr = ByteBuffer.allocate(17)
                .put("IHDR".getBytes(StandardCharsets.US_ASCII))
                .putInt(w)
                .putInt(h)
                .put((byte) 8)
                .put((byte) 2)
                .put((byte) 0)
                .put((byte) 0)
                .put((byte) 0)
                .array();
        CRC32 crc = new CRC32();
        crc.update(ihdr);
        b.putInt(13).put(ihdr).putInt((int) crc.getValue());
        b.putInt(4)
                .put("IDAT".getBytes(StandardCharsets.US_ASCII))
                .put(new byte[] {1, 2, 3, 4})
                .putInt(0);
        b.putInt(0).put("IEND".getBytes(StandardCharsets.US_ASCII)).putInt(0xAE426082);
        return b.array();
    }

    private static byte[] png(int seed, boolean defect) {
        Random rnd = new Random(seed);
        BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                int base = 100 + x * 2 + rnd.nextInt(6);
                int r = base;
                int g = base - 20;
                int b = 60 + y;
                if (defect && x >= 16 && y >= 16) {
                    r = 250;
                    g = 10 + rnd.nextInt(80);
                    b = 250 - rnd.nextInt(100);
                }
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return png(img);
    }
}
