// Live view: polls /v1/metrics (Prometheus text, with the signed-in key) and shows throughput, latency percentiles, queue depth, batch
// size and device busy time. Renders "not available" when the server exposes no inctrl_* metrics.

import { $, clear, h, s } from '../dom.js';
import { parsePrometheus, summarize } from '../metrics.js';
import { session } from '../api.js';

const PERIOD_MS = 2000;
const HISTORY = 60;
let timer = null;
let paused = false;
let prev = null;
let prevAt = 0;
const history = { throughput: [], queue: [], p95: [] };

export function init() {
  $('live-toggle').addEventListener('click', () => {
    paused = !paused;
    $('live-toggle').setAttribute('aria-pressed', String(paused));
    $('live-toggle').textContent = paused ? 'Resume' : 'Pause';
    if (!paused) poll();
  });
  document.addEventListener('visibilitychange', () => { if (!document.hidden && timer) poll(); });
}

export function show() {
  prev = null;
  poll();
}

export function hide() {
  clearTimeout(timer);
  timer = null;
}

async function poll() {
  clearTimeout(timer);
  timer = setTimeout(poll, PERIOD_MS);
  if (paused || document.hidden) return;
  let text;
  try {
    const headers = { Accept: 'text/plain' };
    if (session.key) headers['X-API-Key'] = session.key;
    const res = await fetch('/v1/metrics', { headers, credentials: 'omit', cache: 'no-store' });
    if (!res.ok) {
      unavailable(`The server answers HTTP ${res.status} at /v1/metrics.`);
      return;
    }
    text = await res.text();
  } catch (x) {
    unavailable(`Cannot reach /v1/metrics (${x.message}).`);
    return;
  }
  const cur = parsePrometheus(text);
  const now = performance.now();
  const sum = summarize(cur, prev, prev ? (now - prevAt) / 1000 : 0);
  prev = cur;
  prevAt = now;
  if (!sum.available) {
    unavailable('The server exposes /v1/metrics but no inctrl_* metrics yet.');
    return;
  }
  render(sum);
}

function unavailable(msg) {
  $('live-status').textContent = `Metrics not available. ${msg}`;
  $('live-status').className = 'status warn';
  clear($('live-cards')).append(h('div', { class: 'card metric muted' }, h('p', {}, 'No live figures to show.')));
  clear($('live-charts'));
  clear($('live-stages')).append(h('tr', {}, h('td', { colspan: 5 }, 'No data.')));
}

const ms = (v) => (v === null || v === undefined ? '—' : `${(v * 1000).toFixed(v < 0.01 ? 2 : 1)} ms`);
const num = (v, d = 1) => (v === null || v === undefined ? '—' : v.toFixed(d));

function push(list, v) {
  list.push(v);
  if (list.length > HISTORY) list.shift();
}

function render(m) {
  $('live-status').textContent = `Updated ${new Date().toLocaleTimeString()}`;
  $('live-status').className = 'status';
  push(history.throughput, m.throughput ?? 0);
  push(history.queue, m.queueDepth ?? 0);
  push(history.p95, m.latency?.p95 ?? 0);
  const busy = Object.entries(m.deviceBusy).map(([d, v]) => `${d}: ${v === null ? '—' : `${Math.round(v * 100)}%`}`).join(' · ');
  const card = (label, value, sub, id) => h('div', { class: 'card metric', id },
    h('p', { class: 'metric-label' }, label), h('p', { class: 'metric-value' }, value), sub && h('p', { class: 'metric-sub' }, sub));
  clear($('live-cards')).append(
    card('Throughput', m.throughput === null ? '—' : `${num(m.throughput, 2)} req/s`, 'scored images, last interval', 'live-throughput'),
    card('Latency p50 / p95 / p99', m.latency ? `${ms(m.latency.p50)} / ${ms(m.latency.p95)} / ${ms(m.latency.p99)}` : '—',
      m.latency ? (m.latency.windowed ? 'end to end, last interval' : 'end to end, since start') : 'no requests yet', 'live-latency'),
    card('Queue depth', m.queueDepth === null ? '—' : String(m.queueDepth), 'jobs waiting for a batch', 'live-queue'),
    card('Mean batch size', num(m.batchSize, 2), 'images per device batch, last interval', 'live-batch'),
    card('Device busy', busy || '—', 'share of the last interval', 'live-busy'));
  clear($('live-charts')).append(
    chart('live-chart-throughput', 'Throughput', 'req/s', history.throughput),
    chart('live-chart-queue', 'Queue depth', 'jobs', history.queue),
    chart('live-chart-p95', 'p95 latency', 's', history.p95));
  const rows = clear($('live-stages'));
  for (const [stage, l] of Object.entries(m.stages)) {
    rows.append(h('tr', {}, h('th', { scope: 'row' }, stage), h('td', {}, l ? String(l.count) : '—'),
      h('td', {}, ms(l?.p50)), h('td', {}, ms(l?.p95)), h('td', {}, ms(l?.p99))));
  }
  if (!rows.children.length) rows.append(h('tr', {}, h('td', { colspan: 5 }, 'No stage latencies reported yet.')));
}

