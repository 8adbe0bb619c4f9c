// Text-prompt template sets: edit with validation, preview the sentences for a category, compare s_a vs defaults.

import { api, session } from '../api.js';
import { $, announce, busy, clear, confirmDialog, fieldError, fmtNum, h, hideError, lines, showError } from '../dom.js';

let sets = [];
let selected = null; // the set being edited (null: a new one)
const FIELDS = [
  ['tpl-normal', 'normal state', 'normalStates'],
  ['tpl-anomalous', 'anomalous state', 'anomalousStates'],
  ['tpl-templates', 'sentence template', 'templates'],
];

export function init() {
  $('tpl-form').addEventListener('submit', (e) => { e.preventDefault(); save(false, e.submitter || $('tpl-save')); });
  $('tpl-save-new').addEventListener('click', (e) => save(true, e.currentTarget));
  $('tpl-delete').addEventListener('click', remove);
  $('tpl-new').addEventListener('click', () => edit(null));
  $('tpl-preview').addEventListener('click', (e) => busy(e.currentTarget, preview));
  $('tpl-compare').addEventListener('click', (e) => busy(e.currentTarget, compare));
  for (const [id] of FIELDS) {
    $(id).addEventListener('input', () => { counts(); validate(true); });
  }
}

export async function show() {
  textTower();
  await refresh(selected?.id);
}

/**
 * A bundle without a text tower (vision-only, residual-heads) has no s_a: the preview and comparison would only
 * end in 409 NO_TEXT_ENCODER, so they are off and the view says why. Sets can still be edited for an InCTRL bundle.
 */
function textTower() {
  const m = session.model;
  const none = m?.inctrl === false;
  const note = $('tpl-no-text');
  note.hidden = !none;
  if (none) {
    // what the bundle computes is in the banner above; this says what it means for this view
    note.textContent = `Bundle ${m.bundleId} has no text encoder, so text-prompt templates do not change its scores: `
      + 'the sentence preview and the s_a comparison are off. Template sets can still be edited and saved, for use '
      + 'with an InCTRL bundle.';
  }
  for (const id of ['tpl-category', 'tpl-image']) $(id).disabled = none;
  for (const id of ['tpl-preview', 'tpl-compare']) {
    $(id).disabled = none;
    if (none) $(id).setAttribute('aria-describedby', 'tpl-no-text');
    else $(id).removeAttribute('aria-describedby');
  }
}

async function refresh(selectId) {
  hideError($('tpl-list-error'));
  try {
    sets = await api('/v1/templates');
  } catch (x) {
    showError($('tpl-list-error'), x);
    return;
  }
  const list = clear($('tpl-list'));
  for (const t of sets) {
    list.append(h('li', {}, h('button', {
      type: 'button', class: 'pick', 'aria-pressed': String(t.id === selectId), dataset: { id: t.id },
      onclick: () => edit(t),
    }, t.name, t.builtIn ? h('span', { class: 'badge muted' }, 'built-in') : h('span', { class: 'badge' }, `v${t.version}`))));
  }
  edit(sets.find((t) => t.id === selectId) || selected && sets.find((t) => t.id === selected.id) || sets[0], true);
}

function edit(t, quiet) {
  const defaults = sets.find((x) => x.builtIn);
  selected = t;
  const src = t || defaults;
  $('tpl-name').value = t ? t.name : `custom-${new Date().toISOString().slice(0, 10)}`;
  $('tpl-normal').value = (src?.normalStates || []).join('\n');
  $('tpl-anomalous').value = (src?.anomalousStates || []).join('\n');
  $('tpl-templates').value = (src?.templates || []).join('\n');
  const ro = !!t?.builtIn;
  for (const id of ['tpl-name', 'tpl-normal', 'tpl-anomalous', 'tpl-templates']) $(id).readOnly = ro;
  $('tpl-readonly').hidden = !ro;
  $('tpl-save').hidden = ro;
  $('tpl-delete').hidden = !t || ro;
  $('tpl-form-h').textContent = t ? (ro ? 'Built-in template set' : `Template set “${t.name}” (v${t.version})`) : 'New template set';
  for (const b of document.querySelectorAll('#tpl-list button')) b.setAttribute('aria-pressed', String(b.dataset.id === t?.id));
  hideError($('tpl-form-error'));
  clear($('tpl-preview-out'));
  counts();
  validate(true);
  if (!quiet) $('tpl-name').focus();
}

function counts() {
  for (const [id] of FIELDS) $(`${id}-count`).textContent = `(${lines($(id).value).length})`;
}

/** Client-side checks mirroring the server's: non-empty lists, `{}` in every line. Token limits are server-side. */
function validate(quiet) {
  let ok = fieldError($('tpl-name'), $('tpl-name-error'), $('tpl-name').value.trim() || quiet ? '' : 'A template set needs a name.');
  let first = null;
  for (const [id, what] of FIELDS) {
    const items = lines($(id).value);
    const missing = items.filter((l) => !l.includes('{}'));
    let msg = '';
    if (!items.length) msg = quiet ? '' : `Add at least one ${what}.`;
    else if (missing.length) msg = `Every ${what} needs the placeholder {} — missing in: ${missing.map((m) => `“${m}”`).join(', ')}`;
    if (!fieldError($(id), $(`${id}-error`), msg)) {
      ok = false;
      first ??= $(id);
    }
  }
  if (!quiet && first) first.focus();
  return ok && lines($('tpl-normal').value).length > 0 && lines($('tpl-anomalous').value).length > 0 && lines($('tpl-templates').value).length > 0;
}

function body() {
  return {
    name: $('tpl-name').value.trim(),
    normalStates: lines($('tpl-normal').value),
    anomalousStates: lines($('tpl-anomalous').value),
    templates: lines($('tpl-templates').value),
  };
}

