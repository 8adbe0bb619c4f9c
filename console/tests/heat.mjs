// Shared by the browser tests: reads the try-it heatmap back from the canvas.

/** Hottest colour on the try-it canvas as a position on the heatmap ramp, 0 (coolest) to 1 (hottest). */
export async function hottest(p) {
  return p.evaluate(async () => {
    const { color } = await import('/console/js/heatmap.js');
    const ramp = Array.from({ length: 101 }, (_, i) => color(i / 100));
    const c = document.getElementById('try-canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let max = 0;
    for (let i = 0; i < d.length; i += 4 * 5) {
      let best = 0;
      let bestDist = Infinity;
      ramp.forEach(([r, g, b], k) => {
        const dist = (d[i] - r) ** 2 + (d[i + 1] - g) ** 2 + (d[i + 2] - b) ** 2;
        if (dist < bestDist) { bestDist = dist; best = k; }
      });
      max = Math.max(max, best / 100);
    }
    return max;
  });
}
