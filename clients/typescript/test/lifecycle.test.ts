// Offline tests of model choice (issue 19) and prompt sets that grow (issue 22), against the fake server in fake.ts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  AbortedError, InctrlError, InvalidArgumentError, NotFoundError, ResourceExhaustedError, UnavailableError, connect,
  type InctrlClient, type PromptSet, type RetryPolicy,
} from "../src";
import type { ModelInfoRequest, ScoreRequest } from "../src/gen/inctrl/v1/scoring";
import type { AddShotsRequest, CreatePromptSetRequest, ReencodePromptSetRequest, SetThresholdRequest } from "../src/gen/inctrl/v1/registry";
import { Fake, fakePng } from "./fake";

const FAST: Partial<RetryPolicy> = { maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 50 };
const SHOTS = [fakePng("shot1"), fakePng("shot2")];
const INLINE = { shots: SHOTS, category: "x" };

/** The rejection of p, which must be an `cls` carrying `reason`. */
async function rejectsWith(p: Promise<unknown>, cls: new (...args: never[]) => InctrlError, reason: string): Promise<InctrlError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  assert.ok(e instanceof cls, `want ${cls.name} (${reason}), got ${String(e)}`);
  assert.equal((e as InctrlError).reason, reason);
  return e as InctrlError;
}

const last = <T>(xs: T[]): T => xs[xs.length - 1];
const encoding = (ps: PromptSet, v: number) => ps.encodings.find((e) => e.modelVersion === v)!;