async function save(asNew, button) {
  hideError($('tpl-form-error'));
  if (!validate(false)) {
    showError($('tpl-form-error'), 'Fix the highlighted fields before saving.');
    return;
  }
  const b = body();
  if (asNew && selected && b.name === selected.name) b.name = `${b.name}-copy`;
  await busy(button, async () => {
    try {
      const editing = !asNew && selected && !selected.builtIn;
      const t = editing
        ? await api(`/v1/templates/${encodeURIComponent(selected.id)}`, { method: 'PUT', json: b })
        : await api('/v1/templates', { method: 'POST', json: b });
      selected = t;
      announce(`Template set ${t.name} saved (version ${t.version})`);
      await refresh(t.id);
      $('tpl-form-error').hidden = true;
      $('tpl-form-h').focus();
    } catch (x) {
      // the server's verdict (e.g. SENTENCE_TOO_LONG with the offending sentence) is the useful message here
      showError($('tpl-form-error'), `Not saved. ${describe(x)}`);
      $('tpl-form-error').focus?.();
    }
  });
}

function describe(x) {
  return x?.problem ? `${x.message} (HTTP ${x.status}${x.problem.reason ? `, ${x.problem.reason}` : ''})` : String(x.message || x);
}

async function remove() {
  if (!selected || selected.builtIn) return;
  if (!await confirmDialog(`Delete template set “${selected.name}”? Prompt sets using it must be deleted first.`, 'Delete')) return;
  try {
    await api(`/v1/templates/${encodeURIComponent(selected.id)}`, { method: 'DELETE' });
    announce(`Template set ${selected.name} deleted`);
    selected = null;
    await refresh();
  } catch (x) {
    showError($('tpl-form-error'), x);
  }
}

function category() {
  const c = $('tpl-category').value.trim();
  if (!c) throw new Error('Enter a category to preview.');
  return c;
}

async function preview() {
  hideError($('tpl-preview-error'));
  const out = clear($('tpl-preview-out'));
  if (!validate(false)) return;
  let r;
  try {
    r = await api('/v1/templates/preview', { method: 'POST', json: { category: category(), ...body() } });
  } catch (x) {
    showError($('tpl-preview-error'), x.problem ? x : x.message);
    return;
  }
  const side = (title, list, id) => h('div', { class: 'sentences' },
    h('h4', { id }, `${title} (${list.length})`),
    h('ol', { 'aria-labelledby': id }, ...list.map((s) => h('li', { class: s.tooLong ? 'too-long' : '' },
      s.text, ' ', h('span', { class: 'tokens', title: 'CLIP tokens incl. start/end' }, `${s.tokens} tok`),
      s.tooLong ? h('strong', { class: 'error-inline' }, ` over ${r.maxTokens}`) : ''))));
  out.append(
    h('p', { class: r.tooLong ? 'error' : 'ok-line', role: r.tooLong ? 'alert' : null },
      r.tooLong
        ? `${r.tooLong} sentence(s) exceed CLIP's ${r.maxTokens}-token context; the server will refuse to save this set.`
        : `${r.normal.length + r.anomalous.length} sentences for “${r.category}”, all within ${r.maxTokens} tokens.`),
    h('div', { class: 'grid2' }, side('Normal sentences', r.normal, 'prev-normal-h'), side('Anomalous sentences', r.anomalous, 'prev-anom-h')));
  announce('Sentence preview ready');
}

async function compare() {
  hideError($('tpl-preview-error'));
  const out = clear($('tpl-compare-out'));
  const file = $('tpl-image').files[0];
  if (!validate(false)) return;
  if (!file) {
    showError($('tpl-preview-error'), 'Choose an image to compare s_a on.');
    $('tpl-image').focus();
    return;
  }
  const form = new FormData();
  try {
    form.append('category', category());
  } catch (x) { showError($('tpl-preview-error'), x.message); return; }
  form.append('templates', JSON.stringify(body()));
  form.append('image', file, file.name);
  out.append(h('p', { class: 'help' }, 'Encoding the image and both sentence sets…'));
  let r;
  try {
    r = await api('/v1/templates/preview/score', { method: 'POST', form });
  } catch (x) {
    clear(out);
    showError($('tpl-preview-error'), x);
    return;
  }
  const bar = (v) => h('span', { class: 'bar' }, h('span', { class: 'bar-fill', dataset: { w: String(v ?? 0) } }));
  clear(out).append(h('table', { class: 'table compact compare', id: 'tpl-compare-table', 'aria-label': 'Text prior s_a: edited set vs defaults' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Template set'), h('th', { scope: 'col' }, 's_a'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'bar')))),
    h('tbody', {},
      h('tr', {}, h('th', { scope: 'row' }, 'Edited'), h('td', { id: 'tpl-sa-edited' }, fmtNum(r.editedSA)), h('td', {}, bar(r.editedSA))),
      h('tr', {}, h('th', { scope: 'row' }, 'Defaults'), h('td', { id: 'tpl-sa-default' }, fmtNum(r.defaultSA)), h('td', {}, bar(r.defaultSA))),
      h('tr', {}, h('th', { scope: 'row' }, 'Difference'), h('td', {}, r.delta === null ? '—' : (r.delta >= 0 ? '+' : '') + fmtNum(r.delta)), h('td', {})))),
  h('p', { class: 'help' }, `s_a is the CLIP text prior for “${r.category}” on ${file.name} (higher = closer to the anomalous sentences); bundle ${r.bundleId}.`));
  // widths through CSSOM: the CSP forbids style attributes but not script-set styles
  for (const f of out.querySelectorAll('.bar-fill')) f.style.width = `${Math.round(Number(f.dataset.w) * 100)}%`;
  announce('s_a comparison ready');
}
