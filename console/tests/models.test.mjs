// End-to-end: the Models page and the prompt set's per-version encodings and comparison report, in headless Debian
// chromium against a real server on a model repository of two versions of one model (started by ../run-tests.sh,
// which passes CONSOLE_MODELS_URL, CONSOLE_ADMIN_KEY and INCTRL_DATA). Version 2 is a copy of version 1 under another
// bundle id: the same weights, so the two versions score alike and the comparison shows no flips.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.CONSOLE_MODELS_URL;
const ADMIN = process.env.CONSOLE_ADMIN_KEY;
const DATA = process.env.INCTRL_DATA || path.resolve(here, '../../../shared/data');
const CATEGORY_DIR = path.join(DATA, 'mvtec_ad/transistor');
const SHOTS = fs.readdirSync(path.join(CATEGORY_DIR, 'shots')).sort().slice(0, 4).map((f) => path.join(CATEGORY_DIR, 'shots', f));
const QUERIES = fs.readdirSync(path.join(CATEGORY_DIR, 'test/good')).sort().slice(0, 4).map((f) => path.join(CATEGORY_DIR, 'test/good', f));
const ART = path.resolve(here, '../test-artifacts');
const RUN = Date.now().toString(36);

let page;
let closeBrowser;
const problems = [];

async function rest(method, route, key, body) {
  const headers = { 'X-API-Key': key };
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

const row = (v) => page.locator(`#models-list section[data-model="tiny"] tr[data-version="${v}"]`);
const cell = (v, cls) => row(v).locator(`td.${cls}`);

async function signIn(key) {
  if (await page.locator('#session').isVisible()) await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#view-signin').getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#session').waitFor({ state: 'visible' });
}

async function openModels() {
  await page.getByRole('link', { name: 'Models' }).click();
  await page.locator('#view-models').waitFor({ state: 'visible' });
  await row(2).waitFor();
}

before(async () => {
  assert.ok(BASE, 'CONSOLE_MODELS_URL is set by run-tests.sh');
  fs.mkdirSync(ART, { recursive: true });
  ({ page, close: closeBrowser } = await launchBrowser('models', problems));
});

after(async () => {
  await closeBrowser?.();
});

test('the admin manages model versions and watches the background encoding; the tenant reads and compares', async () => {
  try {
    // a tenant with one prompt set, registered over REST while the admin watches
    const created = await rest('POST', '/v1/admin/tenants', ADMIN, { name: `models-${RUN}` });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const tenantKey = created.body.apiKey.key;

    await page.goto(`${BASE}/console/`);
    await signIn(ADMIN);
    await openModels();
    assert.match(await row(2).locator('td.model-role').textContent(), /serving/);
    assert.match(await row(2).textContent(), /inctrl-tiny-random-seed7-v2/);
    assert.match(await row(1).textContent(), /ready/);
    await page.waitForFunction(() => /0 \/ 0/.test(document.querySelector('#models-list tr[data-version="1"] td.model-encodings')?.textContent || ''));

    const set = await rest('POST', '/v1/prompt-sets', tenantKey,
      form({ name: `line-${RUN}`, category: 'transistor' }, SHOTS.map((p) => ['shots', p])));
    assert.equal(set.status, 201, JSON.stringify(set.body));
    const setId = set.body.id;
    // the serving version encoded it on registration; version 1 in the background: the page polls both
    await page.waitForFunction(() => ['1', '2'].every((v) => /1 \/ 1 \(all\)/.test(
      document.querySelector(`#models-list tr[data-version="${v}"] td.model-encodings`)?.textContent || '')), null, { timeout: 60_000 });
    await page.screenshot({ path: path.join(ART, 'models-admin.png'), fullPage: true });

    // unload version 1 on this replica, then load it again
    await row(1).getByRole('button', { name: 'Unload tiny version 1' }).click();
    await page.locator('#confirm-ok').click();
    await page.waitForFunction(() => document.querySelector('#models-list tr[data-version="1"]')?.dataset.state === 'AVAILABLE');
    await row(1).getByRole('button', { name: 'Load tiny version 1' }).click();
    await page.waitForFunction(() => document.querySelector('#models-list tr[data-version="1"]')?.dataset.state === 'READY', null, { timeout: 60_000 });

    // a canary of version 1, then a shadow instead
    const ro = page.locator('#models-list section[data-model="tiny"] form.rollout-form');
    await ro.getByLabel('Canary version').selectOption('1');
    await ro.getByLabel('Canary share (%)').fill('100');
    await ro.getByRole('button', { name: 'Save roll-out' }).click();
    await page.waitForFunction(() => /canary 100%/.test(document.querySelector('#models-list tr[data-version="1"] td.model-role')?.textContent || ''));
    const canaryScore = await rest('POST', `/v1/prompt-sets/${setId}/score`, tenantKey, form({}, [['image', QUERIES[0]]]));
    assert.equal(canaryScore.status, 200);
    assert.equal(canaryScore.body.modelVersion, 1, 'the canary takes its 100 % share');
    await ro.getByLabel('Canary version').selectOption('0');
    await ro.getByLabel('Canary share (%)').fill('0');
    await ro.getByLabel('Shadow version').selectOption('1');
    await ro.getByLabel('Shadow share (%)').fill('100');
    await ro.getByRole('button', { name: 'Save roll-out' }).click();
    await page.waitForFunction(() => /shadow 100%/.test(document.querySelector('#models-list tr[data-version="1"] td.model-role')?.textContent || '')
      && !/canary/.test(document.querySelector('#models-list tr[data-version="1"] td.model-role')?.textContent || ''));
    await ro.getByLabel('Shadow share (%)').fill('150');
    await ro.getByRole('button', { name: 'Save roll-out' }).click();
    assert.match(await ro.locator('p.error').textContent(), /between 0 and 100/);
    await ro.getByLabel('Shadow share (%)').fill('100');

    // promote version 1, then roll back to 2
    await row(1).getByRole('button', { name: 'Promote tiny version 1' }).click();
    await page.waitForFunction(() => /serving/.test(document.querySelector('#models-list tr[data-version="1"] td.model-role')?.textContent || ''));
    const back = page.locator('#models-list section[data-model="tiny"]').getByRole('button', { name: 'Roll back to version 2' });
    await back.click();
    await page.locator('#confirm-ok').click();
    await page.waitForFunction(() => /serving/.test(document.querySelector('#models-list tr[data-version="2"] td.model-role')?.textContent || ''));
    // promoting the shadow's version ended the shadow: set it again for the comparison below
    assert.doesNotMatch(await cell(1, 'model-role').textContent(), /shadow/);
    await ro.getByLabel('Shadow version').selectOption('1');
    await ro.getByLabel('Shadow share (%)').fill('100');
    await ro.getByRole('button', { name: 'Save roll-out' }).click();
    await page.waitForFunction(() => /shadow 100%/.test(document.querySelector('#models-list tr[data-version="1"] td.model-role')?.textContent || ''));
    const audit = await rest('GET', '/v1/audit?limit=50', ADMIN);
    const actions = audit.body.items.filter((e) => e.targetId === 'tiny' && e.outcome === 'ok').map((e) => e.action);
    for (const a of ['model.unload', 'model.load', 'model.rollout', 'model.promote', 'model.rollback']) {
      assert.ok(actions.includes(a), `${a} in the audit log: ${actions}`);
    }

    // live traffic for the comparison (a rig's request, here through the Open Inference Protocol's REST front):
    // version 2 answers, version 1 scores the same images in the shadow
    for (const q of QUERIES) {
      const r = await rest('POST', '/v2/models/tiny/infer', tenantKey, {
        inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [fs.readFileSync(q).toString('base64')] }],
        parameters: { prompt_set_id: setId },
        outputs: [{ name: 'score' }],
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual([r.body.model_name, r.body.model_version], ['tiny', '2']);
    }

    // the tenant reads the models without the admin's controls
    await signIn(tenantKey);
    await openModels();
    assert.equal(await page.locator('#view-models button', { hasText: /^(Load|Unload|Promote)$/ }).count(), 0);
    assert.equal(await page.locator('#view-models form.rollout-form').count(), 0);
    assert.match(await cell(1, 'model-encodings').textContent(), /admin only/);

    // the prompt set: one encoding per version, and the comparison of the two versions
    await page.getByRole('link', { name: 'Prompt sets' }).click();
    await page.locator('#view-prompt-sets').waitFor({ state: 'visible' });
    await page.getByRole('button', { name: `Open line-${RUN}` }).click();
    await page.locator('#ps-encodings tr[data-version="1"][data-state="READY"]').waitFor();
    await page.locator('#ps-encodings tr[data-version="2"][data-state="READY"]').waitFor();
    assert.match(await page.locator('#ps-encodings tr[data-version="2"]').textContent(), /inctrl-tiny-random-seed7-v2/);
    // the shadow scores after the answer went out: wait until its four samples are stored, then compare
    const deadline = Date.now() + 60_000;
    for (let n = 0; n < QUERIES.length;) {
      assert.ok(Date.now() < deadline, `shadow samples stored: ${n}`);
      await new Promise((resolve) => { setTimeout(resolve, 250); });
      n = (await rest('GET', `/v1/prompt-sets/${setId}/comparison`, tenantKey)).body.traffic.n;
    }
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    await page.locator('#ps-comparison-table').waitFor();
    const traffic = await page.locator('#ps-comparison-table tbody tr').nth(1).locator('td').allTextContents();
    assert.equal(Number(traffic[0]), QUERIES.length, `live pairs: ${traffic}`);
    assert.equal(traffic[3], '0.0000', 'equal weights: equal scores');
    assert.deepEqual(traffic.slice(4), ['0', '0'], 'no verdict flips');
    assert.match(await page.locator('#ps-comparison-versions').textContent(), /baseline version 2 .* candidate version 1/);
    const shots = await page.locator('#ps-comparison-table tbody tr').nth(0).locator('td').allTextContents();
    assert.equal(Number(shots[0]), SHOTS.length, 'one leave-one-out pair per shot');
    await page.locator('#ps-compare-baseline').fill('2');
    await page.locator('#ps-compare-candidate').fill('2');
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    assert.match(await page.locator('#ps-comparison p.error').textContent(), /NO_VERSIONS_TO_COMPARE/);
    await page.screenshot({ path: path.join(ART, 'models-comparison.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } catch (e) {
    await page?.screenshot({ path: path.join(ART, 'FAILED-models.png'), fullPage: true }).catch(() => {});
    throw e;
  }
});
