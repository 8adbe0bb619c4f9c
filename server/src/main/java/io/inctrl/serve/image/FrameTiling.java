package io.inctrl.serve.image;

import java.util.ArrayList;
import java.util.List;

/**
 * Where the S x S tiles of {@link Inspection#TILES} lie on the shorter-side-resized frame. Per axis the count is the
 * smallest n whose evenly spread tiles overlap by at least {@code S/4} pixels; offsets are spread evenly (rounded)
 * so the first tile starts at 0 and the last ends at the frame edge.
 *
 * @param frameWidth  resized frame width (px)
 * @param frameHeight resized frame height (px)
 * @param xs          left offsets of the tile columns
 * @param ys          top offsets of the tile rows
 */
public record FrameTiling(int size, int frameWidth, int frameHeight, int[] xs, int[] ys) {

    /** Tiles overlap by at least this fraction of S (a defect on a seam is then wholly inside some tile). */
    public static int minOverlap(int size) {
        return size / 4;
    }

    /** The tiling of an image of {@code width x height} pixels (before resizing). */
    public static FrameTiling of(int width, int height, int size) {
        int[] resized = ImagePreprocessor.resizedSize(width, height, size);
        return new FrameTiling(size, resized[0], resized[1], offsets(resized[0], size), offsets(resized[1], size));
    }

    /** Evenly spread offsets of tiles of {@code size} covering {@code dim} with at least {@link #minOverlap}. */
    public static int[] offsets(int dim, int size) {
        if (dim <= size) {
            return new int[] {0};
        }
        int maxStride = size - minOverlap(size);
        int n = (int) Math.ceil((dim - size) / (double) maxStride) + 1;
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = (int) Math.round(i * (double) (dim - size) / (n - 1));
        }
        return out;
    }

    public int count() {
        return xs.length * ys.length;
    }

    /** Tile i in row-major order (rows top to bottom, columns left to right): {left, top}. */
    public int[] tile(int i) {
        return new int[] {xs[i % xs.length], ys[i / xs.length]};
    }

    /** All tiles as {left, top}, row-major. */
    public List<int[]> tiles() {
        List<int[]> out = new ArrayList<>(count());
        for (int i = 0; i < count(); i++) {
            out.add(tile(i));
        }
        return out;
    }
}
