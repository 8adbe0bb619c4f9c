package io.inctrl.serve.model;

/**
 * Scores of one query. {@code sH}, {@code sI}, {@code sA} are null for bundles without InCTRL heads.
 *
 * @param map residual map M, row-major [mapHeight, mapWidth], values in [0,1]
 */
public record InctrlScores(
        float score, Float sH, float sP, Float sI, Float sA, float[] map, int mapHeight, int mapWidth) {}
