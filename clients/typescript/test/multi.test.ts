// Several backends: round_robin, gRPC's retry onto another backend, and the stream's resend of unanswered ids.
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { UnavailableError, connect, type RetryPolicy, type StreamResult } from "../src";
import { Fake, fakePng, tcpProxy, type StreamPlan } from "./fake";

const FAST: Partial<RetryPolicy> = { maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 50 };
const SHOTS = [fakePng("shot1"), fakePng("shot2")];
const IDS = Array.from({ length: 60 }, (_, i) => `img-${i}`);

describe("two backends", () => {
  let plan: StreamPlan;
  let fakes: Fake[];
  let addrs: string;
  beforeEach(async () => {
    plan = {};
    fakes = [new Fake("secret", "fake-a", plan), new Fake("secret", "fake-b", plan)];
    addrs = (await Promise.all(fakes.map((f) => f.start()))).join(",");
  });
  afterEach(() => fakes.forEach((f) => f.stop()));

  it("spreads unary calls over both and survives one going down", async () => {
    const c = connect(addrs, { apiKey: "secret", retry: FAST, timeoutMs: 5000 });
    const seen = new Set<string>();
    for (let i = 0; i < 100 && seen.size < 2; i++) seen.add((await c.score(fakePng(`q${i}`), { shots: SHOTS, category: "x" })).bundleId);
    assert.deepEqual([...seen].sort(), ["fake-a", "fake-b"]);
    fakes[0].stop();
    for (let i = 0; i < 20; i++) assert.equal((await c.score(fakePng(`after${i}`), { shots: SHOTS, category: "x" })).bundleId, "fake-b");
    c.close();
  });

  async function streamAll(onResult?: (n: number) => void, resend?: Partial<RetryPolicy>) {
    const c = connect(addrs.split(","), { apiKey: "secret", retry: FAST, timeoutMs: 5000 });
    await c.waitReady(5000);
    // round_robin picks among READY backends only: reach both before streaming, or a resend could land on the one that failed
    const seen = new Set<string>();
    for (let i = 0; i < 100 && seen.size < 2; i++) seen.add((await c.score(fakePng(`warm${i}`), { shots: SHOTS, category: "x" })).bundleId);
    assert.equal(seen.size, 2);
    const s = c.openStream({ window: 8, prompts: { shots: SHOTS, category: "x" }, resend });
    const results: StreamResult[] = [];
    for await (const r of s.scoreMany(IDS.map((id) => [id, fakePng(id)] as [string, Buffer]))) {
      results.push(r);
      onResult?.(results.length);
    }
    await s.close().catch(() => undefined);
    c.close();
    return { s, results };
  }

  function checkExactlyOnce(dead: Fake, alive: Fake, results: StreamResult[], deadAnswered?: number) {
    assert.deepEqual(results.map((r) => r.requestId).sort(), [...IDS].sort()); // every id exactly once
    assert.deepEqual(results.filter((r) => r.error), []);
    const byDead = new Set(results.filter((r) => r.response!.bundleId === dead.name).map((r) => r.requestId));
    if (deadAnswered !== undefined) assert.equal(byDead.size, deadAnswered);
    assert.deepEqual(alive.streamIds.filter((id) => byDead.has(id)), []); // answered ids were never resent
    assert.deepEqual([...alive.streamIds].sort(), IDS.filter((id) => !byDead.has(id)).sort());
  }

  it("resends unanswered stream ids to the other backend on UNAVAILABLE", async () => {
    plan.failAfter = 10;
    const { s, results } = await streamAll();
    assert.ok(s.restarts >= 1); // the failed backend refuses new streams too: a resend may land there first
    assert.deepEqual(s.unmatched, []);
    const [dead, alive] = fakes[0].streamFailed ? fakes : [fakes[1], fakes[0]];
    checkExactlyOnce(dead, alive, results, 10);
  });

  it("keeps streaming when the connection to the backend carrying the stream drops", async () => {
    const proxies = await Promise.all(fakes.map((f) => tcpProxy(f.address)));
    addrs = proxies.map((p) => p.address).join(",");
    let stopped: Fake | undefined;
    let run: Awaited<ReturnType<typeof streamAll>>;
    try {
      run = await streamAll((n) => {
        if (n === 10) {
          const i = fakes.findIndex((f) => f.streamIds.length > 0);
          stopped = fakes[i];
          proxies[i].kill();
        }
      });
    } finally {
      proxies.forEach((p) => p.kill()); // open listeners would keep the test process alive
    }
    const { s, results } = run;
    assert.ok(s.restarts >= 1);
    checkExactlyOnce(stopped!, fakes.find((f) => f !== stopped)!, results);
  });

  it("without resend, fails the unanswered ids with UnavailableError", async () => {
    plan.failAfter = 3;
    const c = connect(addrs, { apiKey: "secret", retry: FAST, timeoutMs: 5000 });
    await c.waitReady(5000);
    // round_robin picks among READY backends only: reach both before streaming, or a resend could land on the one that failed
    const seen = new Set<string>();
    for (let i = 0; i < 100 && seen.size < 2; i++) seen.add((await c.score(fakePng(`warm${i}`), { shots: SHOTS, category: "x" })).bundleId);
    assert.equal(seen.size, 2);
    const s = c.openStream({ window: 8, prompts: { shots: SHOTS, category: "x" }, resend: { maxAttempts: 1 } });
    const subs = await Promise.all(Array.from({ length: 8 }, (_, i) => s.submit(fakePng(`i${i}`), { requestId: `i${i}` })));
    const outcomes = await Promise.allSettled(subs.map((x) => x.result));
    assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 3);
    for (const o of outcomes) if (o.status === "rejected") assert.ok(o.reason instanceof UnavailableError, String(o.reason));
    assert.equal(s.restarts, 0);
    c.close();
  });
});
