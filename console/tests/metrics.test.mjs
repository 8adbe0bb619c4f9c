// Unit tests of the live view's Prometheus parsing and percentile arithmetic (no browser, no server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buckets, parsePrometheus, quantile, summarize } from '../src/main/resources/META-INF/resources/console/js/metrics.js';

const scrape = (n, sum, le) => `# HELP inctrl_stage_latency_seconds per-request latency
# TYPE inctrl_stage_latency_seconds histogram
inctrl_stage_latency_seconds_bucket{stage="total",le="0.01"} ${le[0]}
inctrl_stage_latency_seconds_bucket{stage="total",le="0.1"} ${le[1]}
inctrl_stage_latency_seconds_bucket{stage="total",le="1.0"} ${le[2]}
inctrl_stage_latency_seconds_bucket{stage="total",le="+Inf"} ${n}
inctrl_stage_latency_seconds_count{stage="total"} ${n}
inctrl_stage_latency_seconds_sum{stage="total"} ${sum}
inctrl_stage_latency_seconds_count{stage="decode"} ${n}
inctrl_queue_depth 3.0
inctrl_batch_size_count ${n / 2}
inctrl_batch_size_sum ${n}
inctrl_device_busy_seconds_total{device="cpu()"} ${sum}
`;

test('parses samples with labels, +Inf and comments', () => {
  const s = parsePrometheus(scrape(10, 1.5, [2, 8, 10]));
  assert.equal(s.filter((x) => x.name === 'inctrl_stage_latency_seconds_bucket').length, 4);
  assert.equal(s.find((x) => x.name === 'inctrl_queue_depth').value, 3);
  assert.deepEqual(s.find((x) => x.labels.device).labels, { device: 'cpu()' });
  assert.deepEqual(parsePrometheus('garbage line\n# only comment\n'), []);
});

test('quantile interpolates inside buckets like histogram_quantile', () => {
  const b = buckets(parsePrometheus(scrape(10, 1.5, [2, 8, 10])), 'inctrl_stage_latency_seconds', { stage: 'total' });
  assert.equal(b.length, 4);
  // median: rank 5, bucket (0.01, 0.1] holds ranks 3..8 -> 0.01 + 0.09 * (3/6)
  assert.ok(Math.abs(quantile(b, 0.5) - 0.055) < 1e-12);
  assert.equal(quantile([{ le: Infinity, count: 0 }], 0.5), null);
});

test('summarize: rates and windowed percentiles from two scrapes', () => {
  const a = parsePrometheus(scrape(10, 1.5, [2, 8, 10]));
  const b = parsePrometheus(scrape(30, 3.5, [2, 8, 30]));
  const m = summarize(b, a, 2);
  assert.equal(m.available, true);
  assert.equal(m.throughput, 10);
  assert.equal(m.queueDepth, 3);
  assert.equal(m.batchSize, 2);
  assert.equal(m.deviceBusy['cpu()'], 1);
  // all 20 new requests fell in (0.1, 1.0]
  assert.ok(m.latency.windowed);
  assert.ok(m.latency.p50 > 0.1 && m.latency.p50 <= 1.0);
  assert.deepEqual(Object.keys(m.stages), ['total', 'decode']);
});

test('summarize tolerates a server without inctrl metrics', () => {
  const m = summarize(parsePrometheus('jvm_threads_live 12\n'), null, 0);
  assert.equal(m.available, false);
  assert.equal(m.throughput, null);
  assert.equal(m.latency, null);
  assert.equal(m.queueDepth, null);
});
