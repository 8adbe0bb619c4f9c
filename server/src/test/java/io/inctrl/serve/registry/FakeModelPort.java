package io.inctrl.serve.registry;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.model.EncodedImages;
import io.inctrl.serve.model.ImageFeatures;
import io.inctrl.serve.model.InctrlScores;
import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import io.inctrl.serve.text.PromptTemplates;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

/**
 * A tiny deterministic stand-in for the model core: 2×2 "patches" of 8 features from real pixel statistics,
 * three taps, 6-d global embedding, the InCTRL residual formulas on top. Counts every call so tests can prove
 * what was (not) encoded.
 */
@Alternative
@ApplicationScoped
public class FakeModelPort implements ModelPort {

    static final int PATCHES = 4;
    static final int WIDTH = 8;
    static final int EMBED = 6;
    static final int TAPS = 3;
    private static final Pattern TOKEN = Pattern.compile("[a-z]+|[0-9]|[^\\sa-z0-9]+");

    public volatile String bundleId = "fake-bundle-1";
    public final AtomicInteger encodeCalls = new AtomicInteger();
    public final AtomicInteger imagesEncoded = new AtomicInteger();
    public final AtomicInteger textPriorCalls = new AtomicInteger();
    public final AtomicInteger scoreCalls = new AtomicInteger();

    @Override
    public String bundleId() {
        return bundleId;
    }

    @Override
    public EncodedImages encodeImages(List<byte[]> images) {
        encodeCalls.incrementAndGet();
        int n = images.size();
        float[] g = new float[n * EMBED];
        float[][] taps = new float[TAPS][n * PATCHES * WIDTH];
        for (int i = 0; i < n; i++) {
            BufferedImage img;
            try {
                img = ImageIO.read(new ByteArrayInputStream(images.get(i)));
            } catch (IOException | RuntimeException e) {
                img = null;
            }
            if (img == null) {
                throw ServeException.invalid(
                        io.inctrl.serve.error.Reason.UNDECODABLE_IMAGE, "image " + i + " cannot be decoded");
            }
            imagesEncoded.incrementAndGet();
            double[] total = new double[4];
            for (int p = 0; p < PATCHES; p++) {
                double[] s = stats(img, p % 2, p / 2);
                for (int k = 0; k < 4; k++) {
                    total[k] += s[k] / PATCHES;
                }
                for (int l = 0; l < TAPS; l++) {
                    float[] v = {
                        (float) (s[0] - 0.45),
                        (float) (s[1] - 0.4),
                        (float) (s[2] - 0.35),
                        (float) s[3] * 4,
                        (float) ((s[0] - 0.5) * (s[1] - 0.5)),
                        (float) ((s[2] - 0.4) * (l + 1)),
                        0.05f,
                        0.02f * (l + 1)
                    };
                    normalize(v);
                    System.arraycopy(v, 0, taps[l], (i * PATCHES + p) * WIDTH, WIDTH);
                }
            }
            float[] gi = {(float) total[0], (float) total[1], (float) total[2], (float) total[3], 0.5f, 0.25f};
            System.arraycopy(gi, 0, g, i * EMBED, EMBED);
        }
        float[] adapted = new float[g.length]; // ψ = ReLU here
        for (int i = 0; i < g.length; i++) {
            adapted[i] = Math.max(0, g[i]);
        }
        return new EncodedImages(new ImageFeatures(n, EMBED, PATCHES, WIDTH, g, taps), adapted);
    }

    @Override
    public TextPrior textPrior(PromptTemplates templates, String category) {
        textPriorCalls.incrementAndGet();
        return new TextPrior(embed(templates.normalSentences(category)), embed(templates.anomalousSentences(category)));
    }

    @Override
    public InctrlScores score(ImageFeatures q, PromptFeatures p, TextPrior prior) {
        scoreCalls.incrementAndGet();
        float[] map = new float[PATCHES];
        int refs = p.shots() * p.patches();
        for (int l = 0; l < TAPS; l++) {
            for (int j = 0; j < PATCHES; j++) {
                double best = Double.MAX_VALUE;
                for (int t = 0; t < refs; t++) {
                    double dot = 0;
                    for (int d = 0; d < WIDTH; d++) {
                        dot += q.taps()[l][j * WIDTH + d] * p.tokens()[l][t * WIDTH + d];
                    }
                    best = Math.min(best, 0.5 * (1 - dot));
                }
                map[j] += (float) (best / TAPS);
            }
        }
        float sP = 0;
        float mean = 0;
        for (float m : map) {
            sP = Math.max(sP, m);
            mean += m / PATCHES;
        }
        float[] g = q.g(0);
        float l1 = 0;
        for (int d = 0; d < EMBED; d++) {
            l1 += Math.abs(p.prototype()[d] - Math.max(0, g[d]));
        }
        float sI = sigmoid(4 * l1 - 2);
        normalize(g);
        double dn = 0;
        double da = 0;
        for (int d = 0; d < EMBED; d++) {
            dn += g[d] * prior.normal()[d];
            da += g[d] * prior.anomalous()[d];
        }
        float sA = sigmoid((float) (10 * (da - dn)));
        float sH = sigmoid(20 * mean + sI + sA - 2);
        return new InctrlScores((sH + sP) / 2, sH, sP, sI, sA, map, 2, 2);
    }

    @Override
    public int maxTokens(String sentence) {
        Matcher m = TOKEN.matcher(sentence.toLowerCase(Locale.ROOT));
        int n = 2;
        while (m.find()) {
            n++;
        }
        return n;
    }

    /** Mean RGB in [0,1] and luminance std of one quadrant. */
    private static double[] stats(BufferedImage img, int qx, int qy) {
        int w = img.getWidth();
        int h = img.getHeight();
        int x0 = qx * w / 2;
        int x1 = Math.max(x0 + 1, (qx + 1) * w / 2);
        int y0 = qy * h / 2;
        int y1 = Math.max(y0 + 1, (qy + 1) * h / 2);
        double r = 0, gg = 0, b = 0, l2 = 0, l = 0;
        int n = 0;
        for (int y = y0; y < Math.min(y1, h); y++) {
            for (int x = x0; x < Math.min(x1, w); x++) {
                int rgb = img.getRGB(x, y);
                double cr = ((rgb >> 16) & 255) / 255.0, cg = ((rgb >> 8) & 255) / 255.0, cb = (rgb & 255) / 255.0;
                double lum = 0.299 * cr + 0.587 * cg + 0.114 * cb;
                r += cr;
                gg += cg;
                b += cb;
                l += lum;
                l2 += lum * lum;
                n++;
            }
        }
        double ml = l / n;
        return new double[] {r / n, gg / n, b / n, Math.sqrt(Math.max(0, l2 / n - ml * ml))};
    }

    private static float[] embed(List<String> sentences) {
        float[] v = new float[EMBED];
        for (String s : sentences) {
            int h = s.hashCode();
            for (int d = 0; d < EMBED; d++) {
                v[d] += ((h >> (d * 5)) & 31) / 31f;
            }
        }
        normalize(v);
        return v;
    }

    private static void normalize(float[] v) {
        double n = 0;
        for (float x : v) {
            n += x * x;
        }
        n = Math.sqrt(n);
        if (n > 0) {
            for (int i = 0; i < v.length; i++) {
                v[i] /= (float) n;
            }
        }
    }

    private static float sigmoid(float x) {
        return (float) (1 / (1 + Math.exp(-x)));
    }
}
