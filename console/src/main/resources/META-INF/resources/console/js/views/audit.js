// Audit log: GET /v1/audit, newest first, filtered by tenant (admin only) and action, paged with "Older entries".
// Entries carry ids only: names are looked up from what the signed-in key may list (the admin: tenants; a tenant:
// its templates, prompt sets and keys) and shown next to the ids; objects deleted since keep their id alone.

import { api, session } from '../api.js';
import { displayAddress } from '../address.js';
import { $, busy, clear, h, hideError, showError } from '../dom.js';

let next = '';
let names = new Map(); // id -> name, refreshed on every fresh load

export function init() {
  $('audit-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy(e.submitter || $('audit-form').querySelector('button[type=submit]'), () => load(true));
  });
  $('audit-more').addEventListener('click', (e) => busy(e.currentTarget, () => load(false)));
}

export function show() {
  // a tenant key reads its own tenant only: no tenant filter to offer
  $('audit-tenant-field').hidden = !session.can('admin');
  load(true);
}

/** Leaving the view (or signing out) forgets the filters and rows: the next caller may see other tenants. */
export function hide() {
  $('audit-form').reset();
  clear($('audit-rows'));
  next = '';
  $('audit-more').hidden = true;
  names = new Map();
}

/** Best effort: a list the key may not read (or a failed call) just leaves those ids without names. */
async function lookupNames() {
  const found = new Map();
  const get = async (path) => { try { return await api(path); } catch { return null; } };
  if (session.can('admin')) {
    for (const t of await get('/v1/admin/tenants') || []) found.set(t.id, t.name);
  }
  if (session.can('tenant')) {
    for (const t of await get('/v1/templates') || []) found.set(t.id, t.name);
    for (const k of await get('/v1/keys') || []) found.set(k.id, `${k.prefix}…`);
    let token = '';
    for (let pages = 0; pages < 10; pages++) { // up to 1000 prompt sets
      const page = await get(`/v1/prompt-sets?pageSize=100${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`);
      for (const p of page?.items || []) found.set(p.id, p.name);
      token = page?.nextPageToken;
      if (!token) break;
    }
  }
  return found;
}

/** Nodes for "name id" (the id in code) when the name is known, else the id alone; '—' for none. */
function named(id, fallbackName) {
  if (!id) return ['—'];
  const name = names.get(id) ?? fallbackName;
  return name ? [h('span', { class: 'audit-name' }, name), ' ', h('code', {}, id)] : [h('code', {}, id)];
}

function tenantCell(id) {
  if (!id) return ['—'];
  // a tenant reads only its own entries; it cannot list tenants, so its own is named as such
  return named(id, session.can('admin') ? null : 'this tenant');
}

function query(fresh) {
  const p = new URLSearchParams({ pageSize: '50' });
  const tenant = $('audit-tenant-field').hidden ? '' : $('audit-tenant').value.trim();
  if (tenant) p.set('tenantId', tenant);
  if ($('audit-action').value) p.set('action', $('audit-action').value);
  if (!fresh && next) p.set('pageToken', next);
  return `/v1/audit?${p}`;
}

function actor(a) {
  if (a.kind !== 'key') return a.kind;
  // a tenant sees its own keys only: naming its own tenant again adds nothing
  return session.can('admin')
    ? ['key ', ...named(a.keyId), ' (tenant ', ...named(a.tenantId), ')']
    : ['key ', ...named(a.keyId)];
}

async function load(fresh) {
  hideError($('audit-error'));
  let page;
  try {
    [page, names] = await Promise.all([api(query(fresh)), fresh ? lookupNames() : names]);
  } catch (x) {
    showError($('audit-error'), x);
    return;
  }
  const rows = $('audit-rows');
  if (fresh) clear(rows);
  if (fresh && !page.items.length) rows.append(h('tr', {}, h('td', { colspan: 8 }, 'No entries.')));
  for (const e of page.items) {
    rows.append(h('tr', { 'data-action': e.action },
      h('td', {}, new Date(e.time).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'),
      h('td', {}, actor(e.actor)),
      h('td', {}, tenantCell(e.tenantId)),
      h('td', {}, e.action),
      h('td', {}, e.action.startsWith('tenant.') ? tenantCell(e.targetId) : named(e.targetId)),
      h('td', {}, e.outcome === 'ok' ? h('span', { class: 'badge ok' }, 'ok') : h('span', { class: 'badge muted' }, e.outcome)),
      h('td', {}, displayAddress(e.remoteAddress) || '—'),
      h('td', {}, e.requestId || '—')));
  }
  next = page.nextPageToken;
  $('audit-more').hidden = !next;
}
