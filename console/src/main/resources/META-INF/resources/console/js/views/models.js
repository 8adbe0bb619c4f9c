// Models: every model with its versions (state, bundle, serving / canary / shadow, memory) from GET /v1/models, and
// for the admin the background encoding progress per loaded version (polled), load / unload / reload, promote, roll
// back and the canary / shadow settings. A tenant sees the same table without the buttons (reads need any key).

import { api, describeError, session } from '../api.js';
import { $, announce, busy, clear, confirmDialog, fmtDate, h, hideError, showError } from '../dom.js';
import { fmtBytes } from '../uploads.js';

const PERIOD_MS = 2000;
let timer = null;
let shown = false;
/** Per model: its roll-out form, kept across polls so that what the admin types is not overwritten. */
const forms = new Map();

export function init() {
  $('models-refresh').addEventListener('click', () => poll());
  document.addEventListener('visibilitychange', () => { if (!document.hidden && shown) poll(); });
}

export function show() {
  shown = true;
  forms.clear();
  clear($('models-list'));
  poll();
}

export function hide() {
  shown = false;
  clearTimeout(timer);
  timer = null;
}

const admin = () => session.can('admin');

async function poll() {
  clearTimeout(timer);
  if (!shown) return;
  timer = setTimeout(poll, PERIOD_MS);
  if (document.hidden) return;
  let list;
  try {
    list = await api('/v1/models');
  } catch (x) {
    showError($('models-error'), x);
    return;
  }
  hideError($('models-error'));
  const progress = admin() ? await encodings(list) : new Map();
  if (!shown) return;
  render(list, progress);
  $('models-status').textContent = `Updated ${new Date().toLocaleTimeString()} · source ${list.source} · `
    + `${fmtBytes(list.memoryBytes)} estimated in use${list.maxMemoryBytes ? ` of ${fmtBytes(list.maxMemoryBytes)}` : ''}`;
}

/** Encoding progress of every READY version, by "model:version"; a failed read shows as unknown. */
async function encodings(list) {
  const out = new Map();
  const reads = [];
  for (const m of list.models) {
    for (const v of m.versions.filter((x) => x.state === 'READY')) {
      const path = `/v1/models/${encodeURIComponent(m.name)}/versions/${v.version}/encodings`;
      reads.push(api(path).then((p) => out.set(`${m.name}:${v.version}`, p), () => {}));
    }
  }
  await Promise.all(reads);
  return out;
}

function render(list, progress) {
  const root = $('models-list');
  const seen = new Set();
  for (const m of list.models) {
    seen.add(m.name);
    let card = root.querySelector(`section[data-model="${CSS.escape(m.name)}"]`);
    if (!card) {
      card = h('section', { class: 'card model-card', dataset: { model: m.name }, 'aria-label': `Model ${m.name}` });
      root.append(card);
    }
    renderModel(card, m, progress);
  }
  for (const card of [...root.querySelectorAll('section[data-model]')]) {
    if (!seen.has(card.dataset.model)) { card.remove(); forms.delete(card.dataset.model); }
  }
  if (!list.models.length) clear(root).append(h('p', { class: 'help' }, 'No models: the repository is empty.'));
}

function renderModel(card, m, progress) {
  const head = card.querySelector('.model-head') || h('div', { class: 'model-head' });
  clear(head).append(
    h('h2', {}, m.name, m.isDefault ? h('span', { class: 'badge' }, 'default') : null),
    h('p', { class: 'help' }, `Serving version ${m.servingVersion || 'none'}`
      + ` · version policy ${m.versionPolicy || 'invalid config.json'} · ${fmtBytes(m.memoryBytes)} estimated`
      + (m.rollout.previousVersion ? ` · roll-back target ${m.rollout.previousVersion}` : '')));
  const table = h('table', { class: 'table model-versions' },
    h('thead', {}, h('tr', {}, ...['Version', 'State', 'Bundle', 'Role', 'Memory', 'Prompt sets encoded', '']
      .map((t) => h('th', { scope: 'col' }, t || h('span', { class: 'sr-only' }, 'Actions'))))),
    h('tbody', {}, ...m.versions.map((v) => versionRow(m, v, progress.get(`${m.name}:${v.version}`)))));
  const old = card.querySelector('table.model-versions');
  if (!card.contains(head)) card.append(head);
  if (old) old.replaceWith(table); else card.append(table);
  if (admin()) {
    let actions = card.querySelector('.model-actions');
    if (!actions) {
      actions = h('div', { class: 'actions model-actions' });
      card.append(actions);
    }
    clear(actions).append(
      h('button', { type: 'button', class: 'btn', onclick: (e) => act(e.currentTarget, m.name, `/v1/models/${encodeURIComponent(m.name)}/reload`, `Model ${m.name} reloaded by its version policy`) },
        'Reload from the repository'),
      h('button', { type: 'button', class: 'btn', disabled: !m.rollout.previousVersion,
        onclick: (e) => rollback(e.currentTarget, m) }, m.rollout.previousVersion ? `Roll back to version ${m.rollout.previousVersion}` : 'Roll back'));
    rolloutForm(card, m);
  }
}

