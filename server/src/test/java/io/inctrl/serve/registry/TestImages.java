package io.inctrl.serve.registry;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** Synthetic shot images: smooth "normal" textures per seed, plus broken inputs for negative tests. */
public final class TestImages {

    private TestImages() {
    }

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

    /** A PNG cut in half: a valid signature and header, then nothing. */
    public static byte[] corrupt() {
        byte[] ok = normal(99);
        return Arrays.copyOf(ok, ok.length / 2);
    }

    public static byte[] undecodable() {
        return "this is not an image at all".getBytes();
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
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(img, "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
