package io.inctrl.serve.image;

/**
 * Pillow's {@code Image.resize(size, BICUBIC)} for 8-bit images, reproduced bit for bit.
 *
 * <p>Hand-written because no Java imaging library reproduces Pillow's fixed-point bicubic (its kernel, its
 * support widening and its 22-bit coefficient rounding), and the model was trained on Pillow's output.
 *
 * <p>What is mirrored:
 * <ul>
 *   <li>separable convolution with an 8-bit clipped intermediate, horizontal pass first except where Pillow 13
 *       goes vertical first (see {@link PassOrder}); a pass is skipped when that dimension does not change;</li>
 *   <li>bicubic kernel a = -0.5, support 2 widened by the downscale factor (antialiasing), per-output weights
 *       normalised to sum 1 in double, then scaled to 22 fractional bits with round-half-away-from-zero;</li>
 *   <li>accumulation starts at 0.5 (1 &lt;&lt; 21), result is shifted and clipped to 0..255;</li>
 *   <li>modes "P" and "1": nearest neighbour through Pillow's affine scale (double accumulation, truncation);</li>
 *   <li>"LA"/"RGBA": premultiplied (MULDIV255 rounding) before, un-premultiplied (integer 255*v/a, clipped) after;</li>
 *   <li>same size: returned unchanged (Pillow copies without the premultiply round trip).</li>
 * </ul>
 * A region of the output can be computed alone ({@link #resizeRegion}); every output pixel depends only on its own
 * coordinates, so the region equals the same crop of the full resize.
 */
public final class PilResize {

    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double BICUBIC_A = -0.5;
    private static final double BICUBIC_SUPPORT = 2.0;

    private PilResize() {}

    /**
     * Order of the two bicubic passes. It changes the 8-bit intermediate, hence the output, by a few levels.
     */
    public enum PassOrder {
        /**
         * Pillow 13.0 (the project's reference venv): vertical pass first when the height shrinks by more than twice
         * as many pixels as the width ({@code inH - outH > 0 && inH - outH > 2 * (inW - outW)}), else horizontal first.
         */
        PILLOW_13,
        /** Pillow up to 12.x (what the official InCTRL code ran in 2024): always horizontal first. */
        HORIZONTAL_FIRST;

        boolean horizontalFirst(int inW, int inH, int outW, int outH) {
            if (this == HORIZONTAL_FIRST) {
                return true;
            }
            int dy = inH - outH;
            return !(dy > 0 && dy > (inW - outW) * 2);
        }
    }

    /** The whole resized image, Pillow 13 pass order. */
    public static DecodedImage resize(DecodedImage img, int outW, int outH) {
        return resizeRegion(img, outW, outH, 0, 0, outW, outH, PassOrder.PILLOW_13);
    }

    /** {@link #resizeRegion(DecodedImage, int, int, int, int, int, int, PassOrder)} with Pillow 13 pass order. */
    public static DecodedImage resizeRegion(DecodedImage img, int outW, int outH, int x0, int y0, int w, int h) {
        return resizeRegion(img, outW, outH, x0, y0, w, h, PassOrder.PILLOW_13);
    }

    /**
     * The window {@code [x0, x0+w) x [y0, y0+h)} of {@code resize(img, outW, outH)}, without building the full
     * output (a 10000x20 input would otherwise need a 120000x240 intermediate).
     */
    public static DecodedImage resizeRegion(
            DecodedImage img, int outW, int outH, int x0, int y0, int w, int h, PassOrder order) {
        if (outW <= 0 || outH <= 0) {
            throw new IllegalArgumentException("output size must be positive: " + outW + "x" + outH);
        }
        if (x0 < 0 || y0 < 0 || w <= 0 || h <= 0 || x0 + w > outW || y0 + h > outH) {
            throw new IllegalArgumentException(
                    "region " + x0 + "," + y0 + " " + w + "x" + h + " outside " + outW + "x" + outH);
        }
        int c = img.mode().channels();
        if (outW == img.width() && outH == img.height()) {
            return img.withPixels(w, h, window(img.pixels(), img.width(), c, x0, y0, w, h));
        }
        if (img.mode().forcesNearest()) {
            return img.withPixels(w, h, nearest(img.pixels(), img.width(), img.height(), c, outW, outH, x0, y0, w, h));
        }
        byte[] src = img.mode().hasAlpha() ? premultiply(img.pixels(), c) : img.pixels();
        byte[] out = bicubic(src, img.width(), img.height(), c, outW, outH, x0, y0, w, h, order);
        if (img.mode().hasAlpha()) {
            unpremultiply(out, c);
        }
        return img.withPixels(w, h, out);
    }

