package io.inctrl.serve.scoring;

import io.inctrl.serve.image.FrameTiling;
import io.inctrl.serve.inference.ModelOutput;
import io.inctrl.serve.model.InctrlScores;
import java.util.List;

/**
 * Combines the per-tile results of {@link io.inctrl.serve.image.Inspection#TILES} into one image result: the score
 * (and s_*) of the tile with the highest final score, and one residual map over the whole frame.
 *
 * <p>Map resolution: one cell per patch (S / G resized pixels, 16 px for S = 240 and a 15 x 15 map). Tile t is placed
 * at cell {@code round(offset / cellSize)}; where tiles overlap the larger value wins. The frame map is therefore
 * {@code round((frameSide - S) / cellSize) + G} cells per axis, about {@code frameSide / cellSize}.
 */
final class TileMerge {

    private TileMerge() {}

    /** {@code outputs} in the tiling's row-major tile order; a single output without tiling is returned as is. */
    static ModelOutput merge(List<ModelOutput> outputs, FrameTiling tiling) {
        if (tiling == null) {
            if (outputs.size() != 1) {
                throw new IllegalStateException(outputs.size() + " views without a tiling");
            }
            return outputs.get(0);
        }
        if (outputs.size() != tiling.count()) {
            throw new IllegalStateException(outputs.size() + " results for " + tiling.count() + " tiles");
        }
        int best = 0;
        int batch = 0;
        long queue = 0;
        long encode = 0;
        long score = 0;
        for (int i = 0; i < outputs.size(); i++) {
            ModelOutput o = outputs.get(i);
            if (o.scores().score() > outputs.get(best).scores().score()) {
                best = i;
            }
            batch = Math.max(batch, o.batchSize());
            queue = Math.max(queue, o.queueNanos()); // tiles wait side by side
            encode += o.encodeNanos();
            score += o.scoreNanos();
        }
        InctrlScores top = outputs.get(best).scores();
        InctrlScores merged = new InctrlScores(top.score(), top.sH(), top.sP(), top.sI(), top.sA(), null, 0, 0);
        if (top.map() != null) {
            merged = stitch(outputs, tiling, top);
        }
        ModelOutput first = outputs.get(best);
        return new ModelOutput(first.encoded(), merged, batch, first.device(), queue, encode, score);
    }

    private static InctrlScores stitch(List<ModelOutput> outputs, FrameTiling tiling, InctrlScores top) {
        int gh = top.mapHeight();
        int gw = top.mapWidth();
        double cellW = tiling.size() / (double) gw;
        double cellH = tiling.size() / (double) gh;
        int width = cell(tiling.frameWidth() - tiling.size(), cellW) + gw;
        int height = cell(tiling.frameHeight() - tiling.size(), cellH) + gh;
        float[] map = new float[width * height];
        for (int i = 0; i < outputs.size(); i++) {
            int[] t = tiling.tile(i);
            int cx = cell(t[0], cellW);
            int cy = cell(t[1], cellH);
            float[] m = outputs.get(i).scores().map();
            for (int y = 0; y < gh; y++) {
                for (int x = 0; x < gw; x++) {
                    int j = (cy + y) * width + cx + x;
                    map[j] = Math.max(map[j], m[y * gw + x]); // residuals are >= 0, so 0 is a neutral start
                }
            }
        }
        return new InctrlScores(top.score(), top.sH(), top.sP(), top.sI(), top.sA(), map, height, width);
    }

    static int cell(int px, double cellSize) {
        return (int) Math.round(px / cellSize);
    }
}
