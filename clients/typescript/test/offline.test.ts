// Offline tests: always run, against the in-process fake server in fake.ts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { status } from "@grpc/grpc-js";
import {
  AbortedError, AlreadyExistsError, DeadlineExceededError, InctrlError, InternalError, InvalidArgumentError, NotFoundError,
  PermissionDeniedError, ResourceExhaustedError, UnauthenticatedError, UnavailableError, backoffMs, connect,
  DEFAULT_RETRY, NO_RETRY, defaultAuthority, fromCodeName, fromServiceError, grpcTarget, serviceConfig, type InctrlClient, type RetryPolicy,
} from "../src";
import { channelOptions } from "../src/retry";
import { Fake, fakePng } from "./fake";

const FAST: Partial<RetryPolicy> = { maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 50 };
const SHOTS = [fakePng("shot1"), fakePng("shot2")];
const svcErr = (code: number) => Object.assign(new Error("boom"), { code, details: "boom" });

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("error mapping", () => {
  it("maps every status name to its class, keeping message and request id", () => {
    const cases: Array<[string, new (...args: never[]) => InctrlError]> = [
      ["INVALID_ARGUMENT", InvalidArgumentError], ["UNAUTHENTICATED", UnauthenticatedError], ["NOT_FOUND", NotFoundError],
      ["RESOURCE_EXHAUSTED", ResourceExhaustedError], ["UNAVAILABLE", UnavailableError], ["DEADLINE_EXCEEDED", DeadlineExceededError],
      ["permission_denied", PermissionDeniedError], ["ALREADY_EXISTS", AlreadyExistsError], ["INTERNAL", InternalError],
      ["ABORTED", AbortedError],
    ];
    for (const [name, cls] of cases) {
      const e = fromCodeName(name, "msg", "id7");
      assert.ok(e instanceof cls && e instanceof InctrlError, name);
      assert.equal(e.details, "msg");
      assert.equal(e.requestId, "id7");
      assert.match(e.message, /id7/);
    }
    const u = fromCodeName("NOPE", "x");
    assert.equal(u.constructor, InctrlError);
    assert.equal(u.code, status.UNKNOWN);
  });

  it("maps grpc-js service errors", () => {
    const e = fromServiceError(svcErr(status.RESOURCE_EXHAUSTED));
    assert.ok(e instanceof ResourceExhaustedError);
    assert.equal(e.codeName, "RESOURCE_EXHAUSTED");
  });
});