/** 1, 2, 2.5 or 5 times a power of ten, at least `v`: the top of a y axis with round tick labels. */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v * (1 - 1e-9));
}

const tickText = (v) => (v === 0 ? '0' : Number(v.toPrecision(3)).toString());

/**
 * A line chart of the last HISTORY polls with both axes: y from 0 to a round maximum in `unit` (three labelled
 * ticks), x as time before now (the newest poll at the right edge, "now"; older polls to the left).
 */
function chart(id, title, unit, values) {
  if (values.length < 3) {
    // a line needs a few polls; an almost empty chart reads as broken
    return h('div', { class: 'card spark', id }, h('p', { class: 'metric-label' }, `${title} (${unit})`),
      h('p', { class: 'metric-sub' }, 'collecting…'));
  }
  const W = 300;
  const H = 130;
  const M = { l: 40, r: 10, t: 8, b: 30 };
  const top = niceMax(Math.max(...values));
  const span = (HISTORY - 1) * PERIOD_MS / 1000; // seconds the x axis covers
  const x = (age) => W - M.r - (age / span) * (W - M.l - M.r);
  const y = (v) => H - M.b - (v / top) * (H - M.t - M.b);
  const n = values.length;
  const pts = values.map((v, i) => `${x(((n - 1 - i) * PERIOD_MS) / 1000).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const g = [
    s('line', { class: 'axis', x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }),
    s('line', { class: 'axis', x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }),
  ];
  for (const v of [0, top / 2, top]) {
    g.push(s('line', { class: 'tick', x1: M.l - 4, x2: M.l, y1: y(v), y2: y(v) }),
      s('text', { class: 'tick-label y-tick', x: M.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, tickText(v)));
  }
  for (const age of [span, span / 2, 0]) {
    g.push(s('line', { class: 'tick', x1: x(age), x2: x(age), y1: H - M.b, y2: H - M.b + 4 }),
      s('text', { class: 'tick-label x-tick', x: x(age), y: H - M.b + 16, 'text-anchor': age === 0 ? 'end' : age === span ? 'start' : 'middle' },
        age === 0 ? 'now' : `−${Math.round(age)} s`));
  }
  g.push(s('text', { class: 'axis-label', x: (M.l + W - M.r) / 2, y: H - 2, 'text-anchor': 'middle' }, 'time'),
    s('text', { class: 'axis-label', x: 10, y: (M.t + H - M.b) / 2, transform: `rotate(-90 10 ${(M.t + H - M.b) / 2})`, 'text-anchor': 'middle' }, unit),
    s('polyline', { points: pts, class: 'spark-line' }));
  const last = values[n - 1];
  return h('div', { class: 'card spark', id }, h('p', { class: 'metric-label' }, `${title} (${unit})`),
    s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title} in ${unit} over the last ${Math.round(((n - 1) * PERIOD_MS) / 1000)} s: latest ${tickText(last)}, axis 0 to ${tickText(top)}` }, ...g));
}
