// Prometheus text parsing and the live view's arithmetic. Pure (no DOM) so node's test runner covers it.

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Samples of a Prometheus text exposition: [{name, labels, value}]; comments and malformed lines are skipped. */
export function parsePrometheus(text) {
  const out = [];
  for (const raw of String(text).split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[2]) {
      for (const l of m[2].matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** Sum of the samples named `name` whose labels include `match`. */
export function total(samples, name, match = {}) {
  return sum(samples.filter((x) => x.name === name && matches(x.labels, match)).map((x) => x.value));
}

function matches(labels, match) {
  return Object.entries(match).every(([k, v]) => labels[k] === v);
}

/** Cumulative buckets [{le, count}] of histogram `base` (…_bucket), summed over other labels, sorted by le. */
export function buckets(samples, base, match = {}) {
  const by = new Map();
  for (const x of samples) {
    if (x.name !== `${base}_bucket` || !matches(x.labels, match)) continue;
    const le = x.labels.le === '+Inf' ? Infinity : Number(x.labels.le);
    by.set(le, (by.get(le) || 0) + x.value);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
}

/** Bucket-wise difference cur − prev (counts in the interval); prev may be empty. */
export function diffBuckets(cur, prev) {
  const p = new Map((prev || []).map((b) => [b.le, b.count]));
  return cur.map((b) => ({ le: b.le, count: Math.max(0, b.count - (p.get(b.le) || 0)) }));
}

/**
 * Quantile q of cumulative buckets, interpolating linearly inside the bucket as Prometheus'
 * histogram_quantile does; null when there are no observations. The +Inf bucket answers its lower bound.
 */
export function quantile(bs, q) {
  if (!bs.length) return null;
  const n = bs[bs.length - 1].count;
  if (!(n > 0)) return null;
  const rank = q * n;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of bs) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket <= 0 ? b.le : prevLe + (b.le - prevLe) * ((rank - prevCount) / inBucket);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

export const STAGE_METRIC = 'inctrl_stage_latency_seconds';

/** Stages present in the scrape (total first). */
export function stages(samples) {
  const set = new Set(samples.filter((x) => x.name === `${STAGE_METRIC}_count`).map((x) => x.labels.stage).filter(Boolean));
  return [...set].sort((a, b) => (a === 'total' ? -1 : b === 'total' ? 1 : a.localeCompare(b)));
}

/**
 * The live view's figures from two scrapes `dt` seconds apart (prev may be null: first poll, no rates yet).
 * Every field is null when its metric is absent, so a server without the inctrl_* metrics still renders.
 */
export function summarize(cur, prev, dt) {
  const has = (name) => cur.some((x) => x.name === name);
  const rate = (name, match) => {
    if (!prev || !(dt > 0) || !has(name)) return null;
    return Math.max(0, total(cur, name, match) - total(prev, name, match)) / dt;
  };
  const latency = (stage) => {
    const c = buckets(cur, STAGE_METRIC, { stage });
    if (!c.length) return null;
    const window = prev ? diffBuckets(c, buckets(prev, STAGE_METRIC, { stage })) : c;
    // an idle interval has no observations: fall back to everything since start
    const use = window.length && window[window.length - 1].count > 0 ? window : c;
    return {
      count: total(cur, `${STAGE_METRIC}_count`, { stage }),
      windowed: use === window && !!prev,
      p50: quantile(use, 0.5), p95: quantile(use, 0.95), p99: quantile(use, 0.99),
    };
  };
  const batchCount = rate('inctrl_batch_size_count');
  const batchSum = rate('inctrl_batch_size_sum');
  const devices = [...new Set(cur.filter((x) => x.name === 'inctrl_device_busy_seconds_total').map((x) => x.labels.device))];
  return {
    available: cur.some((x) => x.name.startsWith('inctrl_')),
    throughput: rate(`${STAGE_METRIC}_count`, { stage: 'total' }),
    latency: latency('total'),
    stages: Object.fromEntries(stages(cur).map((st) => [st, latency(st)])),
    queueDepth: has('inctrl_queue_depth') ? total(cur, 'inctrl_queue_depth') : null,
    batchSize: batchCount ? batchSum / batchCount : null,
    deviceBusy: Object.fromEntries(devices.map((d) => [d, rate('inctrl_device_busy_seconds_total', { device: d })])),
  };
}