describe("retry and load balancing (gRPC service config)", () => {
  it("bounds the resend backoff exponentially, capped", () => {
    const p: RetryPolicy = { maxAttempts: 6, initialBackoffMs: 100, maxBackoffMs: 500, multiplier: 2 };
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffMs(p, n)), [100, 200, 400, 500, 500]);
  });

  it("is round_robin with gRPC retries of the idempotent calls on UNAVAILABLE", () => {
    const cfg = serviceConfig({ maxAttempts: 9, initialBackoffMs: 250, maxBackoffMs: 2000, multiplier: 3 }) as {
      loadBalancingConfig: object[];
      methodConfig: Array<{ name: Array<{ service: string; method: string }>; retryPolicy: object }>;
    };
    assert.deepEqual(cfg.loadBalancingConfig, [{ round_robin: {} }]);
    assert.deepEqual(cfg.methodConfig[0].name.map((n) => `${n.service}/${n.method}`).sort(), [
      "inctrl.v1.PromptRegistry/GetPromptSet", "inctrl.v1.PromptRegistry/ListPromptSets", "inctrl.v1.PromptRegistry/ListRevisions",
      "inctrl.v1.Scorer/GetModelInfo", "inctrl.v1.Scorer/ListModels", "inctrl.v1.Scorer/Score",
    ]);
    assert.deepEqual(cfg.methodConfig[0].retryPolicy, {
      maxAttempts: 5, initialBackoff: "0.25s", maxBackoff: "2s", backoffMultiplier: 3, retryableStatusCodes: ["UNAVAILABLE"],
    });
    assert.equal("methodConfig" in serviceConfig(NO_RETRY), false);
  });

  it("channel options turn on gRPC retries and keepalive pings only while calls are open", () => {
    const o = channelOptions(DEFAULT_RETRY, 1 << 20);
    assert.equal(o["grpc.enable_retries"], 1);
    assert.ok((JSON.parse(o["grpc.service_config"] as string) as { methodConfig?: object[] }).methodConfig);
    assert.deepEqual([o["grpc.keepalive_time_ms"], o["grpc.keepalive_timeout_ms"], o["grpc.keepalive_permit_without_calls"]],
      [30000, 10000, 0]);
  });

  it("sends a list's first entry as :authority, not the whole list", () => {
    assert.equal(defaultAuthority("10.0.0.5:9000, 10.0.0.6:9000"), "10.0.0.5:9000");
    assert.equal(defaultAuthority("inctrl.svc:9000"), undefined);
  });

  it("turns address lists into static targets", () => {
    assert.equal(grpcTarget("localhost:9000"), "localhost:9000");
    assert.equal(grpcTarget("dns:///inctrl.svc:9000"), "dns:///inctrl.svc:9000");
    assert.equal(grpcTarget("127.0.0.1:9001, localhost:9002"), "ipv4:127.0.0.1:9001,127.0.0.1:9002");
    assert.equal(grpcTarget(["[::1]:9001", "[::1]:9002"]), "ipv6:[::1]:9001,[::1]:9002");
    for (const bad of ["", " , ", "127.0.0.1:1,nohostport", "127.0.0.1:1,example.com:2", "127.0.0.1:1,[::1]:2"]) {
      assert.throws(() => grpcTarget(bad), TypeError, bad);
    }
  });
});

