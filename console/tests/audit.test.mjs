// End-to-end: the Audit view in headless Debian chromium, against the real server (started by ../run-tests.sh,
// which passes CONSOLE_URL and CONSOLE_ADMIN_KEY). The admin creates a tenant in the console and finds the entry;
// the tenant sees its own entries only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.CONSOLE_URL;
const ADMIN = process.env.CONSOLE_ADMIN_KEY;
const ART = path.resolve(here, '../test-artifacts');
const TENANT = `audited-${Date.now().toString(36)}`;

let page;
let closeBrowser;
const problems = [];

/** Visible rows of the audit table as {action, actor, tenant, address, outcome}. */
async function rows() {
  await page.locator('#audit-rows tr').first().waitFor();
  return page.locator('#audit-rows tr').evaluateAll((trs) => trs.map((tr) => {
    const c = [...tr.cells].map((td) => td.textContent.trim());
    return { actor: c[1], tenant: c[2], action: c[3], target: c[4], outcome: c[5], address: c[6] };
  }));
}

before(async () => {
  assert.ok(BASE, 'CONSOLE_URL is set by run-tests.sh');
  fs.mkdirSync(ART, { recursive: true });
  ({ page, close: closeBrowser } = await launchBrowser('audit', problems));
});

after(async () => {
  await closeBrowser?.();
});

test('the admin creates a tenant and sees the entry; the tenant sees only its own', async () => {
  try {
    await page.goto(`${BASE}/console/`);
    await page.locator('#view-signin').getByLabel('API key').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#view-tenants').waitFor({ state: 'visible' });
    await page.locator('#tenant-name').fill(TENANT);
    await page.getByRole('button', { name: 'Create tenant' }).click();
    const tenantKey = await page.locator('#tenant-secret input.secret').inputValue();
    const tenantId = await page.locator(`#tenant-rows tr[data-tenant="${TENANT}"] td:nth-child(2)`).textContent();

    await page.getByRole('link', { name: 'Audit' }).click();
    await page.locator('#view-audit').waitFor({ state: 'visible' });
    await page.getByLabel('Tenant id', { exact: true }).fill(tenantId.trim());
    await page.getByLabel('Action', { exact: true }).selectOption('tenant.create');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.waitForFunction((id) => document.querySelector('#audit-rows tr td:nth-child(3) code')?.textContent === id, tenantId.trim());
    const created = await rows();
    assert.equal(created.length, 1);
    // names next to ids: the tenant's name (from the admin's tenant list) before its id, in both columns
    const named = `${TENANT} ${tenantId.trim()}`;
    assert.deepEqual(created[0], {
      actor: 'admin', tenant: named, action: 'tenant.create', target: named, outcome: 'ok', address: '127.0.0.1',
    });
    assert.equal(await page.locator('#audit-rows tr td:nth-child(3) .audit-name').textContent(), TENANT);
    await page.screenshot({ path: path.join(ART, 'audit-admin.png'), fullPage: true });

    // the tenant issues a key over REST, then reads the log in the console: its entries only, no tenant filter
    const issued = await fetch(`${BASE}/v1/keys`, { method: 'POST', headers: { 'X-API-Key': tenantKey } });
    assert.equal(issued.status, 201);
    const newKey = await issued.json();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#view-signin').getByLabel('API key').fill(tenantKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#session-role').getByText('tenant').waitFor();
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.locator('#view-audit').waitFor({ state: 'visible' });
    assert.ok(await page.locator('#audit-tenant-field').isHidden(), 'a tenant has no tenant filter');
    await page.waitForFunction(() => document.querySelectorAll('#audit-rows tr').length === 2);
    const own = await rows();
    assert.deepEqual(own.map((r) => r.action), ['key.create', 'tenant.create']);
    assert.ok(own.every((r) => r.tenant === `this tenant ${tenantId.trim()}`), 'only the own tenant, named as such');
    // keys are named by their prefix (from the tenant's key list) next to their ids
    assert.match(own[0].actor, /^key \S+… \S+$/);
    assert.equal(own[0].target, `${newKey.prefix}… ${newKey.id}`);
    assert.equal(own[1].target, `this tenant ${tenantId.trim()}`);
    assert.equal(own[0].address, '127.0.0.1');
    assert.equal(own[1].address, '—', 'the admin\'s address is not shown to a tenant');
    await page.screenshot({ path: path.join(ART, 'audit-tenant.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } catch (e) {
    await page?.screenshot({ path: path.join(ART, 'FAILED-audit.png'), fullPage: true }).catch(() => {});
    throw e;
  }
});
