// Entry point: sign-in, the model banner, hash routing between the views.

import { api, ApiError, describeError, session } from './api.js';
import { $, announce, clear, h, hideError, s, showError } from './dom.js';
import * as tenants from './views/tenants.js';
import * as keys from './views/keys.js';
import * as templates from './views/templates.js';
import * as promptSets from './views/promptsets.js';
import * as tryIt from './views/tryit.js';
import * as live from './views/live.js';
import * as audit from './views/audit.js';
import * as models from './views/models.js';

const VIEWS = {
  tenants: { view: tenants, needs: 'admin' },
  keys: { view: keys, needs: 'tenant' },
  templates: { view: templates, needs: 'tenant' },
  'prompt-sets': { view: promptSets, needs: 'tenant' },
  try: { view: tryIt, needs: null }, // the admin sees how to get a tenant key instead of the form
  models: { view: models, needs: null }, // a tenant reads; the admin also loads, unloads and rolls out
  audit: { view: audit, needs: null },
  live: { view: live, needs: null },
};
let current = null;

/** Tells which credential a key is: GET /v1/model accepts any valid key; tenant listing only the admin's. */
async function probe(key) {
  const model = await api('/v1/model', { key });
  let admin = true;
  try {
    await api('/v1/admin/tenants', { key });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 403) throw e;
    admin = false;
  }
  let tenant = true;
  if (admin) {
    // security off: the same caller is admin and tenant 'default'
    try { await api('/v1/keys', { key }); } catch { tenant = false; }
  }
  return { model, role: admin && tenant ? 'local' : admin ? 'admin' : 'tenant' };
}

export async function signIn(key) {
  const { model, role } = await probe(key);
  session.set(key, role);
  renderBanner(model);
  enter();
  announce(`Signed in as ${roleName(role)}`);
}

function roleName(role) {
  return { admin: 'administrator', tenant: 'tenant', local: 'local (security off)' }[role] || role;
}

function renderBanner(m) {
  session.model = m;
  const b = $('model-banner');
  b.textContent = '';
  const id = document.createElement('strong');
  id.id = 'bundle-id';
  id.textContent = m.bundleId;
  // the precision decides how far scores may sit from fp32 (the bundle manifest records by how much)
  const precision = h('span', { id: 'model-precision', title: 'precision of the vision (and text) tower' }, m.precision || 'fp32');
  b.append('Bundle ', id, ` · ${m.mode || `${m.kind} · ${m.arch}`} · `, precision, ` · ${(m.devices || []).join(', ') || 'no device'}`);
  const warn = clear($('random-warning'));
  const notes = [];
  if (m.randomWeights) {
    notes.push(h('p', { id: 'note-random' }, icon('warning'), `RANDOM WEIGHTS — bundle ${m.bundleId} is not a trained model (${m.weightsDescription}). Scores, maps and thresholds mean nothing until a bundle exported from a real checkpoint is loaded.`));
  }
  if (m.kind === 'residual-heads') {
    // trained heads over a vision-only backbone: s_h, s_i and s_p, but no text tower
    notes.push(h('p', { id: 'note-not-inctrl' }, icon('info'), 'NOT the CLIP InCTRL checkpoint — InCTRL-style residual heads on vision features; there is no text prior (s_a), so text-prompt templates do not apply.'));
  } else if (m.inctrl === false) {
    // vision-only bundles: the score is s_p alone, templates do nothing (what it computes is in the banner above)
    notes.push(h('p', { id: 'note-not-inctrl' }, icon('info'), 'NOT InCTRL — scores are the patch residual s_p only; s_h, s_i, s_a and text-prompt templates do not apply.'));
  }
  warn.hidden = notes.length === 0;
  warn.append(...notes);
  warn.classList.toggle('info', !m.randomWeights);
  document.body.classList.toggle('random-weights', !!m.randomWeights);
}

