// Headless chromium against a server running the committed vision-only default bundle (kind patch-residual, no
// text tower): the banner says what it computes once, the Text prompts tab says why its preview and s_a comparison
// are off (instead of ending them in 409), a template set attached to a prompt set is flagged as having no effect,
// and the try-it heatmap of a normal image stays cool on the absolute (threshold) scale.
// Started by ../run-tests.sh, which passes CONSOLE_VISION_URL, CONSOLE_ADMIN_KEY and INCTRL_DATA.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './browser.mjs';
import { hottest } from './heat.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.CONSOLE_VISION_URL;
const ADMIN = process.env.CONSOLE_ADMIN_KEY;
const DATA = process.env.INCTRL_DATA || path.resolve(here, '../../../shared/data');
const ART = path.resolve(here, '../test-artifacts');
const DIR = path.join(DATA, 'mvtec_ad/transistor');
const SHOTS = fs.readdirSync(path.join(DIR, 'shots')).sort().map((f) => path.join(DIR, 'shots', f));
const GOODS = fs.readdirSync(path.join(DIR, 'test/good')).sort().map((f) => path.join(DIR, 'test/good', f));
const RUN = Date.now().toString(36);

let page;
let closeBrowser;
let tenant;
let key;
let templateId;
const problems = [];

