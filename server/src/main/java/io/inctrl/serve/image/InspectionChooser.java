package io.inctrl.serve.image;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The rule of {@link Inspection#AUTO}: which mode a prompt set's images are cut by, from its shots alone (no anomaly
 * is known at registration). Pure: the registry supplies the shots' sizes and, where geometry leaves a choice, the
 * leave-one-out calibration scores of the shots under each candidate mode.
 *
 * <ol>
 *   <li><b>Geometry.</b> Every shot near-square (long/short side ≤ {@value #NEAR_SQUARE}) → centre crop: it sees at
 *       least 83 % of each frame, is the official preprocessing, and the other modes give (nearly) the same input.
 *       Every shot a long strip (≥ {@value #STRIP}:1) → tiles: a resized strip keeps at most an eighth of the input
 *       rows (two of the 17 patch rows of the default bundle), too few for any defect (resize if the strips need more
 *       tiles than allowed).</li>
 *   <li><b>Leave-one-out</b>, in between or for shots of mixed shapes: the centre crop would be blind to the rest of
 *       the frame, so only the whole-frame modes compete, resize and tiles. Each one's LOO scores (each shot against
 *       the other K − 1, the calibration's own statistic, in the same units for both: ½(1 − cos) of the same
 *       network's tokens, or the heads' score) say how well the other normal shots explain each shot under that view;
 *       the lower median wins (ties: resize), as a lower median leaves more room between normal images and defects.
 *       The centre crop is not a candidate here because LOO favours a view that shows less (measured: on 4:1 leather
 *       strips it had the lowest LOO scores and the lowest AUROC). The choice and the medians are recorded.</li>
 * </ol>
 *
 * Measured on shared/train (tools/train/results/inspection-auto-*.txt, docs/registry.md "Inspection mode").
 */
public final class InspectionChooser {

    /** Long/short side at or below which a frame counts as square. */
    public static final double NEAR_SQUARE = 1.2;
    /** Long/short side from which a frame counts as a strip too long to resize. */
    public static final double STRIP = 8.0;

    private InspectionChooser() {}

    /** The outcome of the geometry step: a decision, or the candidates the leave-one-out scores decide between. */
    public record Step(InspectionChoice decided, List<Inspection> candidates, String geometry) {
        public boolean isDecided() {
            return decided != null;
        }
    }

    /**
     * @param sizes     width and height of each shot
     * @param inputSize the model's S (tile side)
     * @param maxTiles  tiles allowed per image ({@code inctrl.inspection.max-tiles})
     */
    public static Step byGeometry(List<int[]> sizes, int inputSize, int maxTiles) {
        if (sizes.isEmpty()) {
            throw new IllegalArgumentException("no shots");
        }
        double[] aspect = sizes.stream()
                .mapToDouble(s -> Math.max(s[0], s[1]) / (double) Math.min(s[0], s[1]))
                .toArray();
        double min = Arrays.stream(aspect).min().orElseThrow();
        double max = Arrays.stream(aspect).max().orElseThrow();
        boolean tilesFit = sizes.stream()
                .allMatch(s -> FrameTiling.of(s[0], s[1], inputSize).count() <= maxTiles);
        String geometry = min == max
                ? String.format(Locale.ROOT, "%d shots of long/short side %.2f", sizes.size(), max)
                : String.format(Locale.ROOT, "%d shots of long/short side %.2f to %.2f", sizes.size(), min, max);
        if (max <= NEAR_SQUARE) {
            return new Step(
                    new InspectionChoice(
                            Inspection.CENTER_CROP,
                            geometry + ": near-square (at most " + NEAR_SQUARE
                                    + "), the centre crop sees at least 83 % of each frame"),
                    List.of(Inspection.CENTER_CROP),
                    geometry);
        }
        if (min >= STRIP) {
            if (tilesFit) {
                return new Step(
                        new InspectionChoice(
                                Inspection.TILES,
                                geometry + ": long strips (at least " + STRIP
                                        + ":1), a resized strip keeps too few rows; tiles keep the resolution"),
                        List.of(Inspection.TILES),
                        geometry);
            }
            return new Step(
                    new InspectionChoice(
                            Inspection.RESIZE,
                            geometry + ": strips that need more than " + maxTiles
                                    + " tiles (inctrl.inspection.max-tiles); the whole frame resized"),
                    List.of(Inspection.RESIZE),
                    geometry);
        }
        if (!tilesFit) {
            return new Step(
                    new InspectionChoice(
                            Inspection.RESIZE,
                            geometry + ": not square, and tiling would need more than " + maxTiles
                                    + " tiles (inctrl.inspection.max-tiles); the whole frame resized"),
                    List.of(Inspection.RESIZE),
                    geometry);
        }
        return new Step(null, List.of(Inspection.RESIZE, Inspection.TILES), geometry);
    }

    /**
     * The leave-one-out step for an undecided geometry: {@code loo} holds each candidate's LOO shot scores (at least
     * 2 shots). Fewer than 2 shots: no LOO scores exist, the whole frame is resized (the cheaper whole-frame mode).
     */
    public static InspectionChoice byLeaveOneOut(Step step, Map<Inspection, float[]> loo) {
        if (step.isDecided()) {
            return step.decided();
        }
        List<Inspection> usable = step.candidates().stream()
                .filter(m -> loo.containsKey(m) && loo.get(m).length >= 2)
                .toList();
        if (usable.isEmpty()) {
            return new InspectionChoice(
                    Inspection.RESIZE,
                    step.geometry() + ": not square, and no leave-one-out scores (K < 2): the whole frame resized");
        }
        Inspection best = null;
        double bestMedian = Double.POSITIVE_INFINITY;
        StringBuilder medians = new StringBuilder();
        for (Inspection m : usable) {
            double median = median(loo.get(m));
            medians.append(medians.length() == 0 ? "" : ", ")
                    .append(m.wireName())
                    .append(String.format(Locale.ROOT, " %.4f", median));
            if (median < bestMedian) {
                bestMedian = median;
                best = m;
            }
        }
        return new InspectionChoice(
                best,
                step.geometry() + ": not square, so a whole-frame mode; median leave-one-out score " + medians + ": "
                        + best.wireName() + " explains the shots best");
    }

    static double median(float[] v) {
        float[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    }
}