/** Inline SVG icons: they render without depending on which fonts (and emoji glyphs) the machine has. */
function icon(kind) {
  const svg = s('svg', { class: 'icon', viewBox: '0 0 20 20', width: 18, height: 18, 'aria-hidden': 'true', focusable: 'false' });
  if (kind === 'warning') {
    svg.append(s('path', { d: 'M10 2 L19 18 H1 Z', fill: '#fde68a', stroke: '#7a1109', 'stroke-width': 1.2 }),
      s('rect', { x: 9, y: 7, width: 2, height: 6, fill: '#7a1109' }), s('rect', { x: 9, y: 14.5, width: 2, height: 2, fill: '#7a1109' }));
  } else {
    svg.append(s('circle', { cx: 10, cy: 10, r: 8.5, fill: 'none', stroke: '#fff', 'stroke-width': 1.8 }),
      s('rect', { x: 9, y: 8.5, width: 2, height: 6.5, fill: '#fff' }), s('rect', { x: 9, y: 5, width: 2, height: 2, fill: '#fff' }));
  }
  return svg;
}

function enter() {
  $('session').hidden = false;
  $('session-role').textContent = roleName(session.role);
  $('nav').hidden = false;
  for (const li of document.querySelectorAll('#nav li[data-needs]')) {
    li.hidden = !session.can(li.dataset.needs);
  }
  const want = location.hash.slice(2);
  if (VIEWS[want] && allowed(want)) route();
  else location.hash = session.can('admin') && session.role === 'admin' ? '#/tenants' : '#/prompt-sets';
}

function allowed(name) {
  const n = VIEWS[name].needs;
  return !n || session.can(n);
}

export function signOut(message) {
  session.clear();
  current?.view.hide?.();
  current = null;
  $('session').hidden = true;
  $('nav').hidden = true;
  $('random-warning').hidden = true;
  $('model-banner').textContent = 'Model: sign in to see the loaded bundle';
  showOnly('view-signin');
  hideError($('signin-error'));
  if (message) showError($('signin-error'), message);
  history.replaceState(null, '', location.pathname);
  $('signin-key').value = '';
  $('signin-key').focus();
}

function showOnly(id) {
  for (const v of document.querySelectorAll('main > .view')) v.hidden = v.id !== id;
}

function route() {
  if (!session.key) return;
  const name = location.hash.startsWith('#/') ? location.hash.slice(2).split('?')[0] : '';
  if (!VIEWS[name] || !allowed(name)) return;
  if (current && current !== VIEWS[name]) current.view.hide?.();
  current = VIEWS[name];
  showOnly(`view-${name}`);
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${document.querySelector(`#view-${name} h1`).textContent} · InCTRL serve console`;
  document.querySelector(`#view-${name} h1`).focus();
  current.view.show();
}

/** A 401 after sign-in means the key was revoked or rotated away: back to the sign-in form. */
window.addEventListener('unhandledrejection', (e) => {
  if (e.reason instanceof ApiError && e.reason.status === 401) signOut(describeError(e.reason));
});
document.addEventListener('inctrl:unauthorized', (e) => signOut(e.detail));

function init() {
  for (const { view } of Object.values(VIEWS)) view.init?.({ signIn, signOut });
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('signin-key');
    const key = input.value.trim();
    hideError($('signin-error'));
    if (!key) {
      input.setAttribute('aria-invalid', 'true');
      showError($('signin-error'), 'Enter an API key.');
      input.focus();
      return;
    }
    input.removeAttribute('aria-invalid');
    try {
      await signIn(key);
    } catch (err) {
      input.setAttribute('aria-invalid', 'true');
      const p = err instanceof ApiError ? err.problem : {};
      const msg = err instanceof ApiError && err.status === 401
        ? `Sign-in failed: the key was not accepted — ${err.message} (HTTP 401${p.reason ? `, ${p.reason}` : ''}).`
        : `Sign-in failed. ${describeError(err)}`;
      showError($('signin-error'), msg);
      input.select();
    }
  });
  $('sign-out').addEventListener('click', () => signOut());
  window.addEventListener('hashchange', route);
  if (session.key) {
    probe(session.key).then(({ model, role }) => {
      session.set(session.key, role);
      renderBanner(model);
      enter();
    }).catch((err) => signOut(describeError(err)));
  } else {
    showOnly('view-signin');
  }
}

init();
