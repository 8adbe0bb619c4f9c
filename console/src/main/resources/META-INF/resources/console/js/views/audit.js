// Audit log: GET /v1/audit, newest first, filtered by tenant (admin only) and action, paged with "Older entries".

import { api, session } from '../api.js';
import { $, busy, clear, h, hideError, showError } from '../dom.js';

let next = '';

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
  if (a.kind === 'key') return `key ${a.keyId} (tenant ${a.tenantId})`;
  return a.kind;
}

async function load(fresh) {
  hideError($('audit-error'));
  let page;
  try {
    page = await api(query(fresh));
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
      h('td', {}, h('code', {}, e.tenantId || '—')),
      h('td', {}, e.action),
      h('td', {}, h('code', {}, e.targetId || '—')),
      h('td', {}, e.outcome === 'ok' ? h('span', { class: 'badge ok' }, 'ok') : h('span', { class: 'badge muted' }, e.outcome)),
      h('td', {}, e.remoteAddress || '—'),
      h('td', {}, e.requestId || '—')));
  }
  next = page.nextPageToken;
  $('audit-more').hidden = !next;
}
