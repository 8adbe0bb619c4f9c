// Tenants (admin credential): list, create (first key shown once), delete, and each tenant's keys.

import { api } from '../api.js';
import { $, announce, busy, clear, confirmDialog, fieldError, fmtDate, h, hideError, showError } from '../dom.js';
import { keysPanel, secretBox } from './keys.js';

let ctx;

export function init(c) {
  ctx = c;
  $('tenant-form').addEventListener('submit', create);
  $('tenant-name').addEventListener('input', () => {
    if ($('tenant-name').value.trim()) fieldError($('tenant-name'), $('tenant-name-error'), '');
  });
}

export function show() {
  refresh();
}

function num(id) {
  const v = $(id).value.trim();
  return v === '' ? null : Number(v);
}

async function create(e) {
  e.preventDefault();
  const name = $('tenant-name').value.trim();
  hideError($('tenant-form-error'));
  if (!fieldError($('tenant-name'), $('tenant-name-error'), name ? '' : 'A tenant needs a name.')) {
    $('tenant-name').focus();
    return;
  }
  const body = { name };
  const q = [num('q-sets'), num('q-shots'), num('q-rps')];
  if (q.some((v) => v !== null)) {
    if (q.some((v) => v === null)) {
      showError($('tenant-form-error'), 'Give all three quotas, or none for the server defaults.');
      return;
    }
    body.quotas = { maxPromptSets: q[0], maxShotsPerSet: q[1], requestsPerSecond: q[2] };
  }
  await busy(e.submitter || $('tenant-form').querySelector('button[type=submit]'), async () => {
    try {
      const created = await api('/v1/admin/tenants', { method: 'POST', json: body });
      $('tenant-form').reset();
      secretBox($('tenant-secret'), {
        heading: `Tenant “${created.tenant.name}” created: its first API key`,
        key: created.apiKey.key, signIn: ctx.signIn,
      });
      announce(`Tenant ${created.tenant.name} created`);
      await refresh();
    } catch (x) {
      showError($('tenant-form-error'), x);
    }
  });
}

async function refresh() {
  const rows = $('tenant-rows');
  hideError($('tenant-list-error'));
  let list;
  try {
    list = await api('/v1/admin/tenants');
  } catch (x) {
    showError($('tenant-list-error'), x);
    return;
  }
  clear(rows);
  if (!list.length) rows.append(h('tr', {}, h('td', { colspan: 5 }, 'No tenants yet.')));
  for (const t of list) {
    const q = t.quotas;
    rows.append(h('tr', { dataset: { tenant: t.name } },
      h('th', { scope: 'row' }, t.name),
      h('td', {}, h('code', {}, t.id)),
      h('td', {}, `${q.maxPromptSets} sets · ${q.maxShotsPerSet} shots/set · ${q.requestsPerSecond} req/s`),
      h('td', {}, fmtDate(t.createdAt)),
      h('td', { class: 'row-actions' },
        h('button', {
          type: 'button', class: 'btn btn-small', 'aria-label': `Keys of ${t.name}`,
          onclick: () => keysPanel($('tenant-keys'), {
            base: `/v1/admin/tenants/${encodeURIComponent(t.id)}/keys`, title: `Keys of ${t.name}`, signIn: ctx.signIn,
          }).then(() => $('tenant-keys').querySelector('h2')?.scrollIntoView({ block: 'nearest' })),
        }, 'Keys'),
        h('button', {
          type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Delete tenant ${t.name}`,
          onclick: (e) => remove(e.currentTarget, t),
        }, 'Delete'))));
  }
}

async function remove(button, t) {
  if (!await confirmDialog(`Delete tenant “${t.name}” with all its keys, templates and prompt sets? This cannot be undone.`, 'Delete tenant')) return;
  await busy(button, async () => {
    try {
      await api(`/v1/admin/tenants/${encodeURIComponent(t.id)}`, { method: 'DELETE' });
      clear($('tenant-keys'));
      announce(`Tenant ${t.name} deleted`);
      await refresh();
    } catch (x) {
      showError($('tenant-list-error'), x);
    }
  });
}
