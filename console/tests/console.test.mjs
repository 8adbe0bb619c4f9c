// End-to-end: headless Debian chromium drives the console served by the real server (tiny random bundle).
// Started by ../run-tests.sh, which passes CONSOLE_URL, CONSOLE_ADMIN_KEY and INCTRL_DATA.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './browser.mjs';
import { hottest } from './heat.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.CONSOLE_URL;
const ADMIN = process.env.CONSOLE_ADMIN_KEY;
const DATA = process.env.INCTRL_DATA || path.resolve(here, '../../../shared/data');
const ART = path.resolve(here, '../test-artifacts');
const CATEGORY_DIR = path.join(DATA, 'mvtec_ad/transistor');
const SHOTS = fs.readdirSync(path.join(CATEGORY_DIR, 'shots')).sort().map((f) => path.join(CATEGORY_DIR, 'shots', f));
const ANOMALY = path.join(CATEGORY_DIR, 'test/bent_lead', fs.readdirSync(path.join(CATEGORY_DIR, 'test/bent_lead')).sort()[0]);
const GOOD = path.join(CATEGORY_DIR, 'test/good', fs.readdirSync(path.join(CATEGORY_DIR, 'test/good')).sort()[0]);
const RUN = Date.now().toString(36);
const TENANT = `acme-${RUN}`;
const TEMPLATE = `inspection-${RUN}`;
const SET = `transistor-line-${RUN}`;

let context;
let page;
let closeBrowser;
let tenantKey;
const problems = []; // CSP violations and uncaught page errors: none allowed
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
      await page?.screenshot({ path: path.join(ART, `FAILED-${name.replace(/\W+/g, '-').slice(0, 60)}.png`), fullPage: true }).catch(() => {});
      throw e;
    }
  });
}

async function shot(name) {
  await page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });
}

async function visibleText(selector) {
  await page.locator(selector).waitFor({ state: 'visible' });
  return (await page.locator(selector).textContent()).trim();
}

before(async () => {
  assert.ok(BASE, 'CONSOLE_URL is set by run-tests.sh');
  assert.ok(SHOTS.length >= 4, `shots in ${CATEGORY_DIR}`);
  fs.mkdirSync(ART, { recursive: true });
  for (const f of fs.readdirSync(ART)) if (f.endsWith('.png')) fs.rmSync(path.join(ART, f));
  ({ context, page, close: closeBrowser } = await launchBrowser('console', problems));
});

after(async () => {
  await closeBrowser?.();
});

step('console is served with a strict CSP and security headers', async () => {
  const res = await fetch(`${BASE}/console/`);
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('set-cookie'), null);
  const redirect = await fetch(`${BASE}/console`, { redirect: 'manual' });
  assert.equal(redirect.status, 308);
});

