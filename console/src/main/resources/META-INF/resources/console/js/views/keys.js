// API keys: a reusable panel (the tenant's own keys, or a tenant's keys for the admin) and the shown-once secret box.

import { api } from '../api.js';
import { $, announce, busy, clear, confirmDialog, fmtDate, h, showError } from '../dom.js';

let ctx;

export function init(c) {
  ctx = c;
}

export function show() {
  keysPanel($('own-keys'), { base: '/v1/keys', title: 'Your keys', signIn: ctx.signIn, ownKeys: true });
}

/**
 * Shows a new secret once, with copy and (optionally) "sign in with it". The secret is not kept anywhere else by
 * the console: closing the box forgets it.
 */
let boxes = 0;

export function secretBox(container, { heading, key, signIn }) {
  const id = `secret-${++boxes}`; // several boxes can be on screen (tenant created + its keys panel)
  const input = h('input', { id, class: 'secret', readonly: true, value: key, 'aria-describedby': `${id}-help`, spellcheck: 'false' });
  const copy = h('button', {
    type: 'button', class: 'btn', onclick: async () => {
      input.select();
      try {
        await navigator.clipboard.writeText(key);
        announce('Key copied to the clipboard');
        copy.textContent = 'Copied';
      } catch {
        announce('Copy failed: select the key and copy it by hand');
      }
    },
  }, 'Copy');
  const box = h('div', { class: 'card secret-box', role: 'region', 'aria-labelledby': `${id}-h` },
    h('h2', { id: `${id}-h`, tabindex: '-1' }, heading),
    h('label', { for: id }, 'API key'),
    h('div', { class: 'row' }, input, copy),
    h('p', { id: `${id}-help`, class: 'help strong' },
      'Shown only now: the server stores a hash of it. Copy it to a safe place before leaving this page.'),
    h('div', { class: 'actions' },
      signIn && h('button', { type: 'button', class: 'btn btn-primary', onclick: () => signIn(key) }, 'Sign in with this key'),
      h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => clear(container) }, 'Done, hide it')));
  clear(container).append(box);
  box.querySelector('h2').focus();
}

/** Lists keys under `base` (…/keys) with rotate/revoke, and issues new ones. */
export async function keysPanel(container, { base, title, signIn, ownKeys }) {
  const secret = h('div');
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const rows = h('tbody');
  const headingId = `keys-h-${base.replace(/\W/g, '-')}`;
  const issue = h('button', {
    type: 'button', class: 'btn', onclick: (e) => busy(e.currentTarget, async () => {
      try {
        const k = await api(base, { method: 'POST' });
        secretBox(secret, { heading: `New key ${k.prefix}…`, key: k.key, signIn });
        await refresh();
      } catch (x) { showError(err, x); }
    }),
  }, 'Issue a new key');
  clear(container).append(h('div', { class: 'card' },
    h('h2', { id: headingId }, title),
    h('table', { class: 'table', 'aria-labelledby': headingId },
      h('thead', {}, h('tr', {}, ...['Key', 'Created', 'Status'].map((t) => h('th', { scope: 'col' }, t)),
        h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
      rows),
    err, h('div', { class: 'actions' }, issue)), secret);

  async function refresh() {
    let list;
    try {
      list = await api(base);
    } catch (x) { showError(err, x); return; }
    clear(rows);
    if (!list.length) rows.append(h('tr', {}, h('td', { colspan: 4 }, 'No keys.')));
    for (const k of list) {
      const actions = h('td', { class: 'row-actions' });
      if (k.active) {
        actions.append(
          h('button', {
            type: 'button', class: 'btn btn-small', 'aria-label': `Rotate key ${k.prefix}`,
            onclick: (e) => busy(e.currentTarget, async () => {
              try {
                const n = await api(`${base}/${encodeURIComponent(k.id)}/rotate`, { method: 'POST' });
                secretBox(secret, { heading: `Key ${k.prefix}… rotated: its replacement ${n.prefix}…`, key: n.key, signIn });
                await refresh();
              } catch (x) { showError(err, x); }
            }),
          }, 'Rotate'),
          h('button', {
            type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Revoke key ${k.prefix}`,
            onclick: async () => {
              const own = ownKeys ? ' If this is the key you signed in with, you will be signed out.' : '';
              if (!await confirmDialog(`Revoke key ${k.prefix}…? Clients using it stop working within seconds.${own}`, 'Revoke')) return;
              try {
                await api(`${base}/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
                announce(`Key ${k.prefix} revoked`);
                await refresh();
              } catch (x) { showError(err, x); }
            },
          }, 'Revoke'));
      }
      rows.append(h('tr', {},
        h('td', {}, h('code', {}, `${k.prefix}…`)),
        h('td', {}, fmtDate(k.createdAt)),
        h('td', {}, k.active ? h('span', { class: 'badge ok' }, 'active') : h('span', { class: 'badge muted' }, `revoked ${fmtDate(k.revokedAt)}`)),
        actions));
    }
  }
  await refresh();
}