function versionRow(m, v, p) {
  const roles = [];
  if (v.serving) roles.push(h('span', { class: 'badge ok' }, 'serving'));
  if (v.canary) roles.push(h('span', { class: 'badge warn' }, `canary ${m.rollout.canaryPercent}%`));
  if (v.shadow) roles.push(h('span', { class: 'badge muted' }, `shadow ${m.rollout.shadowPercent}%`));
  const state = v.state === 'READY' ? h('span', { class: 'badge ok' }, 'ready')
    : v.state === 'UNAVAILABLE' ? h('span', { class: 'badge warn', title: v.reason }, 'unavailable')
      : h('span', { class: 'badge muted' }, v.state.toLowerCase());
  const actions = [];
  if (admin()) {
    const base = `/v1/models/${encodeURIComponent(m.name)}/versions/${v.version}`;
    if (v.state === 'READY') {
      if (!v.serving) {
        actions.push(h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Promote ${m.name} version ${v.version}`,
          onclick: (e) => promote(e.currentTarget, m.name, v.version) }, 'Promote'));
      }
      actions.push(h('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Unload ${m.name} version ${v.version}`,
        onclick: (e) => unload(e.currentTarget, m.name, v) }, 'Unload'));
    } else if (v.state === 'AVAILABLE' || v.state === 'UNAVAILABLE') {
      actions.push(h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Load ${m.name} version ${v.version}`,
        onclick: (e) => act(e.currentTarget, m.name, `${base}/load`, `${m.name} version ${v.version} loaded`) }, 'Load'));
    }
  }
  return h('tr', { dataset: { version: String(v.version), state: v.state } },
    h('th', { scope: 'row' }, String(v.version)),
    h('td', {}, state, v.state === 'UNAVAILABLE' && v.reason ? h('p', { class: 'help' }, v.reason) : null,
      v.state === 'READY' ? h('p', { class: 'help' }, `since ${fmtDate(v.since)}`) : null),
    h('td', {}, v.bundleId ? h('code', {}, v.bundleId) : '—', v.randomWeights ? h('span', { class: 'badge warn' }, 'random weights') : null),
    h('td', { class: 'model-role' }, roles.length ? roles : '—'),
    h('td', {}, v.memoryBytes ? fmtBytes(v.memoryBytes) : '—'),
    h('td', { class: 'model-encodings' }, encodingCell(v, p)),
    h('td', { class: 'row-actions' }, actions));
}

function encodingCell(v, p) {
  if (v.state !== 'READY') return '—';
  if (!admin()) return h('span', { class: 'help' }, 'admin only');
  if (!p) return 'unknown';
  const label = `${p.encoded} / ${p.sets}`;
  return h('div', { class: 'encoding-progress' },
    h('progress', { max: String(Math.max(1, p.sets)), value: String(p.sets ? p.encoded : 1), 'aria-label': `Prompt sets encoded by version ${v.version}: ${label}` }),
    h('span', { class: 'help' }, p.pending ? `${label} (${p.pending} pending)` : `${label} (all)`));
}

/** The canary and shadow form of one model: built once per model, refreshed from the server unless being edited. */
function rolloutForm(card, m) {
  let f = forms.get(m.name);
  const loaded = m.versions.filter((v) => v.state === 'READY').map((v) => v.version);
  if (!f) {
    const id = (k) => `ro-${m.name.replace(/[^A-Za-z0-9_-]/g, '_')}-${k}`;
    const select = (k, label) => h('div', { class: 'field' }, h('label', { for: id(k) }, label), h('select', { id: id(k), dataset: { k } }));
    const percent = (k, label) => h('div', { class: 'field' }, h('label', { for: id(k) }, label),
      h('input', { id: id(k), type: 'number', min: '0', max: '100', step: 'any', dataset: { k } }));
    const form = h('form', { class: 'rollout-form', novalidate: true, 'aria-label': `Roll-out of ${m.name}` },
      h('h3', {}, 'Canary and shadow'),
      h('p', { class: 'help' }, 'A canary answers its share of the requests that name no version; a shadow also scores its share of registered-set requests, for the comparison report (its results are never returned). Every replica follows these settings.'),
      h('div', { class: 'grid2' }, select('canaryVersion', 'Canary version'), percent('canaryPercent', 'Canary share (%)'),
        select('shadowVersion', 'Shadow version'), percent('shadowPercent', 'Shadow share (%)')),
      h('p', { class: 'error', role: 'alert', hidden: true, dataset: { k: 'error' } }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save roll-out')));
    form.addEventListener('input', () => { form.dataset.dirty = 'true'; });
    form.addEventListener('submit', (e) => { e.preventDefault(); saveRollout(form, m.name, e.submitter); });
    f = { form };
    forms.set(m.name, f);
  }
  const q = (k) => f.form.querySelector(`[data-k="${k}"]`);
  for (const k of ['canaryVersion', 'shadowVersion']) {
    const sel = q(k);
    const keep = f.form.dataset.dirty ? sel.value : String(m.rollout[k]);
    clear(sel).append(h('option', { value: '0' }, 'none'), ...loaded.map((v) => h('option', { value: String(v) }, `version ${v}`)));
    sel.value = [...sel.options].some((o) => o.value === keep) ? keep : '0';
  }
  if (!f.form.dataset.dirty) {
    q('canaryPercent').value = String(m.rollout.canaryPercent);
    q('shadowPercent').value = String(m.rollout.shadowPercent);
  }
  if (!card.contains(f.form)) card.append(f.form);
}

async function saveRollout(form, model, button) {
  const q = (k) => form.querySelector(`[data-k="${k}"]`);
  const err = q('error');
  hideError(err);
  const json = {};
  for (const k of ['canaryPercent', 'shadowPercent']) {
    const v = Number(q(k).value);
    if (q(k).value.trim() === '' || !(v >= 0 && v <= 100)) {
      q(k).setAttribute('aria-invalid', 'true');
      showError(err, 'A share is a percentage between 0 and 100.');
      return;
    }
    q(k).removeAttribute('aria-invalid');
    json[k] = v;
  }
  json.canaryVersion = Number(q('canaryVersion').value);
  json.shadowVersion = Number(q('shadowVersion').value);
  await busy(button, async () => {
    try {
      const r = await api(`/v1/models/${encodeURIComponent(model)}/rollout`, { method: 'PUT', json });
      delete form.dataset.dirty;
      announce(`Roll-out of ${model} saved: canary ${r.canaryVersion || 'none'} at ${r.canaryPercent}%, shadow ${r.shadowVersion || 'none'} at ${r.shadowPercent}%`);
      await poll();
    } catch (x) {
      showError(err, x);
    }
  });
}

async function act(button, model, path, done) {
  hideError($('models-error'));
  await busy(button, async () => {
    try {
      await api(path, { method: 'POST' });
      announce(done);
    } catch (x) {
      showError($('models-error'), `${model}: ${describeError(x)}`);
    }
    await poll();
  });
}

async function unload(button, model, v) {
  const note = v.serving ? ' It serves the requests that name no version now: they go to the highest other loaded version.' : '';
  if (!await confirmDialog(`Unload ${model} version ${v.version} on this replica? Its queued work is answered first.${note}`, 'Unload')) return;
  await act(button, model, `/v1/models/${encodeURIComponent(model)}/versions/${v.version}/unload`, `${model} version ${v.version} unloaded`);
}

async function promote(button, model, version) {
  hideError($('models-error'));
  await busy(button, async () => {
    try {
      const r = await api(`/v1/models/${encodeURIComponent(model)}/promote`, { method: 'POST', json: { version } });
      announce(`${model} version ${r.servingVersion} promoted; roll-back target ${r.previousVersion}`);
    } catch (x) {
      showError($('models-error'), `${model}: ${describeError(x)}`);
    }
    await poll();
  });
}

async function rollback(button, m) {
  if (!await confirmDialog(`Serve ${m.name} version ${m.rollout.previousVersion} again on every replica?`, 'Roll back')) return;
  hideError($('models-error'));
  await busy(button, async () => {
    try {
      const r = await api(`/v1/models/${encodeURIComponent(m.name)}/rollback`, { method: 'POST' });
      announce(`${m.name} rolled back: version ${r.servingVersion} serves`);
    } catch (x) {
      showError($('models-error'), `${m.name}: ${describeError(x)}`);
    }
    await poll();
  });
}
