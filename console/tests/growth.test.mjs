// End-to-end: a prompt set that grows (issue 22) in headless Debian chromium against the real server with the tiny
// InCTRL bundle (started by ../run-tests.sh, which passes CONSOLE_URL, CONSOLE_ADMIN_KEY and INCTRL_DATA): shots added
// on the set's page make revision 2, rolling back returns to revision 1; a query scored under Try it and confirmed as
// normal joins the set; a shot removed on the set's page leaves it. Every step is checked against the server's REST
// answers, and the shots' content through scores: an image that is one of the set's shots has a patch residual of 0.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.CONSOLE_URL;
const ADMIN = process.env.CONSOLE_ADMIN_KEY;
const DATA = process.env.INCTRL_DATA || path.resolve(here, '../../../shared/data');
const ART = path.resolve(here, '../test-artifacts');
const CATEGORY_DIR = path.join(DATA, 'mvtec_ad/transistor');
const SHOTS = fs.readdirSync(path.join(CATEGORY_DIR, 'shots')).sort().map((f) => path.join(CATEGORY_DIR, 'shots', f));
const GOOD = fs.readdirSync(path.join(CATEGORY_DIR, 'test/good')).sort().map((f) => path.join(CATEGORY_DIR, 'test/good', f));
const RUN = Date.now().toString(36);
const SET = `growing-${RUN}`;

let page;
let closeBrowser;
let key;
let setId;
const problems = [];
let broken = null;

/** The steps build on each other: after a failure the rest are skipped, and the failing page is captured. */
function step(name, fn) {
  test(name, async (t) => {
    if (broken) {
      t.skip(`an earlier step failed: ${broken}`);
      return;
    }
    try {
      await fn();
    } catch (e) {
      broken = name;
      await page?.screenshot({ path: path.join(ART, `FAILED-growth-${name.replace(/\W+/g, '-').slice(0, 50)}.png`), fullPage: true }).catch(() => {});
      throw e;
    }
  });
}

