// The 15x15 residual map as a heatmap over the query image, on a canvas.

/** A perceptually ordered dark-blue → teal → yellow → red ramp; t in [0,1] → [r,g,b]. */
const STOPS = [
  [0.0, [13, 8, 135]], [0.25, [84, 2, 163]], [0.5, [204, 71, 120]], [0.75, [248, 149, 64]], [1.0, [240, 249, 33]],
];

export function color(t) {
  const v = Math.min(1, Math.max(0, t));
  for (let i = 1; i < STOPS.length; i++) {
    const [t1, c1] = STOPS[i];
    const [t0, c0] = STOPS[i - 1];
    if (v <= t1) {
      const f = (v - t0) / (t1 - t0);
      return c0.map((c, k) => Math.round(c + (c1[k] - c) * f));
    }
  }
  return STOPS[STOPS.length - 1][1];
}

export function range(map) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return [lo, hi];
}

/**
 * Draws the image's centre square (what the model saw: shorter side resized, centre crop) and the map on top,
 * upsampled smoothly, with `opacity`. Map values are scaled to `scale` {lo, hi} (clamped), by default to the map's
 * own [min, max]. Returns the [lo, hi] used.
 */
export function drawOverlay(canvas, image, map, rows, cols, opacity, scale) {
  const ctx = canvas.getContext('2d');
  const W = canvas.width;
  const H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  if (image) {
    const side = Math.min(image.naturalWidth, image.naturalHeight);
    const sx = (image.naturalWidth - side) / 2;
    const sy = (image.naturalHeight - side) / 2;
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(image, sx, sy, side, side, 0, 0, W, H);
  }
  const [lo, hi] = scale ? [scale.lo, scale.hi] : range(map);
  const cell = document.createElement('canvas');
  cell.width = cols;
  cell.height = rows;
  const cctx = cell.getContext('2d');
  const px = cctx.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const [r, g, b] = color(hi > lo ? (map[i] - lo) / (hi - lo) : 0);
    px.data.set([r, g, b, 255], i * 4);
  }
  cctx.putImageData(px, 0, 0);
  ctx.save();
  ctx.globalAlpha = opacity;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(cell, 0, 0, W, H);
  ctx.restore();
  return [lo, hi];
}

/** The colour ramp; `mark` in [0,1] (e.g. the threshold on an absolute scale) gets a tick. */
export function drawLegend(canvas, mark = null) {
  const ctx = canvas.getContext('2d');
  for (let x = 0; x < canvas.width; x++) {
    const [r, g, b] = color(x / (canvas.width - 1));
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(x, 0, 1, canvas.height);
  }
  if (mark !== null) {
    const x = Math.round(mark * (canvas.width - 1));
    ctx.fillStyle = '#fff';
    ctx.fillRect(x - 1, 0, 3, canvas.height);
    ctx.fillStyle = '#000';
    ctx.fillRect(x, 0, 1, canvas.height);
  }
}
