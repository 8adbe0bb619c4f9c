package io.inctrl.serve.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * A bounded memory bank: greedy k-centre (PatchCore's coreset) selection of a prompt set's patch tokens per tap, so
 * a set of any number of shots costs at most {@code budget} token rows per tap at query time (the residual of spec §4
 * grows linearly with the bank).
 *
 * <p>Greedy k-centre picks, one at a time, the token farthest from those already chosen; the covering radius (the
 * largest distance of any bank token to its nearest chosen one) therefore falls with every pick, and a query's
 * nearest-neighbour distance moves by at most that radius (triangle inequality, in the Euclidean distance of unit
 * vectors, √(2(1 − cos))). It is a 2-approximation of the best radius for the budget.
 *
 * <p>Deterministic, and identical to the Python reference {@code inctrl_export.residual.coreset} (pinned by a
 * fixture): tokens wider than {@link #PROJECTION_DIMS} are projected by a fixed Rademacher matrix (PatchCore's random
 * projection; each greedy step reads every row once, so the width is the cost); the first centre is the token nearest
 * the mean (lowest index on ties), so the choice does not depend on shot order; then argmax of the squared distance to
 * the chosen set, first index on ties. The same float operations in the same order as the reference, on libtorch.
 */
public final class Coreset {

    /** Projected width of the greedy search (PatchCore's default 128). */
    public static final int PROJECTION_DIMS = 128;
    /** Seed of the projection: fixed, so a set's bank depends on its tokens only. */
    public static final long PROJECTION_SEED = 0x1C7A1C0DE5E7L;

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final long MIX1 = 0xBF58476D1CE4E5B9L;
    private static final long MIX2 = 0x94D049BB133111EBL;

    private Coreset() {}

    /**
     * The bank to store for a set: every tap with more than {@code budgetPerTap} rows reduced to its coreset (rows
     * kept in their original order), the others unchanged; the prototype is kept. Returns {@code full} itself when no
     * tap exceeds the budget (exact search below the budget).
     */
    public static PromptFeatures reduce(PromptFeatures full, int budgetPerTap) {
        return reduceTracked(full, budgetPerTap).bank();
    }

    /**
     * A reduced bank and where its rows came from.
     *
     * @param kept per tap, the ascending row indices of the full bank that were kept; null where the tap was kept
     *     whole (at or below the budget)
     */
    public record Reduction(PromptFeatures bank, int[][] kept) {}

    /** {@link #reduce}, remembering which rows of the full bank each tap kept (for leave-one-shot-out banks). */
    public static Reduction reduceTracked(PromptFeatures full, int budgetPerTap) {
        if (budgetPerTap < 1) {
            throw new IllegalArgumentException("coreset budget must be >= 1, got " + budgetPerTap);
        }
        boolean any = false;
        float[][] tokens = new float[full.tokens().length][];
        int[][] kept = new int[tokens.length][];
        for (int l = 0; l < tokens.length; l++) {
            int rows = full.rows(l);
            if (rows <= budgetPerTap) {
                tokens[l] = full.tokens()[l];
                continue;
            }
            any = true;
            kept[l] = select(full.tokens()[l], full.width(), budgetPerTap);
            tokens[l] = gather(full.tokens()[l], full.width(), kept[l]);
        }
        return new Reduction(
                any ? new PromptFeatures(full.shots(), full.width(), tokens, full.prototype()) : full, kept);
    }

    /**
     * The reduced bank without the rows that came from shot {@code shot}: what a leave-one-out calibration score of
     * that shot is computed against when the set is served from a coreset (the full bank held {@code rowsPerView}
     * rows per view, view v belonging to shot {@code shotOfView[v]}). Cheaper than a coreset of the other K − 1 shots
     * and close to it; its scores run slightly high (rows of other shots that the shot's own rows made redundant are
     * not in the coreset), which errs towards fewer false positives. {@code prototype}: the other shots' mean ψ(g)
     * (bundles with heads; the caller has it from the shots' encodings).
     */
    public static PromptFeatures withoutShot(
            Reduction r, int rowsPerView, int[] shotOfView, int shot, float[] prototype) {
        PromptFeatures b = r.bank();
        float[][] tokens = new float[b.tokens().length][];
        for (int l = 0; l < tokens.length; l++) {
            int n = b.rows(l);
            int[] keep = new int[n];
            int m = 0;
            for (int i = 0; i < n; i++) {
                int original = r.kept()[l] == null ? i : r.kept()[l][i];
                if (shotOfView[original / rowsPerView] != shot) {
                    keep[m++] = i;
                }
            }
            if (m == 0) {
                throw new IllegalArgumentException("every kept row of tap " + l + " came from shot " + shot);
            }
            tokens[l] = gather(b.tokens()[l], b.width(), java.util.Arrays.copyOf(keep, m));
        }
        return new PromptFeatures(Math.max(1, b.shots() - 1), b.width(), tokens, prototype);
    }

    /** Indices (ascending) of the coreset of {@code budget} rows of {@code rows} ([n, width]); all when n <= budget. */
    public static int[] select(float[] rows, int width, int budget) {
        int n = rows.length / width;
        if (budget >= n) {
            int[] all = new int[n];
            Arrays.setAll(all, i -> i);
            return all;
        }
        int[] order = order(rows, width, budget);
        Arrays.sort(order);
        return order;
    }

    /**
     * The first min(budget, n) rows in greedy order: the coreset of every smaller budget is a prefix of it (so the
     * covering radius can only fall as the budget grows).
     */
    public static int[] order(float[] rows, int width, int budget) {
        if (budget < 1) {
            throw new IllegalArgumentException("coreset budget must be >= 1, got " + budget);
        }
        if (width < 1 || rows.length % width != 0 || rows.length == 0) {
            throw new IllegalArgumentException(rows.length + " values are not rows of width " + width);
        }
        int n = rows.length / width;
        int k = Math.min(budget, n);
        int[] chosen = new int[k];
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray x = m.create(rows, new Shape(n, width));
            NDArray z = width > PROJECTION_DIMS
                    ? x.matMul(m.create(projection(width, PROJECTION_DIMS), new Shape(width, PROJECTION_DIMS)))
                    : x;
            NDArray sq = z.mul(z).sum(new int[] {1});
            NDArray mean = z.mean(new int[] {0});
            // ‖z − mean‖² up to the constant ‖mean‖²
            chosen[0] = firstCentre(sq, z, mean);
            NDArray dist = squaredDistances(z, sq, chosen[0]);
            for (int c = 1; c < k; c++) {
                try (NDScope scope = new NDScope()) {
                    int next = (int) dist.argMax().getLong();
                    chosen[c] = next;
                    NDArray updated = dist.minimum(squaredDistances(z, sq, next));
                    NDScope.unregister(updated);
                    dist.close();
                    dist = updated;
                }
            }
        }
        return chosen;
    }

    private static int firstCentre(NDArray sq, NDArray z, NDArray mean) {
        return (int) sq.sub(z.matMul(mean).mul(2f)).argMin().getLong();
    }

    /** ‖z_n − z_i‖² = ‖z_n‖² + ‖z_i‖² − 2 z_n·z_i, clamped at 0 (rounding), as the reference. */
    private static NDArray squaredDistances(NDArray z, NDArray sq, int i) {
        return sq.add(sq.get(i)).sub(z.matMul(z.get(i)).mul(2f)).clip(0f, Float.MAX_VALUE);
    }

    /**
     * [width, dims] row-major Rademacher matrix ±1/√dims: entry e = row·dims + col has the sign of the top bit of
     * SplitMix64's finaliser of seed + (e + 1)·golden (Python: {@code inctrl_export.residual.projection}).
     */
    public static float[] projection(int width, int dims) {
        float[] r = new float[width * dims];
        float scale = 1f / (float) Math.sqrt(dims);
        for (int e = 0; e < r.length; e++) {
            long z = PROJECTION_SEED + (e + 1L) * GOLDEN;
            z = (z ^ (z >>> 30)) * MIX1;
            z = (z ^ (z >>> 27)) * MIX2;
            z = z ^ (z >>> 31);
            r[e] = z < 0 ? -scale : scale;
        }
        return r;
    }

    /**
     * The covering radius of {@code selected} over all rows: max over rows of ½(1 − max cos) to the selected rows,
     * i.e. the largest residual the reduction adds to a bank token itself (in the metric of spec §4, unprojected).
     */
    public static float coveringRadius(float[] rows, int width, int[] selected) {
        int n = rows.length / width;
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray x = m.create(rows, new Shape(n, width));
            NDArray bank = m.create(gather(rows, width, selected), new Shape(selected.length, width));
            NDArray best = x.matMul(bank.transpose()).max(new int[] {1});
            return best.neg().add(1f).div(2f).max().getFloat();
        }
    }

    private static float[] gather(float[] rows, int width, int[] idx) {
        float[] out = new float[idx.length * width];
        for (int i = 0; i < idx.length; i++) {
            System.arraycopy(rows, idx[i] * width, out, i * width, width);
        }
        return out;
    }
}