describe("client against the fake server", () => {
  let fake: Fake;
  let client: InctrlClient;
  before(async () => {
    fake = new Fake();
    await fake.start();
    client = connect(fake.address, { apiKey: "secret", retry: FAST, timeoutMs: 5000 });
  });
  after(() => {
    client.close();
    fake.stop();
  });

  it("scores with inline shots", async () => {
    const r = await client.score(fakePng("q", true), { shots: SHOTS, category: "transistor" }, { requestId: "a" });
    assert.equal(r.requestId, "a");
    assert.ok(r.score > 0.7);
    assert.equal(r.map.length, 4);
  });

  it("rejects a request without prompts client-side", () => {
    assert.throws(() => client.score(fakePng("q"), { shots: [] }), TypeError);
  });

  it("maps an undecodable image to InvalidArgumentError", async () => {
    await assert.rejects(client.score(Buffer.from("not an image"), { shots: SHOTS, category: "x" }), InvalidArgumentError);
  });

  it("maps a bad API key to UnauthenticatedError", async () => {
    const bad = connect(fake.address, { apiKey: "wrong", retry: FAST });
    await assert.rejects(bad.score(fakePng("q"), { shots: SHOTS, category: "x" }), UnauthenticatedError);
    bad.close();
  });

  it("retries UNAVAILABLE until the server answers, then gives up", async () => {
    fake.calls = 0;
    fake.unavailableFirst = 2;
    assert.equal((await client.modelInfo()).bundleId, "fake");
    assert.equal(fake.calls, 3);
    fake.calls = 0;
    fake.unavailableFirst = 100;
    await assert.rejects(client.modelInfo(), UnavailableError);
    assert.equal(fake.calls, 4);
    fake.unavailableFirst = 0;
  });

  // Issue 20 item 7: the client resends after the server's retry hint, and only then.
  it("retries a refusal carrying the server's retry hint, and no other", async () => {
    fake.calls = 0;
    fake.busyFirst = 2;
    assert.equal((await client.score(fakePng("q"), { shots: SHOTS, category: "x" })).bundleId, "fake");
    assert.equal(fake.calls, 3);
    fake.calls = 0;
    fake.busyFirst = 0;
    const huge = await client.score(fakePng("HUGE"), { shots: SHOTS, category: "x" }).catch((e: InctrlError) => e);
    assert.ok(huge instanceof ResourceExhaustedError);
    assert.equal((huge as InctrlError).reason, "PAYLOAD_TOO_LARGE");
    assert.equal((huge as InctrlError).retryAfterMs, undefined);
    assert.equal(fake.calls, 1);
    fake.calls = 0;
    fake.busyFirst = 100;
    const busy = await client.score(fakePng("q"), { shots: SHOTS, category: "x" }).catch((e: InctrlError) => e);
    assert.equal((busy as InctrlError).reason, "QUEUE_FULL");
    assert.equal((busy as InctrlError).retryAfterMs, 50);
    assert.equal(fake.calls, 4);
    fake.busyFirst = 0;
  });

  it("a stream resends an item answered with retryAfter and rejects one without", async () => {
    const before = fake.streamIds.length;
    const s = client.openStream({ window: 4, prompts: { shots: SHOTS, category: "x" } });
    const busy = await s.submit(fakePng("BUSYONCE"), { requestId: "busy-1" });
    const huge = await s.submit(fakePng("HUGE"), { requestId: "huge-1" });
    assert.equal((await busy.result).requestId, "busy-1");
    const err = await huge.result.catch((e: InctrlError) => e);
    assert.ok(err instanceof ResourceExhaustedError);
    assert.equal((err as InctrlError).reason, "PAYLOAD_TOO_LARGE");
    assert.equal((err as InctrlError).retryAfterMs, undefined);
    await s.close();
    const sent = fake.streamIds.slice(before);
    assert.equal(sent.filter((id) => id === "busy-1").length, 2);
    assert.equal(sent.filter((id) => id === "huge-1").length, 1);
  });

  it("maps a missed deadline to DeadlineExceededError", async () => {
    await assert.rejects(client.score(fakePng("SLOW"), { shots: SHOTS, category: "x" }, { timeoutMs: 100 }), DeadlineExceededError);
  });

  it("registers, lists, scores by and deletes prompt sets", async () => {
    const ps = await client.registerPromptSet({ name: "line-1", category: "transistor", shots: SHOTS });
    assert.equal(ps.shotCount, 2);
    assert.ok(Math.abs((ps.calibration?.targetFpr ?? 0) - 0.05) < 1e-6, "unset: the server's default");
    const strict = await client.registerPromptSet({ name: "strict", category: "transistor", shots: SHOTS, targetFpr: 0.01 });
    assert.ok(Math.abs((strict.calibration?.targetFpr ?? 0) - 0.01) < 1e-6);
    await client.deletePromptSet(strict.id);
    await assert.rejects(client.registerPromptSet({ name: "line-1", category: "t", shots: SHOTS }), AlreadyExistsError);
    assert.equal((await client.score(fakePng("q"), { promptSetId: ps.id })).bundleId, "fake");
    for (let i = 0; i < 4; i++) await client.registerPromptSet({ name: `more-${i}`, category: "x", shots: SHOTS });
    assert.equal((await client.listPromptSets(2)).length, 5);
    await client.deletePromptSet(ps.id);
    await assert.rejects(client.getPromptSet(ps.id), NotFoundError);
    await assert.rejects(client.score(fakePng("q"), { promptSetId: ps.id }), NotFoundError);
  });

  it("streams 50 images: every id answered exactly once, window respected", async () => {
    fake.maxInFlight = 0;
    const items: Array<[string, Buffer]> = Array.from({ length: 50 }, (_, i) => [`img-${i}`, fakePng(String(i), i % 2 === 1)]);
    const s = client.openStream({ window: 4, prompts: { shots: SHOTS, category: "x" }, omitMap: true });
    const order: string[] = [];
    for await (const r of s.scoreMany(items)) {
      assert.equal(r.error, undefined);
      assert.equal(r.response!.requestId, r.requestId);
      assert.equal(r.response!.score > 0.7, Number(r.requestId.split("-")[1]) % 2 === 1);
      order.push(r.requestId);
    }
    await s.close();
    assert.equal(order.length, 50);
    assert.deepEqual([...order].sort(), items.map(([id]) => id).sort());
    assert.notDeepEqual(order, items.map(([id]) => id), "the fake answers out of order");
    assert.ok(fake.maxInFlight <= 4, `server saw ${fake.maxInFlight} in flight`);
    assert.deepEqual(s.unmatched, []);
  });

  it("keeps the stream alive after a per-request error", async () => {
    const s = client.openStream({ window: 8, prompts: { shots: SHOTS, category: "x" } });
    const g1 = await s.submit(fakePng("1"), { requestId: "g1" });
    const bad = await s.submit(Buffer.from("garbage"), { requestId: "bad" });
    const nf = await s.submit(fakePng("2"), { requestId: "nf", prompts: { promptSetId: "missing" } });
    const gen = await s.submit(fakePng("3"));
    await assert.rejects(bad.result, (e: InctrlError) => e instanceof InvalidArgumentError && e.requestId === "bad");
    await assert.rejects(nf.result, NotFoundError);
    assert.equal((await g1.result).requestId, "g1");
    assert.equal((await gen.result).requestId, gen.requestId);
    await s.close();
  });

  it("rejects a duplicate in-flight id", async () => {
    const s = client.openStream({ window: 4, prompts: { shots: SHOTS, category: "x" } });
    await s.submit(fakePng("SLOW"), { requestId: "dup" });
    await assert.rejects(s.submit(fakePng("x"), { requestId: "dup" }), /in flight/);
    s.cancel();
  });

  it("blocks submit while the window is full", async () => {
    const s = client.openStream({ window: 1, prompts: { shots: SHOTS, category: "x" } });
    const first = await s.submit(fakePng("SLOW"), { requestId: "a" });
    let secondSent = false;
    const second = s.submit(fakePng("b"), { requestId: "b" }).then((x) => ((secondSent = true), x));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(secondSent, false, "second submit must wait for a free slot");
    assert.equal(s.inFlight, 1);
    await first.result;
    await (await second).result;
    await s.close();
  });

  it("fails in-flight requests with UnauthenticatedError on a bad key", async () => {
    const bad = connect(fake.address, { apiKey: "wrong" });
    const s = bad.openStream({ window: 4, prompts: { shots: SHOTS, category: "x" } });
    // the server may reject before or after the first submit: both surface the same error
    await assert.rejects(s.submit(fakePng("a")).then((x) => x.result), UnauthenticatedError);
    await assert.rejects(s.close(), UnauthenticatedError);
    bad.close();
  });

  it("fails in-flight requests with DeadlineExceededError when the stream deadline passes", async () => {
    const s = client.openStream({ window: 4, prompts: { shots: SHOTS, category: "x" }, timeoutMs: 200 });
    const slow = await s.submit(fakePng("SLOW"), { requestId: "slow" });
    await assert.rejects(slow.result, (e: InctrlError) => e instanceof DeadlineExceededError && e.requestId === "slow");
  });
});

describe("unreachable server", () => {
  it("surfaces UnavailableError after retries, and from waitReady", async () => {
    const c = connect(`127.0.0.1:${await freePort()}`, { apiKey: "k", retry: FAST, timeoutMs: 3000 });
    await assert.rejects(c.modelInfo(), UnavailableError);
    await assert.rejects(c.waitReady(300), UnavailableError);
    c.close();
  });
});

describe("inspection mode", () => {
  it("is sent on inline prompts and refused when unknown", async () => {
    const { buildRequest } = await import("../src");
    const req = buildRequest(fakePng("q"), { shots: SHOTS, category: "fabric", inspection: "tiles" });
    assert.equal(req.inline?.inspection, 3); // INSPECTION_TILES
    assert.equal(buildRequest(fakePng("q"), { shots: SHOTS, category: "fabric" }).inline?.inspection, 0);
    assert.throws(
      () => buildRequest(fakePng("q"), { shots: SHOTS, inspection: "mosaic" as "tiles" }),
      /center-crop, resize, tiles/,
    );
  });
});