step('a wrong key shows a clear sign-in error', async () => {
  await page.goto(`${BASE}/console/`);
  await page.locator('#view-signin').getByLabel('API key').fill('not-a-real-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const msg = await visibleText('#signin-error');
  assert.match(msg, /not accepted/);
  assert.match(msg, /HTTP 401/);
  assert.equal(await page.locator('#view-signin').getByLabel('API key').getAttribute('aria-invalid'), 'true');
  assert.ok(await page.locator('#nav').isHidden(), 'nothing but sign-in is shown');
  await shot('01-signin-wrong-key');
});

step('a pasted access token (JWT) is sent as a bearer token, not as an API key', async () => {
  // the server under test has OIDC sign-in off: it ignores the bearer header, so the problem is MISSING_API_KEY
  // (an API key header would have given INVALID_API_KEY)
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
  const sent = page.waitForRequest((r) => r.url().endsWith('/v1/model'));
  await page.goto(`${BASE}/console/`);
  await page.locator('#view-signin').getByLabel('API key').fill(jwt);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const headers = (await sent).headers();
  assert.equal(headers.authorization, `Bearer ${jwt}`);
  assert.equal(headers['x-api-key'], undefined);
  const msg = await visibleText('#signin-error');
  assert.match(msg, /MISSING_API_KEY/);
});

step('admin signs in, sees the random-weights banner, creates a tenant and manages its keys', async () => {
  const model = await (await fetch(`${BASE}/v1/model`, { headers: { 'X-API-Key': ADMIN } })).json();
  await page.locator('#view-signin').getByLabel('API key').fill(ADMIN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#view-tenants').waitFor({ state: 'visible' });
  assert.equal(await visibleText('#bundle-id'), model.bundleId);
  assert.match(await visibleText('#random-warning'), /RANDOM WEIGHTS/);
  assert.equal(await visibleText('#session-role'), 'administrator');

  // client-side validation first
  await page.getByRole('button', { name: 'Create tenant' }).click();
  assert.match(await visibleText('#tenant-name-error'), /needs a name/);

  await page.locator('#view-tenants').getByLabel('Name', { exact: true }).fill(TENANT);
  await page.getByRole('button', { name: 'Create tenant' }).click();
  tenantKey = await page.locator('#tenant-secret input.secret').inputValue();
  assert.ok(tenantKey.length > 20, 'the first key is shown once');
  await page.locator(`#tenant-rows tr[data-tenant="${TENANT}"]`).waitFor();
  await shot('02-tenant-created');

  // duplicate name: the server's 409 problem is shown
  await page.locator('#view-tenants').getByLabel('Name', { exact: true }).fill(TENANT);
  await page.getByRole('button', { name: 'Create tenant' }).click();
  assert.match(await visibleText('#tenant-form-error'), /HTTP 409/);

  await page.getByRole('button', { name: `Keys of ${TENANT}` }).click();
  await page.getByRole('heading', { name: `Keys of ${TENANT}` }).waitFor();
  await page.getByRole('button', { name: 'Issue a new key' }).click();
  const second = await page.locator('#tenant-keys input.secret').inputValue();
  assert.notEqual(second, tenantKey);
  const prefix = second.slice(0, 8);
  const rows = page.locator('#tenant-keys tbody tr');
  await page.waitForFunction(() => document.querySelectorAll('#tenant-keys tbody tr').length === 2);
  // revoke the second key through the confirmation dialog
  const revoke = page.locator('#tenant-keys tbody tr').filter({ hasText: 'active' }).last().getByRole('button', { name: /Revoke key/ });
  await revoke.click();
  await page.locator('#confirm').waitFor({ state: 'visible' });
  await page.locator('#confirm-ok').click();
  await page.waitForFunction(() => [...document.querySelectorAll('#tenant-keys tbody tr')].some((r) => r.textContent.includes('revoked')));
  assert.equal(await rows.count(), 2);
  const gone = await fetch(`${BASE}/v1/keys`, { headers: { 'X-API-Key': second } });
  assert.equal(gone.status, 401, `revoked key ${prefix}… is refused`);
  await shot('03-tenant-keys');
});

step('the banner icons are inline SVG (no font glyph needed) and render', async () => {
  for (const sel of ['header .brand svg.brand-mark', '#random-warning #note-random svg.icon']) {
    const box = await page.locator(sel).boundingBox();
    assert.ok(box && box.width >= 10 && box.height >= 10, `${sel} is drawn (${JSON.stringify(box)})`);
  }
  const text = await page.evaluate(() => document.querySelector('header').textContent + document.getElementById('random-warning').textContent);
  assert.doesNotMatch(text, /[\u2460-\u24ff\u25ce\u26a0]/u, 'no symbol characters that a font may lack');
});

step('an admin opening Try it is told it needs a tenant key and how to get one', async () => {
  await page.locator('#nav').getByRole('link', { name: 'Try it', exact: true }).click();
  const note = await visibleText('#try-admin-note');
  assert.match(note, /needs a tenant API key/);
  assert.match(note, /create a tenant/);
  assert.match(note, /Issue a new key/);
  assert.ok(await page.locator('#try-form').isHidden(), 'no form that could only fail');
  await shot('03b-try-it-as-admin');
  await page.locator('#try-admin-note').getByRole('link', { name: 'Tenants' }).click();
  await page.locator('#view-tenants').waitFor({ state: 'visible' });
});

step('the tenant edits a text-prompt template with validation, preview and s_a comparison', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#view-signin').getByLabel('API key').fill(tenantKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#view-prompt-sets').waitFor({ state: 'visible' });
  assert.equal(await visibleText('#session-role'), 'tenant');
  assert.ok(await page.locator('#nav').getByRole('link', { name: 'Tenants', exact: true }).isHidden(), 'no tenant management for a tenant key');

  await page.locator('#nav').getByRole('link', { name: 'Text prompts', exact: true }).click();
  await page.locator('#tpl-list button').first().waitFor();
  // an InCTRL bundle has a text tower: no "no text encoder" note, preview and comparison on
  assert.ok(await page.locator('#tpl-no-text').isHidden());
  assert.ok(await page.getByRole('button', { name: 'Preview sentences', exact: true }).isEnabled());
  await page.getByRole('button', { name: 'New from defaults' }).click();
  await page.locator('#view-templates').getByLabel('Name', { exact: true }).fill(TEMPLATE);
  await page.locator('#view-templates').getByLabel(/Normal states/).fill('{}\npristine {}\n{} without defect');
  await page.locator('#view-templates').getByLabel(/Anomalous states/).fill('broken {}\n{} with a scratch\nbent');
  // client-side: the {} placeholder
  assert.match(await visibleText('#tpl-anomalous-error'), /placeholder \{\} — missing in: “bent”/);
  await page.locator('#view-templates').getByLabel(/Anomalous states/).fill('broken {}\n{} with a scratch\n{} with a bent lead');
  assert.ok(await page.locator('#tpl-anomalous-error').isHidden());
  // server-side: CLIP's 77-token limit
  const long = `a photo of the {} ${'very '.repeat(80)}closely.`;
  await page.locator('#view-templates').getByLabel(/Sentence templates/).fill(`a photo of a {}.\na close-up photo of the {} for visual inspection.\n${long}`);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  const err = await visibleText('#tpl-form-error');
  assert.match(err, /Not saved/);
  assert.match(err, /SENTENCE_TOO_LONG/);
  assert.match(err, /77/);
  await shot('04-template-server-validation');

  // the preview flags the same sentences
  await page.locator('#view-templates').getByLabel('Category', { exact: true }).fill('transistor');
  await page.getByRole('button', { name: 'Preview sentences' }).click();
  assert.match(await visibleText('#tpl-preview-out p'), /exceed CLIP's 77-token context/);

  await page.locator('#view-templates').getByLabel(/Sentence templates/).fill('a photo of a {}.\na close-up photo of the {} for visual inspection.');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.locator('#tpl-list button', { hasText: TEMPLATE }).waitFor();
  assert.ok(await page.locator('#tpl-form-error').isHidden());
  assert.match(await visibleText('#tpl-form-h'), new RegExp(`${TEMPLATE}.*v1`));

  await page.getByRole('button', { name: 'Preview sentences' }).click();
  await page.locator('#tpl-preview-out li').first().waitFor();
  assert.match(await visibleText('#tpl-preview-out p'), /12 sentences for “transistor”, all within 77 tokens/);
  assert.ok(await page.getByText('a close-up photo of the pristine transistor for visual inspection.').isVisible());

  await page.locator('#view-templates').getByLabel('Image for the s_a comparison').setInputFiles(ANOMALY);
  await page.getByRole('button', { name: 'Compare s_a with the defaults' }).click();
  const edited = Number(await visibleText('#tpl-sa-edited'));
  const defaults = Number(await visibleText('#tpl-sa-default'));
  assert.ok(edited >= 0 && edited <= 1 && defaults >= 0 && defaults <= 1, `s_a ${edited} / ${defaults}`);
  await shot('05-template-preview-compare');
});

step('the tenant registers a prompt set from K shots (drop + picker) and adjusts its calibration', async () => {
  await page.locator('#nav').getByRole('link', { name: 'Prompt sets', exact: true }).click();
  await page.locator(`#ps-template option`, { hasText: TEMPLATE }).waitFor({ state: 'attached' });
  // nothing chosen: field errors
  await page.getByRole('button', { name: 'Register' }).click();
  assert.match(await visibleText('#ps-name-error'), /name/);
  assert.match(await visibleText('#ps-shots-error'), /at least one/);

  await page.locator('#view-prompt-sets').getByLabel('Name', { exact: true }).fill(SET);
  await page.locator('#view-prompt-sets').getByLabel('Category (product)').fill('transistor');
  await page.locator('#view-prompt-sets').getByLabel('Text-prompt templates').selectOption({ label: TEMPLATE });
  // two shots by drag and drop, the rest through the file picker
  const dropped = SHOTS.slice(0, 2).map((f) => ({ name: path.basename(f), b64: fs.readFileSync(f).toString('base64') }));
  const dt = await page.evaluateHandle((files) => {
    const d = new DataTransfer();
    for (const f of files) {
      const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
      d.items.add(new File([bytes], f.name, { type: 'image/png' }));
    }
    return d;
  }, dropped);
  await page.dispatchEvent('#ps-drop', 'dragover', { dataTransfer: dt });
  await page.dispatchEvent('#ps-drop', 'drop', { dataTransfer: dt });
  await page.locator('#ps-files').setInputFiles(SHOTS.slice(2));
  await page.waitForFunction((n) => document.querySelectorAll('#ps-thumbs img').length === n, SHOTS.length);
  await page.waitForFunction(() => [...document.querySelectorAll('#ps-thumbs img')].every((i) => i.complete && i.naturalWidth > 0));
  assert.match(await visibleText('#ps-drop strong'), new RegExp(`${SHOTS.length} shot\\(s\\) selected`));
  assert.ok(await page.locator('#ps-name-error').isHidden(), 'field errors clear once the field is filled');
  assert.ok(await page.locator('#ps-shots-error').isHidden());
  await shot('06-shots-selected');

  await page.getByRole('button', { name: 'Register' }).click();
  await page.locator('#ps-detail').waitFor({ state: 'visible' });
  assert.match(await visibleText('#ps-detail-h'), new RegExp(SET));
  assert.equal(await page.locator('#ps-plot svg circle.dot').count(), SHOTS.length);
  assert.ok(await page.locator('#ps-plot svg line.suggested').count() === 1, 'suggested threshold drawn');
  assert.ok(await page.locator(`#ps-rows tr[data-set="${SET}"]`).isVisible());
  await shot('07-calibration');

  // the threshold slider spans the set's scores, as the plot's axis does, not 0..1
  const listed = await (await fetch(`${BASE}/v1/prompt-sets`, { headers: { 'X-API-Key': tenantKey } })).json();
  const cal = listed.items.find((p) => p.name === SET).calibration;
  const slider = page.locator('#ps-threshold-range');
  const bounds = async () => [Number(await slider.getAttribute('min')), Number(await slider.getAttribute('max'))];
  const [lo, hi] = await bounds();
  assert.ok(lo <= Math.min(...cal.shotScores) && hi >= Math.max(...cal.shotScores), `slider ${lo}..${hi} spans ${cal.shotScores}`);
  assert.ok(lo <= cal.suggestedThreshold && cal.suggestedThreshold <= hi);
  const ticks = (await page.locator('#ps-plot svg text.tick-label').allTextContents()).map(Number);
  assert.ok(Math.abs(ticks[0] - lo) < 6e-4 && Math.abs(ticks[ticks.length - 1] - hi) < 6e-4, `slider ${lo}..${hi}, plot axis ${ticks}`);
  assert.ok(hi - lo < 1, 'narrower than 0..1');
  const mid = ((lo + hi) / 2).toFixed(4);
  await slider.fill(mid);
  assert.ok(Math.abs(Number(await page.locator('#ps-threshold').inputValue()) - Number(mid)) < 1e-3, 'the field follows the slider');
  assert.match(await visibleText('#ps-threshold-range-help'), new RegExp(`From ${lo.toFixed(4)} to ${hi.toFixed(4)}`));

  // threshold override, shown on the plot, then back to the suggestion
  await page.locator('#view-prompt-sets').getByLabel('Decision threshold').fill('0.9');
  await page.getByRole('button', { name: 'Set threshold' }).click();
  await page.waitForFunction(() => document.querySelector('#ps-meta').textContent.includes('0.9000 (override)'));
  assert.equal(await page.locator('#ps-plot svg line.threshold').count(), 1);
  assert.ok((await bounds())[1] >= 0.9, 'the slider range grows to the threshold in force');
  await shot('08-threshold-override');
  await page.locator('#view-prompt-sets').getByLabel('Decision threshold').fill('1.5');
  await page.getByRole('button', { name: 'Set threshold' }).click();
  assert.match(await visibleText('#ps-detail-error'), /between 0 and 1/);
  await page.getByRole('button', { name: 'Use suggested' }).click();
  await page.waitForFunction(() => document.querySelector('#ps-meta').textContent.includes('(suggested)'));

  // target false-positive rate: the server default, then a higher one refits a lower suggested threshold
  const meta = () => page.locator('#ps-meta').textContent();
  assert.match(await meta(), /Target false-positive rate\s*5\.0 %/);
  assert.match(await meta(), /Expected false-positive rate\s*5\.0 % at the threshold in force/);
  assert.match(await meta(), /Fit method\s*logit-normal/);
  const suggested = async () => Number(/Suggested threshold\s*([0-9.]+)/.exec(await meta())[1]);
  const strict = await suggested();
  await page.locator('#ps-target').fill('0.7');
  await page.getByRole('button', { name: 'Set target' }).click();
  assert.match(await visibleText('#ps-detail-error'), /between 0 and 0\.5/);
  await page.locator('#ps-target').fill('0.2');
  await page.getByRole('button', { name: 'Set target' }).click();
  await page.waitForFunction(() => /Target false-positive rate\s*20\.0 %/.test(document.querySelector('#ps-meta').textContent));
  assert.ok(await suggested() < strict, 'a higher target gives a lower threshold');

  // re-encoding stores a new version of the set
  const version = async () => Number(/Version\s*(\d+)/.exec(await page.locator('#ps-meta').textContent())[1]);
  const before = await version();
  await page.getByRole('button', { name: /Re-encode/ }).click();
  await page.waitForFunction((v) => Number(/Version\s*(\d+)/.exec(document.querySelector('#ps-meta').textContent)[1]) > v, before);
  assert.ok(await version() > before);
});

step('a bad shot is refused with a message naming it, nothing is stored', async () => {
  await page.locator('#view-prompt-sets').getByLabel('Name', { exact: true }).fill(`${SET}-bad`);
  await page.locator('#view-prompt-sets').getByLabel('Category (product)').fill('transistor');
  await page.locator('#ps-files').setInputFiles([
    { name: path.basename(SHOTS[0]), mimeType: 'image/png', buffer: fs.readFileSync(SHOTS[0]) },
    { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('this is not a PNG at all') }]);
  await page.getByRole('button', { name: 'Register' }).click();
  const msg = await visibleText('#ps-form-error');
  assert.match(msg, /Registration failed/);
  assert.match(msg, /shot 1/);
  assert.match(msg, /HTTP 400/);
  assert.equal(await page.locator(`#ps-rows tr[data-set="${SET}-bad"]`).count(), 0);
  await shot('09-register-bad-shot');
  while (await page.locator('#ps-thumbs button').count()) await page.locator('#ps-thumbs button').first().click();
});

step('try it: score, verdict, breakdown and the residual heatmap appear', async () => {
  await page.locator('#nav').getByRole('link', { name: 'Try it', exact: true }).click();
  await page.locator('#try-set option', { hasText: SET }).waitFor({ state: 'attached' });
  await page.locator('#view-try').getByLabel('Prompt set').selectOption({ label: (await page.locator('#try-set option', { hasText: SET }).textContent()) });
  await page.locator('#view-try').getByLabel('Query image').setInputFiles(ANOMALY);
  await page.getByRole('button', { name: 'Score', exact: true }).click();
  await page.locator('#try-result').waitFor({ state: 'visible' });
  const score = Number(await visibleText('#try-score'));
  assert.ok(score >= 0 && score <= 1, `score ${score}`);
  assert.match(await visibleText('#try-verdict'), /ANOMALOUS|normal/);
  for (const id of ['#try-sh', '#try-sp', '#try-si', '#try-sa']) assert.match(await visibleText(id), /^\d\.\d{4}$/);
  assert.match(await visibleText('#try-map-caption'), /15×15 residual map/);
  // the canvas holds the image plus the coloured map: many distinct colours, not a blank
  const colours = await page.evaluate(() => {
    const c = document.getElementById('try-canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const set = new Set();
    for (let i = 0; i < d.length; i += 4 * 97) set.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
    return set.size;
  });
  assert.ok(colours > 50, `heatmap drawn (${colours} colours sampled)`);
  await shot('10-try-it-heatmap');

  await page.locator('#view-try').getByLabel('Query image').setInputFiles(GOOD);
  await page.getByRole('button', { name: 'Score', exact: true }).click();
  await page.waitForFunction(() => document.getElementById('try-canvas').dataset.drawn === 'true');
});

step('try it: the heatmap scale is absolute at the threshold by default and toggles to relative', async () => {
  const setId = await page.locator('#try-set').inputValue();
  const form = new FormData();
  form.append('image', new Blob([fs.readFileSync(GOOD)], { type: 'image/png' }), path.basename(GOOD));
  const res = await fetch(`${BASE}/v1/prompt-sets/${setId}/score`, { method: 'POST', headers: { 'X-API-Key': tenantKey }, body: form });
  assert.equal(res.status, 200);
  const r = await res.json();
  assert.ok(r.threshold > 0, 'the calibrated set has a threshold');
  const peak = Math.max(...r.map);
  await page.locator('#view-try').getByLabel('Map opacity').fill('1');

  assert.equal(await page.locator('#try-scale').inputValue(), 'absolute');
  const canvas = page.locator('#try-canvas');
  assert.equal(await canvas.getAttribute('data-scale'), 'absolute');
  assert.ok(Math.abs(Number(await canvas.getAttribute('data-scale-hi')) - 2 * r.threshold) < 1e-5);
  assert.equal(await visibleText('#try-legend-max'), (2 * r.threshold).toFixed(3));
  assert.match(await visibleText('#try-legend-note'), /threshold/);
  const absolute = await hottest(page);
  assert.ok(absolute <= Math.min(1, peak / (2 * r.threshold)) + 0.06, `absolute: hottest ${absolute}, peak/2t ${peak / (2 * r.threshold)}`);

  await page.locator('#view-try').getByLabel('Colour scale').selectOption('relative');
  assert.equal(await canvas.getAttribute('data-scale'), 'relative');
  assert.ok(Math.abs(Number(await canvas.getAttribute('data-scale-hi')) - peak) < 1e-5);
  assert.equal(await visibleText('#try-legend-max'), peak.toFixed(3));
  const relative = await hottest(page);
  assert.ok(relative >= 0.8, `relative: the map's own maximum is the hottest colour (${relative})`);
  await shot('10b-try-it-relative-scale');
  await page.locator('#view-try').getByLabel('Map opacity').fill('0.55');
});

step('try it: a bad image shows a clear error', async () => {
  await page.locator('#view-try').getByLabel('Query image').setInputFiles({ name: 'not-an-image.png', mimeType: 'image/png', buffer: Buffer.from('GIF89a definitely not decodable') });
  await page.getByRole('button', { name: 'Score', exact: true }).click();
  const msg = await visibleText('#try-error');
  assert.match(msg, /Scoring “not-an-image.png” failed/);
  assert.match(msg, /HTTP 400/);
  assert.ok(await page.locator('#try-result').isHidden());
  await shot('11-try-it-bad-image');
});

step('live view shows metrics or says they are unavailable', async () => {
  await page.locator('#nav').getByRole('link', { name: 'Live', exact: true }).click();
  await page.waitForFunction(() => /Updated|not available/.test(document.getElementById('live-status').textContent));
  // second poll: rates need two scrapes
  await page.waitForTimeout(2500);
  const status = await visibleText('#live-status');
  const metrics = await (await fetch(`${BASE}/v1/metrics`, { headers: { 'X-API-Key': ADMIN } })).text().catch(() => '');
  if (/^inctrl_/m.test(metrics)) {
    assert.match(status, /Updated/);
    assert.match(await visibleText('#live-queue'), /Queue depth/);
    // the charts have axes: y from 0 in the series' unit, x as time up to "now" (a line needs three polls)
    await page.locator('#live-chart-throughput svg').waitFor();
    for (const [id, unit] of [['throughput', 'req/s'], ['queue', 'jobs'], ['p95', 's']]) {
      const svg = page.locator(`#live-chart-${id} svg`);
      assert.equal(await svg.locator('line.axis').count(), 2, `${id}: two axes`);
      const y = await svg.locator('text.y-tick').allTextContents();
      assert.equal(y[0], '0', `${id}: y starts at 0 (${y})`);
      assert.ok(Number(y[2]) > 0 && Number(y[1]) === Number(y[2]) / 2, `${id}: round y ticks ${y}`);
      assert.deepEqual(await svg.locator('text.x-tick').allTextContents(), ['−118 s', '−59 s', 'now'], `${id}: time axis`);
      assert.ok((await svg.locator('text.axis-label').allTextContents()).includes(unit), `${id}: unit ${unit}`);
      // the newest poll sits at "now"
      const lastX = await svg.locator('polyline').evaluate((p) => Number(p.getAttribute('points').trim().split(' ').pop().split(',')[0]));
      const nowX = Number(await svg.locator('text.x-tick').last().getAttribute('x'));
      assert.ok(Math.abs(lastX - nowX) < 0.5, `${id}: newest point at x=${lastX}, now at ${nowX}`);
    }
  } else {
    assert.match(status, /Metrics not available/);
  }
  await shot('12-live');
});

step('keyboard: the drop zone opens the file picker with Enter and Space', async () => {
  await page.locator('#nav').getByRole('link', { name: 'Prompt sets', exact: true }).click();
  // count the picker openings (a headless file chooser is not reliably observable from a key press)
  await page.evaluate(() => {
    window.pickerOpened = 0;
    document.getElementById('ps-files').addEventListener('click', (e) => { window.pickerOpened++; e.preventDefault(); });
  });
  // the view shows after the route changes: focusing a still-hidden element silently does nothing
  await page.locator('#ps-drop').waitFor({ state: 'visible' });
  await page.locator('#ps-drop').focus();
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'ps-drop');
  await page.keyboard.press('Enter');
  await page.keyboard.press(' ');
  assert.equal(await page.evaluate(() => window.pickerOpened), 2);
  assert.equal(await page.locator('#ps-drop').getAttribute('role'), 'button');
});

step('the set page shows the drift watch of its recent traffic', async () => {
  await page.locator(`#ps-rows tr[data-set="${SET}"]`).getByRole('button', { name: `Open ${SET}` }).click();
  // the try-it scores above went through the Scorer: a few queries, fewer than the watch needs to judge
  await page.waitForFunction(() => /Recent queries\s*\d+ of the last 200/.test(document.getElementById('ps-drift').textContent));
  assert.equal(await visibleText('#ps-drift-state'), 'too few queries');
  assert.match(await visibleText('#ps-drift-reason'), /at least 20 are needed/);
  const setId = await page.evaluate(() => /Id\s*([0-9a-f-]{36})/.exec(document.getElementById('ps-meta').textContent)[1]);
  const form = new FormData();
  form.append('image', new Blob([fs.readFileSync(GOOD)], { type: 'image/png' }), path.basename(GOOD));
  const res = await fetch(`${BASE}/v1/prompt-sets/${setId}/score`, { method: 'POST', headers: { 'X-API-Key': tenantKey }, body: form });
  assert.equal(res.status, 200);
  const before = Number(/Recent queries\s*(\d+)/.exec(await visibleText('#ps-drift'))[1]);
  await page.getByRole('button', { name: 'Refresh drift' }).click();
  await page.waitForFunction((n) => Number(/Recent queries\s*(\d+)/.exec(document.getElementById('ps-drift').textContent)[1]) === n + 1, before);
  await shot('13-drift-panel');
});

step('the tenant deletes the prompt set; the admin deletes the tenant', async () => {
  await page.locator(`#ps-rows tr[data-set="${SET}"]`).getByRole('button', { name: `Open ${SET}` }).click();
  await page.locator('#ps-detail').getByRole('button', { name: 'Delete', exact: true }).click();
  await page.locator('#confirm-ok').click();
  await page.waitForFunction((n) => !document.querySelector(`#ps-rows tr[data-set="${n}"]`), SET);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#view-signin').getByLabel('API key').fill(ADMIN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator(`#tenant-rows tr[data-tenant="${TENANT}"]`).waitFor();
  await page.getByRole('button', { name: `Delete tenant ${TENANT}` }).click();
  await page.locator('#confirm-ok').click();
  await page.waitForFunction((n) => !document.querySelector(`#tenant-rows tr[data-tenant="${n}"]`), TENANT);
  const refused = await fetch(`${BASE}/v1/keys`, { headers: { 'X-API-Key': tenantKey } });
  assert.equal(refused.status, 401, 'the deleted tenant\'s key is refused');
  await shot('13-tenant-deleted');
});

step('no CSP violations, no page errors, no cookies', async () => {
  assert.deepEqual(problems, []);
  assert.deepEqual(await context.cookies(), []);
  const stored = await page.evaluate(() => Object.keys(localStorage));
  assert.deepEqual(stored, [], 'nothing in localStorage (the key lives in sessionStorage only)');
});