async function rest(method, route, body, apiKey = key) {
  const headers = { 'X-API-Key': apiKey };
  let payload = body;
  if (body && !(body instanceof FormData)) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(`${BASE}${route}`, { method, headers, body: payload });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function form(fields, files) {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  for (const [k, p] of files) f.append(k, new Blob([fs.readFileSync(p)]), path.basename(p));
  return f;
}

const getSet = async () => (await rest('GET', `/v1/prompt-sets/${setId}`)).body;
const revisions = async () => (await rest('GET', `/v1/prompt-sets/${setId}/revisions`)).body;
/** A REST score of one image against the set (the console's own Try it endpoint, outside the browser). */
async function score(file) {
  const r = await rest('POST', `/v1/prompt-sets/${setId}/score`, form({}, [['image', file]]));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}
const shotRows = () => page.locator('#ps-shot-rows tr');
const currentRevision = (n) => page.locator(`#ps-revisions tr[data-revision="${n}"][data-current="true"]`);

before(async () => {
  assert.ok(BASE, 'CONSOLE_URL is set by run-tests.sh');
  assert.ok(SHOTS.length >= 6 && GOOD.length >= 2, `images in ${CATEGORY_DIR}`);
  fs.mkdirSync(ART, { recursive: true });
  ({ page, close: closeBrowser } = await launchBrowser('growth', problems));
});

after(async () => {
  await closeBrowser?.();
});

let firstScore; // GOOD[1] against revision 1 (4 shots)

step('a tenant opens a registered set: one revision, four shots', async () => {
  const created = await rest('POST', '/v1/admin/tenants', { name: `growth-${RUN}` }, ADMIN);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  key = created.body.apiKey.key;
  const set = await rest('POST', '/v1/prompt-sets', form({ name: SET, category: 'transistor' }, SHOTS.slice(0, 4).map((p) => ['shots', p])));
  assert.equal(set.status, 201, JSON.stringify(set.body));
  setId = set.body.id;
  assert.equal(set.body.revision, 1);
  firstScore = await score(GOOD[1]);
  assert.ok(firstScore.sP > 1e-3, `a query that is not a shot has a patch residual: ${firstScore.sP}`);

  await page.goto(`${BASE}/console/`);
  await page.locator('#view-signin').getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#view-prompt-sets').waitFor({ state: 'visible' });
  await page.locator(`#ps-rows tr[data-set="${SET}"]`).getByRole('button', { name: `Open ${SET}` }).click();
  await currentRevision(1).waitFor();
  assert.equal(await page.locator('#ps-revisions tr').count(), 1);
  assert.equal(await shotRows().count(), 4);
  assert.match(await page.locator('#ps-shots-count').textContent(), /K = 4, revision 1/);
  // nothing to roll back to yet
  assert.equal(await page.locator('#ps-revisions').getByRole('button').count(), 0);
});

step('a refused upload shows the server\'s problem detail and changes nothing', async () => {
  const bad = { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('GIF89a definitely not decodable') };
  const expected = await rest('POST', `/v1/prompt-sets/${setId}/shots`, (() => {
    const f = new FormData();
    f.append('shots', new Blob([bad.buffer]), bad.name);
    return f;
  })());
  assert.equal(expected.status, 400, JSON.stringify(expected.body));
  await page.locator('#ps-add-files').setInputFiles(bad);
  await page.getByRole('button', { name: 'Add shots', exact: true }).click();
  await page.locator('#ps-add-error').waitFor({ state: 'visible' });
  const msg = await page.locator('#ps-add-error').textContent();
  assert.ok(msg.includes(expected.body.detail), `"${msg}" carries the server's detail "${expected.body.detail}"`);
  assert.ok(msg.includes(expected.body.reason), `"${msg}" carries the reason ${expected.body.reason}`);
  const p = await getSet();
  assert.deepEqual([p.revision, p.shotCount], [1, 4]);
  // the refused file stays picked for another try: take it off
  await page.locator('#ps-add-thumbs').getByRole('button', { name: 'Remove broken.png' }).click();
  assert.equal(await page.locator('#ps-add-thumbs li').count(), 0);
});

step('adding two shots makes revision 2 with six shots', async () => {
  await page.locator('#ps-add-files').setInputFiles(SHOTS.slice(4, 6));
  assert.equal(await page.locator('#ps-add-thumbs li').count(), 2);
  await page.getByRole('button', { name: 'Add shots', exact: true }).click();
  await currentRevision(2).waitFor();
  assert.equal(await shotRows().count(), 6);
  // the uploaded files are named at their positions; the shots registered elsewhere are not known by name
  assert.equal(await shotRows().nth(4).locator('td').first().textContent(), path.basename(SHOTS[4]));
  assert.equal(await shotRows().nth(5).locator('td').first().textContent(), path.basename(SHOTS[5]));
  assert.equal(await shotRows().nth(0).locator('td').first().textContent(), '—');
  assert.equal(await page.locator('#ps-add-thumbs li').count(), 0, 'the picked files were sent and cleared');
  await page.waitForFunction((name) => document.querySelector(`#ps-rows tr[data-set="${name}"] td:nth-of-type(2)`)?.textContent === '6', SET);
  const p = await getSet();
  assert.deepEqual([p.revision, p.shotCount], [2, 6]);
  assert.deepEqual((await revisions()).map((r) => [r.revision, r.shotCount, r.reason, r.current]),
    [[1, 4, 'created', false], [2, 6, 'shots-added', true]]);
  // the encoding of the new revision by the serving version, with its state and threshold
  const enc = page.locator('#ps-encodings tr[data-state="READY"]');
  await enc.first().waitFor();
  assert.ok((await enc.first().textContent()).includes(p.encodings[0].bundleId), 'the serving version encoded revision 2');
  await page.screenshot({ path: path.join(ART, 'growth-revision-2.png'), fullPage: true });
});

step('rolling back to revision 1 restores its four shots and its scores', async () => {
  await page.getByRole('button', { name: 'Roll back to revision 1' }).click();
  await currentRevision(1).waitFor();
  assert.equal(await shotRows().count(), 4);
  assert.ok(await page.getByRole('button', { name: 'Roll back to revision 2' }).isVisible(), 'and forward again');
  const p = await getSet();
  assert.deepEqual([p.revision, p.shotCount], [1, 4]);
  const again = await score(GOOD[1]);
  assert.equal(again.score, firstScore.score, 'revision 1 scores as it did');
});

let confirmed; // the try-it answer that was confirmed as normal

step('try it: the answer names its model version; "Confirm as normal" adds the query as a shot', async () => {
  await page.locator('#nav').getByRole('link', { name: 'Try it', exact: true }).click();
  const option = page.locator('#try-set option', { hasText: SET });
  await option.waitFor({ state: 'attached' });
  await page.locator('#view-try').getByLabel('Prompt set').selectOption({ label: await option.textContent() });
  await page.locator('#view-try').getByLabel('Query image').setInputFiles(GOOD[1]);
  const answered = page.waitForResponse((r) => r.url().endsWith(`/v1/prompt-sets/${setId}/score`) && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Score', exact: true }).click();
  confirmed = await (await answered).json();
  await page.locator('#try-result').waitFor({ state: 'visible' });
  assert.ok(confirmed.model && confirmed.modelVersion >= 1 && confirmed.queryId, JSON.stringify({ ...confirmed, map: undefined }));
  assert.equal(await page.locator('#try-model').textContent(), `${confirmed.model} version ${confirmed.modelVersion}`);
  assert.equal(confirmed.sP, firstScore.sP, 'the same image against the same revision');

  const sent = page.waitForRequest((r) => r.url().endsWith(`/v1/prompt-sets/${setId}/shots`) && r.method() === 'POST');
  await page.getByRole('button', { name: 'Confirm as normal' }).click();
  assert.ok((await sent).postData().includes(confirmed.queryId), 'the query travels by its id');
  await page.waitForFunction(() => /revision 3, 5 shots/.test(document.getElementById('try-confirm-status').textContent));
  assert.ok(await page.getByRole('button', { name: 'Confirm as normal' }).isDisabled(), 'a query is confirmed once');
  await page.waitForFunction((name) => [...document.querySelectorAll('#try-set option')].some((o) => o.textContent.startsWith(`${name} ·`) && o.textContent.endsWith('K=5')), SET);
  const p = await getSet();
  assert.deepEqual([p.revision, p.shotCount], [3, 5]);
  const last = (await revisions()).at(-1);
  assert.deepEqual([last.revision, last.shotCount, last.reason, last.current], [3, 5, 'shots-added', true]);
  // the query image itself joined the set: scored again it finds its own patches, a patch residual of 0
  const now = await score(GOOD[1]);
  assert.ok(now.sP < 1e-4, `a shot's own patch residual: ${now.sP}`);
  await page.screenshot({ path: path.join(ART, 'growth-confirmed.png'), fullPage: true });
});

step('removing the confirmed shot on the set\'s page makes revision 4 without it', async () => {
  await page.locator('#nav').getByRole('link', { name: 'Prompt sets', exact: true }).click();
  await currentRevision(3).waitFor();
  assert.equal(await shotRows().count(), 5);
  // the confirmed query is the last shot, named after the file scored in this tab
  assert.match(await shotRows().nth(4).locator('td').first().textContent(), new RegExp(`${path.basename(GOOD[1]).replace('.', '\\.')} \\(confirmed query\\)`));
  await page.getByRole('button', { name: 'Remove shot 4' }).click();
  await currentRevision(4).waitFor();
  assert.equal(await shotRows().count(), 4);
  const p = await getSet();
  assert.deepEqual([p.revision, p.shotCount], [4, 4]);
  assert.deepEqual((await revisions()).map((r) => [r.revision, r.shotCount, r.reason]),
    [[1, 4, 'created'], [2, 6, 'shots-added'], [3, 5, 'shots-added'], [4, 4, 'shots-removed']]);
  assert.equal(await page.locator('#ps-revisions tr').count(), 4);
  // the same four shots as revision 1 again: the query's patch residual is back
  const now = await score(GOOD[1]);
  assert.ok(Math.abs(now.sP - firstScore.sP) < 1e-5, `${now.sP} vs ${firstScore.sP}`);
  const audit = await rest('GET', `/v1/audit?action=prompt_set.shots.remove`);
  assert.ok(audit.body.items.some((e) => e.targetId === setId && e.outcome === 'ok'), 'the removal is audited');
  await page.screenshot({ path: path.join(ART, 'growth-removed.png'), fullPage: true });
  assert.deepEqual(problems, []);
});