    /** Pillow's bicubic kernel; evaluation order kept identical so the doubles match. */
    static double bicubic(double x) {
        if (x < 0.0) {
            x = -x;
        }
        if (x < 1.0) {
            return ((BICUBIC_A + 2.0) * x - (BICUBIC_A + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
            return (((x - 5) * x + 8) * x - 4) * BICUBIC_A;
        }
        return 0.0;
    }

    /** Fixed-point taps for output indices [from, from+n) of an inSize -> outSize resampling. */
    static final class Taps {
        final int ksize;
        final int[] start;
        final int[] count;
        final int[] k;

        Taps(int ksize, int n) {
            this.ksize = ksize;
            this.start = new int[n];
            this.count = new int[n];
            this.k = new int[n * ksize];
        }
    }

    static Taps taps(int inSize, int outSize, int from, int n) {
        // Pillow passes the box as floats; (double)(in1 - in0) is exact for any realistic size.
        double scale = (double) (float) inSize / outSize;
        double filterscale = scale < 1.0 ? 1.0 : scale;
        double support = BICUBIC_SUPPORT * filterscale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        double ss = 1.0 / filterscale;
        Taps t = new Taps(ksize, n);
        double[] w = new double[ksize];
        for (int i = 0; i < n; i++) {
            int xx = from + i;
            double center = (xx + 0.5) * scale;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) {
                xmin = 0;
            }
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) {
                xmax = inSize;
            }
            xmax -= xmin;
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                double v = bicubic((x + xmin - center + 0.5) * ss);
                w[x] = v;
                ww += v;
            }
            for (int x = 0; x < xmax; x++) {
                double v = ww != 0.0 ? w[x] / ww : w[x];
                t.k[i * ksize + x] =
                        v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS)) : (int) (0.5 + v * (1 << PRECISION_BITS));
            }
            t.start[i] = xmin;
            t.count[i] = xmax;
        }
        return t;
    }

    private static int clip8(int ss) {
        int v = ss >> PRECISION_BITS;
        return v < 0 ? 0 : (v > 255 ? 255 : v);
    }

    private static byte[] bicubic(
            byte[] src, int inW, int inH, int c, int outW, int outH, int x0, int y0, int w, int h, PassOrder order) {
        boolean needH = outW != inW;
        boolean needV = outH != inH;
        Taps tx = needH ? taps(inW, outW, x0, w) : null;
        Taps ty = needV ? taps(inH, outH, y0, h) : null;
        if (order.horizontalFirst(inW, inH, outW, outH)) {
            int[] rows = needV ? span(ty) : new int[] {y0, y0 + h};
            byte[] tmp = needH
                    ? horizontal(src, inW, c, rows[0], rows[1] - rows[0], tx, 0)
                    : window(src, inW, c, x0, rows[0], w, rows[1] - rows[0]);
            return needV ? vertical(tmp, w, c, ty, rows[0], 0, w) : tmp;
        }
        // Vertical first (Pillow 13, strong height reduction): needV is true here.
        int[] cols = needH ? span(tx) : new int[] {x0, x0 + w};
        byte[] tmp = vertical(src, inW, c, ty, 0, cols[0], cols[1] - cols[0]);
        return needH ? horizontal(tmp, cols[1] - cols[0], c, 0, h, tx, cols[0]) : tmp;
    }

    /** [first, end) of the input indices the taps read. */
    private static int[] span(Taps t) {
        int first = Integer.MAX_VALUE;
        int end = 0;
        for (int i = 0; i < t.start.length; i++) {
            first = Math.min(first, t.start[i]);
            end = Math.max(end, t.start[i] + t.count[i]);
        }
        return new int[] {first, end};
    }

    /** Horizontal pass over {@code rows} rows of src starting at {@code rowFrom}; src column 0 is input column {@code colOffset}. */
    private static byte[] horizontal(byte[] src, int srcW, int c, int rowFrom, int rows, Taps tx, int colOffset) {
        int w = tx.start.length;
        int half = 1 << (PRECISION_BITS - 1);
        byte[] out = new byte[w * rows * c];
        for (int r = 0; r < rows; r++) {
            int rowBase = (rowFrom + r) * srcW;
            for (int xx = 0; xx < w; xx++) {
                int start = tx.start[xx] - colOffset;
                int cnt = tx.count[xx];
                int kb = xx * tx.ksize;
                for (int ch = 0; ch < c; ch++) {
                    int ss = half;
                    for (int x = 0; x < cnt; x++) {
                        ss += (src[(rowBase + start + x) * c + ch] & 0xff) * tx.k[kb + x];
                    }
                    out[(r * w + xx) * c + ch] = (byte) clip8(ss);
                }
            }
        }
        return out;
    }

    /** Vertical pass reading src columns [colFrom, colFrom+cols); src row 0 is input row {@code rowOffset}. */
    private static byte[] vertical(byte[] src, int srcW, int c, Taps ty, int rowOffset, int colFrom, int cols) {
        int h = ty.start.length;
        int half = 1 << (PRECISION_BITS - 1);
        int rowLen = cols * c;
        int srcRowLen = srcW * c;
        byte[] out = new byte[h * rowLen];
        for (int yy = 0; yy < h; yy++) {
            int base = (ty.start[yy] - rowOffset) * srcRowLen + colFrom * c;
            int cnt = ty.count[yy];
            int kb = yy * ty.ksize;
            for (int i = 0; i < rowLen; i++) {
                int ss = half;
                for (int y = 0; y < cnt; y++) {
                    ss += (src[base + y * srcRowLen + i] & 0xff) * ty.k[kb + y];
                }
                out[yy * rowLen + i] = (byte) clip8(ss);
            }
        }
        return out;
    }

    /** Pillow's affine nearest-neighbour scale: source coordinate accumulated in double and truncated. */
    private static byte[] nearest(
            byte[] src, int inW, int inH, int c, int outW, int outH, int x0, int y0, int w, int h) {
        int[] xs = nearestTable(inW, outW, x0, w);
        int[] ys = nearestTable(inH, outH, y0, h);
        byte[] out = new byte[w * h * c];
        for (int yy = 0; yy < h; yy++) {
            int sy = ys[yy];
            for (int xx = 0; xx < w; xx++) {
                int sx = xs[xx];
                if (sy >= 0 && sx >= 0) {
                    System.arraycopy(src, (sy * inW + sx) * c, out, (yy * w + xx) * c, c);
                } // else: Pillow fills 0
            }
        }
        return out;
    }

    /** Source index (or -1) for outputs [from, from+n); the running sum must start at 0 to round like Pillow. */
    private static int[] nearestTable(int inSize, int outSize, int from, int n) {
        double a = (double) (float) inSize / outSize;
        double pos = 0.0 + a * 0.5;
        int[] tab = new int[n];
        for (int i = 0; i < from + n; i++) {
            if (i >= from) {
                int v = pos < 0.0 ? -1 : (int) pos;
                tab[i - from] = v < inSize ? v : -1;
            }
            pos += a;
        }
        return tab;
    }

    private static byte[] window(byte[] src, int inW, int c, int x0, int y0, int w, int h) {
        byte[] out = new byte[w * h * c];
        for (int r = 0; r < h; r++) {
            System.arraycopy(src, ((y0 + r) * inW + x0) * c, out, r * w * c, w * c);
        }
        return out;
    }

    /** RGBA -> RGBa / LA -> La with Pillow's MULDIV255 rounding. */
    static byte[] premultiply(byte[] src, int c) {
        byte[] out = src.clone();
        for (int p = 0; p < out.length; p += c) {
            int alpha = out[p + c - 1] & 0xff;
            for (int ch = 0; ch < c - 1; ch++) {
                int tmp = (out[p + ch] & 0xff) * alpha + 128;
                out[p + ch] = (byte) (((tmp >> 8) + tmp) >> 8);
            }
        }
        return out;
    }

    /** RGBa -> RGBA / La -> LA as Pillow does it: truncating 255*v/alpha, clipped; alpha 0 and 255 left alone. */
    static void unpremultiply(byte[] px, int c) {
        for (int p = 0; p < px.length; p += c) {
            int alpha = px[p + c - 1] & 0xff;
            if (alpha == 0 || alpha == 255) {
                continue;
            }
            for (int ch = 0; ch < c - 1; ch++) {
                int v = 255 * (px[p + ch] & 0xff) / alpha;
                px[p + ch] = (byte) (v > 255 ? 255 : v);
            }
        }
    }
}
