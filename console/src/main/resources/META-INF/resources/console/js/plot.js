// The calibration plot: leave-one-out shot scores as dots over a histogram, with the suggested threshold and the
// threshold in force. Plain inline SVG (no library), with a text alternative.

import { h, s } from './dom.js';

const W = 640;
const H = 200;
const M = { l: 44, r: 16, t: 24, b: 36 };

/** Score axis: around the data and thresholds, padded, clamped to [0,1]. */
function domain(values) {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = Math.max((hi - lo) * 0.15, 0.02);
  return [Math.max(0, lo - pad), Math.min(1, hi + pad)];
}

/**
 * The score range of a set: its shots' leave-one-out scores and both thresholds, padded ([0, 1] without any). The
 * calibration plot's axis and the threshold slider span it, so that the slider moves over the scores that matter.
 */
export function scoreDomain(cal) {
  const values = [...(cal.shotScores || []), cal.suggestedThreshold, cal.threshold]
    .filter((v) => v !== null && v !== undefined);
  return values.length ? domain(values) : [0, 1];
}

export function calibrationPlot(cal, titleId) {
  const scores = cal.shotScores || [];
  const [x0, x1] = scoreDomain(cal);
  const x = (v) => M.l + ((v - x0) / (x1 - x0 || 1)) * (W - M.l - M.r);
  const outliers = new Set(cal.outlierShots || []);

  // histogram: ~8 bins over the visible range
  const bins = 8;
  const counts = new Array(bins).fill(0);
  for (const v of scores) counts[Math.min(bins - 1, Math.max(0, Math.floor(((v - x0) / (x1 - x0 || 1)) * bins)))]++;
  const maxCount = Math.max(1, ...counts);
  const baseY = H - M.b;
  const histH = H - M.t - M.b - 40;
  const bw = (W - M.l - M.r) / bins;

  const g = [];
  counts.forEach((c, i) => {
    if (!c) return;
    const hh = (c / maxCount) * histH;
    g.push(s('rect', { class: 'hist', x: M.l + i * bw + 1, y: baseY - hh, width: bw - 2, height: hh }));
  });
  // axis and ticks
  g.push(s('line', { class: 'axis', x1: M.l, x2: W - M.r, y1: baseY, y2: baseY }));
  for (let i = 0; i <= 5; i++) {
    const v = x0 + ((x1 - x0) * i) / 5;
    g.push(s('line', { class: 'tick', x1: x(v), x2: x(v), y1: baseY, y2: baseY + 5 }),
      s('text', { class: 'tick-label', x: x(v), y: baseY + 18, 'text-anchor': 'middle' }, v.toFixed(3)));
  }
  g.push(s('text', { class: 'axis-label', x: (M.l + W - M.r) / 2, y: H - 4, 'text-anchor': 'middle' }, 'leave-one-out score'));
  g.push(s('text', { class: 'axis-label', x: 12, y: baseY - histH / 2, transform: `rotate(-90 12 ${baseY - histH / 2})`, 'text-anchor': 'middle' }, 'shots'));
  // dots, stacked when close
  const rows = [];
  scores.forEach((v, i) => {
    const px = x(v);
    let row = 0;
    while (rows[row]?.some((p) => Math.abs(p - px) < 12)) row++;
    (rows[row] ||= []).push(px);
    const cy = baseY - 10 - row * 13;
    const out = outliers.has(i);
    g.push(s('circle', { class: out ? 'dot outlier' : 'dot', cx: px, cy, r: out ? 6 : 5 },
      s('title', {}, `shot ${i}: ${v.toFixed(4)}${out ? ' (outlier)' : ''}`)));
    if (out) g.push(s('text', { class: 'outlier-label', x: px, y: cy - 10, 'text-anchor': 'middle' }, `shot ${i}`));
  });
  const vline = (v, cls, label, dy) => {
    if (v === null || v === undefined) return;
    g.push(s('line', { class: cls, x1: x(v), x2: x(v), y1: M.t - 6, y2: baseY }),
      s('text', { class: `${cls}-label`, x: x(v) + 4, y: M.t + dy, 'text-anchor': x(v) > W - 160 ? 'end' : 'start', dx: x(v) > W - 160 ? -8 : 0 },
        `${label} ${v.toFixed(4)}`));
  };
  vline(cal.suggestedThreshold, 'suggested', 'suggested', 0);
  if (cal.thresholdOverridden) vline(cal.threshold, 'threshold', 'in force', 14);

  const desc = `${scores.length} shot scores from ${Math.min(...scores).toFixed(4)} to ${Math.max(...scores).toFixed(4)}; `
    + `suggested threshold ${cal.suggestedThreshold ?? 'none'}; in force ${cal.threshold ?? 'none'}; `
    + `${outliers.size} outlier shot(s).`;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'calibration', role: 'img', 'aria-labelledby': `${titleId}-t ${titleId}-d` },
    s('title', { id: `${titleId}-t` }, 'Calibration: leave-one-out scores of the shots'),
    s('desc', { id: `${titleId}-d` }, desc), ...g);
  const table = h('details', {}, h('summary', {}, 'Shot scores as a table'),
    h('table', { class: 'table compact' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Shot (0-based)'), h('th', { scope: 'col' }, 'LOO score'), h('th', { scope: 'col' }, 'Outlier'))),
      h('tbody', {}, ...scores.map((v, i) => h('tr', {}, h('td', {}, String(i)), h('td', {}, v.toFixed(4)), h('td', {}, outliers.has(i) ? 'yes' : ''))))));
  return [svg, table];
}
