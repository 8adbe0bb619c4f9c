// Live tests against a real server at $INCTRL_ADDR (key $INCTRL_API_KEY, images from $INCTRL_DATA, default
// <repo>/../shared/data). Skipped with a message when INCTRL_ADDR is unset; FAIL when it is set but unreachable.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError, NotFoundError, UnauthenticatedError, connect, type InctrlClient, type InctrlError } from "../src";

const ADDR = process.env.INCTRL_ADDR;
const KEY = process.env.INCTRL_API_KEY ?? "";
// compiled to dist/test/, so the repo root is four levels up
const DATA = process.env.INCTRL_DATA || join(__dirname, "..", "..", "..", "..", "..", "shared", "data");
const SKIP = ADDR ? false : "INCTRL_ADDR is not set: live tests need a running InCTRL serve (e.g. INCTRL_ADDR=localhost:8080 INCTRL_API_KEY=...)";

function mono(): { shots: Buffer[]; tests: Buffer[] } {
  const rows = readFileSync(join(DATA, "manifest.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
  const pick = (shots: boolean) =>
    rows.filter((r) => r[2] === "mono" && r[0].includes("/shots/") === shots).map((r) => r[0]).sort();
  return { shots: pick(true).slice(0, 4).map((p) => readFileSync(join(DATA, p))), tests: pick(false).map((p) => readFileSync(join(DATA, p))) };
}

describe("live server", { skip: SKIP }, () => {
  let client: InctrlClient;
  let data: { shots: Buffer[]; tests: Buffer[] };
  let ready: Promise<void>;
  before(() => {
    client = connect(ADDR!, { apiKey: KEY, timeoutMs: 60000 });
    data = mono();
    // probed once; every test awaits it, so an unreachable server FAILS each test (never skips or cancels)
    ready = client.waitReady(15000);
    ready.catch(() => undefined);
  });
  after(() => client?.close());

  it("scores one image", async () => {
    await ready;
    const r = await client.score(data.tests[0], { shots: data.shots, category: "mono" }, { requestId: "live-1" });
    assert.equal(r.requestId, "live-1");
    assert.ok(r.score >= 0 && r.score <= 1 && r.bundleId);
  });

  it("streams 50 images and correlates every id exactly once", async () => {
    await ready;
    const items: Array<[string, Buffer]> = Array.from({ length: 50 }, (_, i) => [`live-${i}`, data.tests[i % data.tests.length]]);
    const s = client.openStream({ window: 8, prompts: { shots: data.shots, category: "mono" }, omitMap: true, timeoutMs: 300000 });
    const seen = new Map<string, number>();
    for await (const r of s.scoreMany(items)) {
      assert.equal(r.error, undefined, `${r.requestId}: ${r.error}`);
      assert.equal(r.response!.requestId, r.requestId);
      seen.set(r.requestId, (seen.get(r.requestId) ?? 0) + 1);
    }
    await s.close();
    assert.equal(seen.size, 50);
    assert.ok([...seen.values()].every((n) => n === 1));
    assert.deepEqual(s.unmatched, []);
  });

  it("maps an undecodable image to InvalidArgumentError", async () => {
    await ready;
    await assert.rejects(client.score(Buffer.from("this is not an image"), { shots: data.shots, category: "mono" }), InvalidArgumentError);
  });

  it("lists the models and names the version that answered", async () => {
    await ready;
    const models = await client.listModels();
    const def = models.models.find((m) => m.name === models.defaultModel);
    assert.ok(def && def.servingVersion > 0 && def.versions.some((v) => v.version === def.servingVersion), JSON.stringify(models));
    const info = await client.modelInfo({ model: def.name, modelVersion: def.servingVersion });
    assert.deepEqual([info.model, info.modelVersion], [def.name, def.servingVersion]);
    assert.ok(info.precision);
    const r = await client.score(data.tests[0], { shots: data.shots, category: "mono" }, { model: def.name, modelVersion: def.servingVersion });
    assert.deepEqual([r.model, r.modelVersion], [def.name, def.servingVersion]);
    const e = await client.score(data.tests[0], { shots: data.shots, category: "mono" }, { model: `no-such-model-${Date.now()}` }).catch((x: InctrlError) => x);
    assert.ok(e instanceof NotFoundError);
    assert.equal((e as InctrlError).reason, "MODEL_NOT_FOUND");
  });

  it("confirms a scored query as normal, then rolls back bit for bit", async () => {
    await ready;
    const ps = await client.registerPromptSet({ name: `live-ts-grow-${Date.now()}`, category: "mono", shots: data.shots.slice(0, 2) });
    try {
      const first = await client.score(data.tests[0], { promptSetId: ps.id });
      assert.ok(first.queryId && first.model && first.modelVersion > 0);
      const grown = await client.addShots(ps.id, { queryIds: [first.queryId] });
      assert.deepEqual([grown.revision, grown.shotCount], [2, 3]);
      const revs = await client.listRevisions(ps.id);
      assert.deepEqual([revs.current, revs.revisions.map((r) => r.reason)], [2, ["created", "shots-added"]]);
      const gone = await client.addShots(ps.id, { queryIds: ["never-scored"] }).catch((x: InctrlError) => x);
      assert.equal((gone as InctrlError).reason, "QUERY_NOT_RETAINED");
      const back = await client.rollbackPromptSet(ps.id, 1);
      assert.deepEqual([back.revision, back.shotCount], [1, 2]);
      const again = await client.score(data.tests[0], { promptSetId: ps.id });
      assert.equal(again.score, first.score); // revision 1's stored encoding serves it again, bit for bit
    } finally {
      await client.deletePromptSet(ps.id);
    }
  });

  it("maps a bad API key to UnauthenticatedError", async () => {
    await ready;
    const bad = connect(ADDR!, { apiKey: KEY + "-wrong" });
    await assert.rejects(bad.score(data.tests[0], { shots: data.shots, category: "mono" }), UnauthenticatedError);
    bad.close();
  });
});