describe("models and growing prompt sets against the fake server", () => {
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

  it("names a model version per call and learns which version answered", async () => {
    let r = await client.score(fakePng("q"), INLINE);
    assert.deepEqual([r.model, r.modelVersion, r.queryId], ["fake-model", 2, ""]); // default model's serving version; inline: no query id
    assert.deepEqual([last(fake.sent<ScoreRequest>("Score")).model, last(fake.sent<ScoreRequest>("Score")).modelVersion], ["", 0]);
    r = await client.score(fakePng("q"), INLINE, { model: "fake-model", modelVersion: 1 });
    assert.deepEqual([r.model, r.modelVersion], ["fake-model", 1]);
    assert.deepEqual([last(fake.sent<ScoreRequest>("Score")).model, last(fake.sent<ScoreRequest>("Score")).modelVersion], ["fake-model", 1]);
    assert.equal((await client.score(fakePng("q"), INLINE, { model: "other-model" })).modelVersion, 7);
    const calls = fake.calls;
    await rejectsWith(client.score(fakePng("q"), INLINE, { model: "nope" }), NotFoundError, "MODEL_NOT_FOUND");
    const e = await rejectsWith(client.score(fakePng("q"), INLINE, { modelVersion: 9 }), NotFoundError, "MODEL_VERSION_NOT_LOADED");
    assert.equal(e.retryAfterMs, undefined);
    assert.equal(fake.calls, calls + 2); // no retry hint: not resent
  });

  it("describes model versions and lists the models", async () => {
    const info = await client.modelInfo();
    assert.deepEqual([info.model, info.modelVersion, info.precision], ["fake-model", 2, "fp32"]);
    const v1 = await client.modelInfo({ model: "fake-model", modelVersion: 1 });
    assert.deepEqual([v1.model, v1.modelVersion], ["fake-model", 1]);
    assert.deepEqual(last(fake.sent<ModelInfoRequest>("GetModelInfo")), { model: "fake-model", modelVersion: 1 });
    await rejectsWith(client.modelInfo({ modelVersion: 3 }), NotFoundError, "MODEL_VERSION_NOT_LOADED");
    fake.calls = 0;
    fake.busyFirst = 2; // a read: resent after the server's retry hint
    const models = await client.listModels();
    assert.equal(fake.calls, 3);
    fake.busyFirst = 0;
    assert.equal(models.defaultModel, "fake-model");
    assert.deepEqual(Object.fromEntries(models.models.map((m) => [m.name, m.versions.map((v) => v.version)])), { "fake-model": [2, 1], "other-model": [7] });
    assert.deepEqual(models.models.map((m) => m.servingVersion), [2, 7]);
  });

  it("a stream scores with its default model version; submit overrides it", async () => {
    const s = client.openStream({ window: 4, prompts: INLINE, model: "fake-model", modelVersion: 1 });
    const a = await s.submit(fakePng("a"), { requestId: "a" });
    const b = await s.submit(fakePng("b"), { requestId: "b", modelVersion: 2 });
    const c = await s.submit(fakePng("c"), { requestId: "c", model: "other-model", modelVersion: 0 });
    const d = await s.submit(fakePng("d"), { requestId: "d", modelVersion: 5 });
    assert.equal((await a.result).modelVersion, 1);
    assert.equal((await b.result).modelVersion, 2);
    assert.deepEqual([(await c.result).model, (await c.result).modelVersion], ["other-model", 7]);
    const err = await rejectsWith(d.result, NotFoundError, "MODEL_VERSION_NOT_LOADED");
    assert.equal(err.requestId, "d");
    await s.close();
  });

  it("registers a set for a model; thresholds and re-encoding name a version", async () => {
    const other = await client.registerPromptSet({ name: "m", category: "x", shots: SHOTS, model: "other-model" });
    assert.equal(last(fake.sent<CreatePromptSetRequest>("CreatePromptSet")).model, "other-model");
    assert.deepEqual([other.model, other.revision, other.encodings.map((e) => e.modelVersion)], ["other-model", 1, [7]]);
    assert.deepEqual([(await client.score(fakePng("q"), { promptSetId: other.id })).model], ["other-model"]); // the set's model
    let ps = await client.registerPromptSet({ name: "d", category: "x", shots: SHOTS });
    assert.deepEqual([ps.model, ps.encodings.map((e) => e.modelVersion).sort()], ["fake-model", [1, 2]]);

    ps = await client.setThreshold(ps.id, 0.7, { modelVersion: 1 });
    let sent = last(fake.sent<SetThresholdRequest>("SetThreshold"));
    assert.ok(Math.abs(sent.threshold! - 0.7) < 1e-6);
    assert.deepEqual([sent.modelVersion, sent.targetFpr], [1, undefined]);
    assert.equal(encoding(ps, 1).calibration!.thresholdOverridden, true);
    assert.equal(encoding(ps, 2).calibration!.thresholdOverridden, false);
    ps = await client.setThreshold(ps.id, undefined, { targetFpr: 0.01, modelVersion: 1 }); // clears the override
    sent = last(fake.sent<SetThresholdRequest>("SetThreshold"));
    assert.equal(sent.threshold, undefined);
    assert.ok(Math.abs(sent.targetFpr! - 0.01) < 1e-6);
    assert.equal(encoding(ps, 1).calibration!.thresholdOverridden, false);

    const before = encoding(ps, 1).version;
    ps = await client.reencodePromptSet(ps.id, { modelVersion: 1 });
    assert.equal(last(fake.sent<ReencodePromptSetRequest>("ReencodePromptSet")).modelVersion, 1);
    assert.equal(encoding(ps, 1).version, before + 1);
    await rejectsWith(client.reencodePromptSet(ps.id, { modelVersion: 4 }), NotFoundError, "MODEL_VERSION_NOT_LOADED");
  });

  it("confirms a scored query as normal, removes shots and rolls back", async () => {
    const ps = await client.registerPromptSet({ name: "grow", category: "x", shots: SHOTS });
    const query = fakePng("looks-normal");
    const r = await client.score(query, { promptSetId: ps.id });
    assert.ok(r.queryId);
    let grown = await client.addShots(ps.id, { queryIds: [r.queryId] });
    assert.deepEqual([grown.revision, grown.shotCount], [2, 3]);
    assert.deepEqual(fake.shots.get(ps.id)!.get(2), [...SHOTS, query]); // the scored image itself, not a second upload
    assert.deepEqual(last(fake.sent<AddShotsRequest>("AddShots")).shots, []);
    grown = await client.addShots(ps.id, { shots: [fakePng("n3")] });
    assert.deepEqual([grown.revision, grown.shotCount], [3, 4]);
    const smaller = await client.removeShots(ps.id, [0, 2]);
    assert.deepEqual([smaller.revision, smaller.shotCount], [4, 2]);
    assert.deepEqual(fake.shots.get(ps.id)!.get(4), [SHOTS[1], fakePng("n3")]);
    const revs = await client.listRevisions(ps.id);
    assert.equal(revs.current, 4);
    assert.deepEqual(revs.revisions.map((v) => [v.revision, v.shotCount, v.reason]),
      [[1, 2, "created"], [2, 3, "shots-added"], [3, 4, "shots-added"], [4, 2, "shots-removed"]]);
    const back = await client.rollbackPromptSet(ps.id, 2);
    assert.deepEqual([back.revision, back.shotCount], [2, 3]);
    assert.equal((await client.listRevisions(ps.id)).current, 2);
  });

  it("reports the server's reasons when a set cannot grow", async () => {
    const ps = await client.registerPromptSet({ name: "grow-2", category: "x", shots: SHOTS });
    const { queryId } = await client.score(fakePng("q"), { promptSetId: ps.id });
    fake.forgetQueries();
    await rejectsWith(client.addShots(ps.id, { queryIds: [queryId] }), NotFoundError, "QUERY_NOT_RETAINED");
    await rejectsWith(client.addShots(ps.id, {}), InvalidArgumentError, "NO_SHOTS");
    await rejectsWith(client.removeShots(ps.id, [2]), InvalidArgumentError, "INVALID_SHOT");
    await rejectsWith(client.removeShots(ps.id, [0, 1]), InvalidArgumentError, "NO_SHOTS");
    await rejectsWith(client.rollbackPromptSet(ps.id, 9), NotFoundError, "REVISION_NOT_FOUND");
    await rejectsWith(client.listRevisions("missing"), NotFoundError, "NOT_FOUND");
    assert.equal((await client.getPromptSet(ps.id)).revision, 1); // nothing half-done
  });

  // AddShots, RemoveShots and RollbackPromptSet make a new revision: a resend could add the shots twice, so even a
  // refusal with a retry hint (CONCURRENT_CHANGE, QUEUE_FULL) reaches the caller after one attempt.
  it("never resends a shot write, even after a retry hint; resends listRevisions", async () => {
    const ps = await client.registerPromptSet({ name: "grow-3", category: "x", shots: SHOTS });
    fake.conflicts = 1;
    let before = fake.sent("AddShots").length;
    const conflict = await rejectsWith(client.addShots(ps.id, { shots: [fakePng("n3")] }), AbortedError, "CONCURRENT_CHANGE");
    assert.equal(conflict.retryAfterMs, 0);
    assert.equal(fake.sent("AddShots").length, before + 1);
    for (const [method, call] of [
      ["AddShots", () => client.addShots(ps.id, { shots: [fakePng("n3")] })],
      ["RollbackPromptSet", () => client.rollbackPromptSet(ps.id, 1)],
    ] as Array<[string, () => Promise<unknown>]>) {
      fake.calls = 0;
      fake.busyFirst = 1;
      before = fake.sent(method).length;
      const busy = await rejectsWith(call(), ResourceExhaustedError, "QUEUE_FULL");
      assert.equal(busy.retryAfterMs, 50);
      assert.equal(fake.sent(method).length, before + 1, method);
    }
    fake.calls = 0;
    fake.busyFirst = 0;
    fake.unavailableFirst = 1; // nor resent by gRPC on UNAVAILABLE
    await assert.rejects(client.addShots(ps.id, { shots: [fakePng("n3")] }), UnavailableError);
    assert.equal(fake.calls, 1);
    assert.equal((await client.getPromptSet(ps.id)).revision, 1);
    fake.calls = 0;
    fake.unavailableFirst = 1; // UNAVAILABLE (gRPC's retry), then a hint (the client's)
    fake.busyFirst = 1;
    assert.equal((await client.listRevisions(ps.id)).current, 1);
    assert.equal(fake.calls, 3);
    fake.unavailableFirst = fake.busyFirst = 0;
  });
});