async function rest(p, { method = 'GET', json, form, as = key } = {}) {
  const headers = { 'X-API-Key': as };
  if (json) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${BASE}${p}`, { method, headers, body: json ? JSON.stringify(json) : form });
  const body = res.status === 204 ? null : await res.json();
  assert.ok(res.ok, `${method} ${p}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function visibleText(selector) {
  await page.locator(selector).waitFor({ state: 'visible' });
  return (await page.locator(selector).textContent()).trim();
}

before(async () => {
  assert.ok(BASE, 'CONSOLE_VISION_URL is set by run-tests.sh');
  fs.mkdirSync(ART, { recursive: true });
  const created = await rest('/v1/admin/tenants', { method: 'POST', json: { name: `vision-${RUN}` }, as: ADMIN });
  tenant = created.tenant.id;
  key = created.apiKey.key;
  templateId = (await rest('/v1/templates', {
    method: 'POST',
    json: { name: `ignored-${RUN}`, normalStates: ['{}'], anomalousStates: ['broken {}'], templates: ['a photo of a {}.'] },
  })).id;
  ({ page, close: closeBrowser } = await launchBrowser('vision', problems));
});

after(async () => {
  await closeBrowser?.();
  if (tenant) await fetch(`${BASE}/v1/admin/tenants/${tenant}`, { method: 'DELETE', headers: { 'X-API-Key': ADMIN } });
});

test('vision-only bundle: the banner names what it computes once, with SVG icons', async () => {
  const model = await rest('/v1/model');
  assert.equal(model.inctrl, false);
  await page.goto(`${BASE}/console/`);
  await page.locator('#view-signin').getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#view-prompt-sets').waitFor({ state: 'visible' });
  assert.match(await visibleText('#note-not-inctrl'), /NOT InCTRL/);
  // the banner names the precision the server runs at (fp32 unless inctrl.model.precision says otherwise)
  assert.equal(model.precision, 'fp32');
  assert.equal(await visibleText('#model-precision'), model.precision);
  const text = await page.evaluate(() => document.querySelector('header').textContent + document.getElementById('random-warning').textContent);
  assert.equal(text.split(model.mode).length - 1, 1, `"${model.mode}" appears once in: ${text}`);
  assert.doesNotMatch(text, /[\u2460-\u24ff\u25ce\u26a0]/u, 'no symbol characters that a font may lack');
  for (const sel of ['header .brand svg.brand-mark', '#note-not-inctrl svg.icon']) {
    const box = await page.locator(sel).boundingBox();
    assert.ok(box && box.width >= 10 && box.height >= 10, `${sel} is drawn (${JSON.stringify(box)})`);
  }
  await page.screenshot({ path: path.join(ART, 'v1-vision-banner.png') });
});

test('vision-only bundle: the Text prompts tab says why preview and comparison are off, instead of a 409', async () => {
  const statuses = [];
  const seen = (r) => { if (r.url().includes('/v1/templates')) statuses.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`); };
  page.on('response', seen);
  try {
    await page.locator('#nav').getByRole('link', { name: 'Text prompts', exact: true }).click();
    await page.locator('#view-templates').waitFor({ state: 'visible' });
    const note = await visibleText('#tpl-no-text');
    assert.match(note, /no text encoder/);
    assert.match(note, /do not change its scores/);
    const model = await rest('/v1/model');
    assert.ok(note.includes(model.bundleId), note);
    for (const name of ['Preview sentences', 'Compare s_a with the defaults']) {
      const button = page.getByRole('button', { name, exact: true });
      assert.ok(await button.isDisabled(), `${name} is off`);
      assert.equal(await button.getAttribute('aria-describedby'), 'tpl-no-text', `${name} is described by the note`);
    }
    // a click on a disabled button does nothing: no request, so no 409 either
    await page.getByRole('button', { name: 'Preview sentences', exact: true }).click({ force: true });
    assert.ok(await page.locator('#tpl-preview-error').isHidden());
    // editing and saving still work (the sets are kept for an InCTRL bundle)
    await page.locator('#tpl-list button', { hasText: `ignored-${RUN}` }).click();
    await page.locator('#view-templates').getByLabel(/^Sentence templates/).fill('a photo of a {}.\na close-up of a {}.');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForFunction(() => /v2\)$/.test(document.getElementById('tpl-form-h').textContent));
    assert.ok(statuses.length > 0, 'the view talked to the server');
    assert.deepEqual(statuses.filter((x) => / 409$/.test(x) || /preview/.test(x)), [], `no preview call, no 409: ${statuses}`);
    await page.screenshot({ path: path.join(ART, 'v2-vision-text-prompts.png'), fullPage: true });
  } finally {
    page.off('response', seen);
  }
  await page.locator('#nav').getByRole('link', { name: 'Prompt sets', exact: true }).click();
  await page.locator('#view-prompt-sets').waitFor({ state: 'visible' });
});

test('vision-only bundle: a template set attached to a prompt set is flagged as having no effect', async () => {
  await page.locator(`#ps-template option[value="${templateId}"]`).waitFor({ state: 'attached' });
  await page.locator('#view-prompt-sets').getByLabel('Name', { exact: true }).fill(`vision-set-${RUN}`);
  await page.locator('#view-prompt-sets').getByLabel('Category (product)').fill('transistor');
  await page.locator('#view-prompt-sets').getByLabel('Text-prompt templates').selectOption(templateId);
  await page.locator('#ps-files').setInputFiles(SHOTS);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.locator('#ps-detail').waitFor({ state: 'visible' });
  const warning = await visibleText('#ps-warnings .set-warning');
  assert.match(warning, /has no effect/);
  assert.ok(warning.includes(templateId), warning);
  await page.screenshot({ path: path.join(ART, 'v3-vision-template-warning.png'), fullPage: true });
});

test('vision-only bundle: a normal image does not glow on the absolute heatmap scale', async () => {
  const set = (await rest('/v1/prompt-sets')).items.find((p) => p.name === `vision-set-${RUN}`);
  // a good image this set calls normal: its score s_p = max of the map is below the threshold
  let good = null;
  for (const f of GOODS.slice(0, 8)) {
    const form = new FormData();
    form.append('image', new Blob([fs.readFileSync(f)], { type: 'image/png' }), path.basename(f));
    const r = await rest(`/v1/prompt-sets/${set.id}/score`, { method: 'POST', form });
    if (r.isAnomalous === false) { good = { file: f, r }; break; }
  }
  assert.ok(good, 'one of the first good images scores below the threshold');
  assert.ok(Math.max(...good.r.map) < good.r.threshold);

  await page.locator('#nav').getByRole('link', { name: 'Try it', exact: true }).click();
  await page.locator(`#try-set option[value="${set.id}"]`).waitFor({ state: 'attached' });
  await page.locator('#try-set').selectOption(set.id);
  await page.locator('#view-try').getByLabel('Query image').setInputFiles(good.file);
  await page.getByRole('button', { name: 'Score', exact: true }).click();
  await page.waitForFunction(() => document.getElementById('try-canvas').dataset.drawn === 'true');
  assert.equal(await visibleText('#try-verdict'), 'normal');
  await page.locator('#view-try').getByLabel('Map opacity').fill('1');
  assert.equal(await page.locator('#try-scale').inputValue(), 'absolute');
  const absolute = await hottest(page);
  assert.ok(absolute <= 0.55, `absolute scale: a normal map stays in the cool half (hottest ${absolute})`);
  await page.screenshot({ path: path.join(ART, 'v4-vision-normal-absolute.png'), fullPage: true });
  await page.locator('#view-try').getByLabel('Colour scale').selectOption('relative');
  const relative = await hottest(page);
  assert.ok(relative >= 0.8, `relative scale: the same map glows at its maximum (hottest ${relative})`);
  assert.deepEqual(problems, []);
});
