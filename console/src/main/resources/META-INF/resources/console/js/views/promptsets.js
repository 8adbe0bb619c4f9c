// Prompt sets: register from K uploaded shots (drop zone, thumbnails, progress), list, calibration view,
// threshold override, target false-positive rate, re-encode, delete; the set's shots: add (upload), remove, the
// revisions of its shots and roll-back; per model version: its encoding (polled while the set is open) and the
// comparison report of two versions.

import { api, describeError, upload } from '../api.js';
import { $, announce, busy, clear, confirmDialog, fieldError, fmtDate, fmtNum, h, hideError, showError } from '../dom.js';
import { calibrationPlot, scoreDomain } from '../plot.js';
import { dropZone, fmtBytes, isImage, thumb } from '../uploads.js';

let files = [];
let addFiles = []; // shots picked to add to the open set
let current = null;
let encodingsTimer = null;
const ENCODINGS_POLL_MS = 3000;
/**
 * File names of the shots uploaded in this tab, by set id and revision of its shots: the server numbers shots (from 0
 * in each revision), people know file names. Unknown names (shots of another tab or client) stay null.
 */
const shotNames = new Map();
const namesKey = (id, revision) => `${id}@${revision}`;

/**
 * Names of a new revision: those of the revision it was made from at positions `kept`, then `added`; nothing when the
 * revision it was made from is not the one this tab knew (its shot count disagrees: someone else changed the set).
 */
function carryNames(before, after, kept, added) {
  if (!before || !after || kept.length + added.length !== after.shotCount) return;
  const old = shotNames.get(namesKey(before.id, before.revision)) || [];
  shotNames.set(namesKey(after.id, after.revision), [...kept.map((i) => old[i] ?? null), ...added]);
}

/** Try it confirmed a scored query as normal: `after` is the set it answered, `before` the set as last listed. */
export function recordConfirmed(before, after, label) {
  if (before && before.shotCount + 1 === after.shotCount) {
    carryNames(before, after, [...Array(before.shotCount).keys()], [label]);
  }
}

export function init() {
  dropZone($('ps-drop'), $('ps-files'), pickFiles);
  dropZone($('ps-add-drop'), $('ps-add-files'), pickAddFiles);
  $('ps-add-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('ps-add'), addShots); });
  $('ps-form').addEventListener('submit', register);
  // a field error goes away as soon as the field is filled in
  for (const id of ['ps-name', 'ps-category']) {
    $(id).addEventListener('input', () => { if ($(id).value.trim()) fieldError($(id), $(`${id}-error`), ''); });
  }
  $('ps-threshold-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = $('ps-threshold').value.trim();
    const t = Number(v);
    if (v === '' || !(t >= 0 && t <= 1)) {
      showError($('ps-detail-error'), 'The threshold is a score between 0 and 1.');
      $('ps-threshold').setAttribute('aria-invalid', 'true');
      return;
    }
    $('ps-threshold').removeAttribute('aria-invalid');
    setThreshold(t, e.submitter);
  });
  $('ps-target-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = parseTarget($('ps-target').value);
    if (t === undefined || t === null) {
      showError($('ps-detail-error'), 'The target false-positive rate is a number between 0 and 0.5 (both excluded).');
      $('ps-target').setAttribute('aria-invalid', 'true');
      return;
    }
    $('ps-target').removeAttribute('aria-invalid');
    setTarget(t, e.submitter);
  });
  $('ps-target-fpr').addEventListener('input', () => fieldError($('ps-target-fpr'), $('ps-target-fpr-error'), ''));
  $('ps-threshold-range').addEventListener('input', () => { $('ps-threshold').value = $('ps-threshold-range').value; });
  $('ps-threshold').addEventListener('input', () => { $('ps-threshold-range').value = $('ps-threshold').value; });
  $('ps-threshold-reset').addEventListener('click', (e) => setThreshold(null, e.currentTarget));
  $('ps-reencode').addEventListener('click', (e) => busy(e.currentTarget, reencode));
  $('ps-delete').addEventListener('click', remove);
  $('ps-try').addEventListener('click', () => { if (current) sessionStorage.setItem('inctrl.console.try-set', current.id); });
  $('ps-compare-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('ps-compare'), compare); });
  $('ps-drift-refresh').addEventListener('click', (e) => busy(e.currentTarget, () => loadDrift(current)));
}

export function hide() {
  clearTimeout(encodingsTimer);
  encodingsTimer = null;
}

export async function show() {
  await Promise.all([loadTemplates(), refresh()]);
}

async function loadTemplates() {
  const sel = $('ps-template');
  const was = sel.value;
  try {
    const list = await api('/v1/templates');
    clear(sel).append(...list.map((t) => h('option', { value: t.id }, t.builtIn ? `${t.name} (built-in)` : t.name)));
    if (list.some((t) => t.id === was)) sel.value = was;
  } catch (x) {
    showError($('ps-form-error'), x);
  }
}

function pickFiles(picked) {
  const bad = picked.filter((f) => !isImage(f));
  files.push(...picked.filter(isImage));
  fieldError($('ps-drop'), $('ps-shots-error'),
    bad.length ? `Skipped ${bad.length} file(s) that are not PNG/JPEG/BMP/TIFF: ${bad.map((f) => f.name).join(', ')}` : '');
  renderThumbs();
  $('ps-files').value = '';
}

function renderThumbs() {
  const list = clear($('ps-thumbs'));
  files.forEach((f, i) => list.append(thumb(f, i, () => { files.splice(i, 1); renderThumbs(); })));
  const total = files.reduce((a, f) => a + f.size, 0);
  clear($('ps-drop-title')).append(files.length
    ? h('strong', {}, `${files.length} shot(s) selected (${fmtBytes(total)})`)
    : h('strong', {}, 'Drop normal shot images here'), files.length ? ' — drop or press to add more' : ' or press to choose files');
}

function progress(frac, phase) {
  $('ps-progress-wrap').hidden = false;
  const p = $('ps-progress');
  if (phase === 'processing') {
    p.removeAttribute('value'); // indeterminate while the server encodes and calibrates
    $('ps-progress-label').textContent = `Uploaded; encoding ${files.length} shots and calibrating on the server…`;
  } else {
    p.value = Math.round(frac * 100);
    $('ps-progress-label').textContent = `Uploading ${Math.round(frac * 100)}%`;
  }
}

async function register(e) {
  e.preventDefault();
  hideError($('ps-form-error'));
  const name = $('ps-name').value.trim();
  const category = $('ps-category').value.trim();
  let ok = fieldError($('ps-name'), $('ps-name-error'), name ? '' : 'Give the prompt set a name.');
  ok = fieldError($('ps-category'), $('ps-category-error'), category ? '' : 'Give the product category, e.g. metal_nut.') && ok;
  ok = fieldError($('ps-drop'), $('ps-shots-error'), files.length ? '' : 'Add at least one normal shot image.') && ok;
  const target = parseTarget($('ps-target-fpr').value);
  ok = fieldError($('ps-target-fpr'), $('ps-target-fpr-error'),
    target === undefined ? 'A target false-positive rate is between 0 and 0.5 (both excluded), or empty for the server default.' : '') && ok;
  if (!ok) {
    document.querySelector('#ps-form [aria-invalid=true]')?.focus();
    return;
  }
  const form = new FormData();
  form.append('name', name);
  form.append('category', category);
  form.append('templateId', $('ps-template').value);
  form.append('fp16', String($('ps-fp16').checked));
  form.append('inspection', $('ps-inspection').value);
  if (target !== null) form.append('targetFpr', String(target));
  for (const f of files) form.append('shots', f, f.name);
  await busy($('ps-submit'), async () => {
    progress(0, 'upload');
    try {
      const p = await upload('/v1/prompt-sets', form, progress);
      shotNames.set(namesKey(p.id, p.revision), files.map((f) => f.name));
      files = [];
      renderThumbs();
      $('ps-form').reset();
      announce(`Prompt set ${p.name} registered with ${p.shotCount} shots`);
      await refresh();
      open(p);
    } catch (x) {
      showError($('ps-form-error'), `Registration failed. ${describeError(x)}`);
    } finally {
      $('ps-progress-wrap').hidden = true;
      $('ps-progress').value = 0;
    }
  });
}

/** Reads the list again; `detail`: also re-render the open set from it (off when the caller just rendered it). */
async function refresh({ detail = true } = {}) {
  hideError($('ps-list-error'));
  let page;
  try {
    page = await api('/v1/prompt-sets?pageSize=200');
  } catch (x) {
    showError($('ps-list-error'), x);
    return;
  }
  const rows = clear($('ps-rows'));
  if (!page.items.length) rows.append(h('tr', {}, h('td', { colspan: 6 }, 'No prompt sets yet: register one above.')));
  for (const p of page.items) {
    const c = p.calibration;
    rows.append(h('tr', { dataset: { set: p.name } },
      h('th', { scope: 'row' }, p.name),
      h('td', {}, p.category),
      h('td', {}, String(p.shotCount)),
      h('td', {}, c.threshold === null ? '—' : `${fmtNum(c.threshold)}${c.thresholdOverridden ? ' (set)' : ''}`),
      h('td', {}, p.stale ? h('span', { class: 'badge warn', title: `encoded with ${p.bundleId}` }, 'stale: re-encode')
        : c.outlierShots.length ? h('span', { class: 'badge warn' }, `${c.outlierShots.length} outlier(s)`) : h('span', { class: 'badge ok' }, 'ready')),
      h('td', { class: 'row-actions' }, h('button', {
        type: 'button', class: 'btn btn-small', 'aria-label': `Open ${p.name}`, onclick: () => open(p),
      }, 'Open'))));
  }
  if (current && detail) {
    const again = page.items.find((p) => p.id === current.id);
    if (again) render(again); else closeDetail();
  }
}

function closeDetail() {
  current = null;
  $('ps-detail').hidden = true;
  hide();
}

function open(p) {
  clear($('ps-comparison'));
  addFiles = [];
  renderAddThumbs();
  hideError($('ps-add-error'), $('ps-shot-list-error'), $('ps-revisions-error'));
  $('ps-compare-baseline').value = '';
  $('ps-compare-candidate').value = '';
  render(p);
  $('ps-detail-h').focus();
  $('ps-detail').scrollIntoView({ block: 'start' });
}

function render(p) {
  current = p;
  const c = p.calibration;
  $('ps-detail').hidden = false;
  hideError($('ps-detail-error'));
  $('ps-detail-h').textContent = `Prompt set “${p.name}”`;
  const meta = clear($('ps-meta'));
  const item = (k, v) => meta.append(h('div', {}, h('dt', {}, k), h('dd', {}, v)));
  item('Id', h('code', {}, p.id));
  item('Category', p.category);
  item('Shots (K)', String(p.shotCount));
  item('Storage', p.precision);
  item('Inspection', p.inspectionReason ? `${p.inspection} (auto: ${p.inspectionReason})` : (p.inspection || 'center-crop'));
  item('Bundle', p.stale ? h('span', { class: 'badge warn' }, `${p.bundleId} (stale)`) : p.bundleId);
  item('Revision of the shots', String(p.revision));
  item('Version', String(p.version));
  item('Updated', fmtDate(p.updatedAt));
  item('Suggested threshold', fmtNum(c.suggestedThreshold));
  item('Threshold in force', c.threshold === null ? 'none' : `${fmtNum(c.threshold)}${c.thresholdOverridden ? ' (override)' : ' (suggested)'}`);
  if (c.fp16MaxAbsDiff !== null) item('fp16 max score change', c.fp16MaxAbsDiff.toExponential(2));
  item('Target false-positive rate', fmtRate(c.targetFpr));
  item('Expected false-positive rate', c.expectedFpr === null || c.expectedFpr === undefined
    ? 'unknown (needs K ≥ 2)' : `${fmtRate(c.expectedFpr)} at the threshold in force`);
  item('Fit method', c.method || '—');

  const plot = clear($('ps-plot'));
  if (c.shotScores?.length) plot.append(...calibrationPlot(c, 'ps-cal'));
  else plot.append(h('p', { class: 'help' }, 'No calibration scores (a single shot cannot be scored against the others).'));

  const warn = clear($('ps-warnings'));
  // about the set on the loaded bundle (e.g. templates that a vision-only bundle ignores), not its calibration
  for (const w of p.warnings || []) warn.append(h('li', { class: 'warning strong set-warning' }, w));
  const names = shotNames.get(namesKey(p.id, p.revision));
  for (const w of c.warnings || []) {
    const m = /^shot (\d+) /.exec(w);
    const file = m && names?.[Number(m[1])] ? ` — file ${names[Number(m[1])]}` : '';
    warn.append(h('li', { class: c.outlierShots.length && m ? 'warning strong' : 'warning' }, `⚠ ${w}${file}`));
  }
  if (c.outlierShots.length) {
    warn.append(h('li', { class: 'warning' }, 'Outlier shots may contain a defect or show another product or view: '
      + 'check them and register the set again without them.'));
  }
  $('ps-warnings').setAttribute('role', c.outlierShots.length || p.warnings?.length ? 'alert' : 'list');
  const t = c.threshold ?? c.suggestedThreshold;
  $('ps-threshold').value = t === null || t === undefined ? '' : t.toFixed(4);
  $('ps-threshold').removeAttribute('aria-invalid');
  // the slider spans the set's scores (as the plot's axis), not 0..1 where they would sit within a few pixels
  const [lo, hi] = scoreDomain(c);
  const slider = $('ps-threshold-range');
  slider.min = lo.toFixed(4);
  slider.max = hi.toFixed(4);
  slider.step = String(Math.max(0.0001, Number(((hi - lo) / 500).toPrecision(1))));
  slider.value = t ?? (lo + hi) / 2;
  $('ps-threshold-range-help').textContent = `From ${lo.toFixed(4)} to ${hi.toFixed(4)}: the shots' leave-one-out `
    + 'scores and the thresholds, with a margin. Any score from 0 to 1 can be typed in the field.';
  $('ps-threshold-reset').disabled = !c.thresholdOverridden;
  $('ps-target').value = c.targetFpr === null || c.targetFpr === undefined ? '' : String(Number(c.targetFpr.toFixed(4)));
  $('ps-target').removeAttribute('aria-invalid');
  $('ps-reencode').textContent = p.stale ? 'Re-encode with the loaded bundle (stale)' : 'Re-encode with the loaded bundle';
  renderShots(p);
  loadRevisions(p);
  renderEncodings(p);
  pollEncodings();
  loadDrift(p);
}

/** The current revision's shots, numbered from 0 as the server does, with their leave-one-out scores. */
function renderShots(p) {
  const c = p.calibration || {};
  const names = shotNames.get(namesKey(p.id, p.revision)) || [];
  const outliers = new Set(c.outlierShots || []);
  $('ps-shots-count').textContent = `(K = ${p.shotCount}, revision ${p.revision})`;
  const rows = clear($('ps-shot-rows'));
  for (let i = 0; i < p.shotCount; i++) {
    const score = c.shotScores?.[i];
    rows.append(h('tr', { dataset: { shot: String(i) } },
      h('th', { scope: 'row' }, String(i)),
      h('td', {}, names[i] || '—'),
      h('td', {}, score === undefined ? '—' : fmtNum(score), outliers.has(i) ? h('span', { class: 'badge warn' }, 'outlier') : null),
      h('td', { class: 'row-actions' }, h('button', {
        type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Remove shot ${i}`,
        disabled: p.shotCount < 2, title: p.shotCount < 2 ? 'a prompt set keeps at least one shot' : null,
        onclick: (e) => busy(e.currentTarget, () => removeShot(p, i)),
      }, 'Remove'))));
  }
}

function pickAddFiles(picked) {
  const bad = picked.filter((f) => !isImage(f));
  addFiles.push(...picked.filter(isImage));
  if (bad.length) showError($('ps-add-error'), `Skipped ${bad.length} file(s) that are not PNG/JPEG/BMP/TIFF: ${bad.map((f) => f.name).join(', ')}`);
  else hideError($('ps-add-error'));
  renderAddThumbs();
  $('ps-add-files').value = '';
}

function renderAddThumbs() {
  const list = clear($('ps-add-thumbs'));
  addFiles.forEach((f, i) => list.append(thumb(f, i, () => { addFiles.splice(i, 1); renderAddThumbs(); })));
  clear($('ps-add-title')).append(addFiles.length
    ? h('strong', {}, `${addFiles.length} shot(s) to add (${fmtBytes(addFiles.reduce((a, f) => a + f.size, 0))})`)
    : h('strong', {}, 'Drop more normal shots here'), addFiles.length ? ' — drop or press to add more' : ' or press to choose files');
}

function addProgress(frac, phase) {
  $('ps-add-progress-wrap').hidden = false;
  const bar = $('ps-add-progress');
  if (phase === 'processing') {
    bar.removeAttribute('value');
    $('ps-add-progress-label').textContent = 'Uploaded; encoding the new revision and calibrating on the server…';
  } else {
    bar.value = Math.round(frac * 100);
    $('ps-add-progress-label').textContent = `Uploading ${Math.round(frac * 100)}%`;
  }
}

/** POST /v1/prompt-sets/{id}/shots with the picked files: a new revision of the set's shots. */
async function addShots() {
  if (!current) return;
  hideError($('ps-add-error'));
  if (!addFiles.length) {
    showError($('ps-add-error'), 'Choose the shot images to add first.');
    $('ps-add-drop').focus();
    return;
  }
  const before = current;
  const picked = addFiles;
  const form = new FormData();
  for (const f of picked) form.append('shots', f, f.name);
  addProgress(0, 'upload');
  try {
    const p = await upload(`/v1/prompt-sets/${encodeURIComponent(before.id)}/shots`, form, addProgress);
    carryNames(before, p, [...Array(before.shotCount).keys()], picked.map((f) => f.name));
    addFiles = [];
    renderAddThumbs();
    announce(`Added ${picked.length} shot(s) to ${p.name}: revision ${p.revision}, ${p.shotCount} shots`);
    await afterChange(p);
  } catch (x) {
    showError($('ps-add-error'), `Adding shots failed. ${describeError(x)}`);
  } finally {
    $('ps-add-progress-wrap').hidden = true;
    $('ps-add-progress').value = 0;
  }
}

/** POST /v1/prompt-sets/{id}/shots/remove of one shot: a new revision without it. */
async function removeShot(p, shot) {
  hideError($('ps-shot-list-error'));
  try {
    const after = await api(`/v1/prompt-sets/${encodeURIComponent(p.id)}/shots/remove`, { method: 'POST', json: { shots: [shot] } });
    carryNames(p, after, [...Array(p.shotCount).keys()].filter((i) => i !== shot), []);
    announce(`Removed shot ${shot} from ${after.name}: revision ${after.revision}, ${after.shotCount} shots`);
    await afterChange(after);
  } catch (x) {
    showError($('ps-shot-list-error'), `Removing shot ${shot} failed. ${describeError(x)}`);
  }
}

/** A change of the shots answered with the set: show it, and the list's K. */
async function afterChange(p) {
  if (current?.id === p.id) render(p);
  await refresh({ detail: false });
}

/** GET /v1/prompt-sets/{id}/revisions into the detail panel, each older or newer one with a roll-back button. */
async function loadRevisions(p) {
  let list;
  try {
    list = await api(`/v1/prompt-sets/${encodeURIComponent(p.id)}/revisions`);
  } catch (x) {
    showError($('ps-revisions-error'), x);
    return;
  }
  if (!current || current.id !== p.id) return; // another set was opened meanwhile
  const reasons = { created: 'registered', 'shots-added': 'shots added', 'shots-removed': 'shots removed' };
  const rows = clear($('ps-revisions'));
  for (const r of list) {
    rows.append(h('tr', { dataset: { revision: String(r.revision), current: String(r.current) } },
      h('th', { scope: 'row' }, String(r.revision), r.current ? h('span', { class: 'badge ok' }, 'current') : null),
      h('td', {}, String(r.shotCount)),
      h('td', {}, reasons[r.reason] || r.reason),
      h('td', {}, fmtDate(r.createdAt)),
      h('td', { class: 'row-actions' }, r.current ? null : h('button', {
        type: 'button', class: 'btn btn-small', 'aria-label': `Roll back to revision ${r.revision}`,
        onclick: (e) => busy(e.currentTarget, () => rollback(p, r.revision)),
      }, 'Roll back to this revision'))));
  }
}

/** POST /v1/prompt-sets/{id}/rollback: the set points at that revision again (its stored encodings serve it). */
async function rollback(p, revision) {
  hideError($('ps-revisions-error'));
  try {
    const after = await api(`/v1/prompt-sets/${encodeURIComponent(p.id)}/rollback`, { method: 'POST', json: { revision } });
    announce(`Prompt set ${after.name} rolled back to revision ${after.revision} (${after.shotCount} shots)`);
    await afterChange(after);
  } catch (x) {
    showError($('ps-revisions-error'), `Rolling back to revision ${revision} failed. ${describeError(x)}`);
  }
}

/** One row per model version that encoded (or is encoding) the set's current shots. */
function renderEncodings(p) {
  const rows = clear($('ps-encodings'));
  const list = [...(p.encodings || [])].sort((a, b) => (b.modelVersion || 0) - (a.modelVersion || 0));
  if (!list.length) rows.append(h('tr', {}, h('td', { colspan: 6 }, 'No encoding yet.')));
  for (const e of list) {
    const state = e.state === 'READY' ? h('span', { class: 'badge ok' }, 'ready')
      : e.state === 'FAILED' ? h('span', { class: 'badge warn', title: e.error || '' }, 'failed')
        : h('span', { class: 'badge muted' }, (e.state || '').toLowerCase());
    const t = e.calibration?.threshold;
    rows.append(h('tr', { dataset: { version: String(e.modelVersion || 0), state: e.state } },
      h('td', {}, e.model || '—'),
      h('th', { scope: 'row' }, e.modelVersion ? String(e.modelVersion) : '—'),
      h('td', {}, h('code', {}, e.bundleId || e.encoder || '—')),
      h('td', {}, state, e.state === 'FAILED' && e.error ? h('p', { class: 'help' }, e.error) : null),
      h('td', {}, t === null || t === undefined ? '—' : `${fmtNum(t)}${e.calibration.thresholdOverridden ? ' (set)' : ''}`),
      h('td', {}, fmtDate(e.updatedAt))));
  }
}

/** Background encodings finish on their own: re-read the open set's encodings (the rest of the detail stays put). */
function pollEncodings() {
  clearTimeout(encodingsTimer);
  encodingsTimer = setTimeout(async () => {
    if (!current || $('ps-detail').hidden) return;
    const id = current.id;
    try {
      const p = await api(`/v1/prompt-sets/${encodeURIComponent(id)}`);
      if (current?.id === id) {
        current = { ...current, encodings: p.encodings };
        renderEncodings(p);
      }
    } catch {
      // a passing failure: the next poll tries again; a deleted set is closed by the next refresh
    }
    if (current?.id === id) pollEncodings();
  }, ENCODINGS_POLL_MS);
}

async function compare() {
  if (!current) return;
  const out = clear($('ps-comparison'));
  const q = new URLSearchParams();
  for (const [k, id] of [['baseline', 'ps-compare-baseline'], ['candidate', 'ps-compare-candidate']]) {
    const v = $(id).value.trim();
    if (v !== '') q.set(k, v);
  }
  let r;
  try {
    const qs = q.toString();
    r = await api(`/v1/prompt-sets/${encodeURIComponent(current.id)}/comparison${qs ? `?${qs}` : ''}`);
  } catch (x) {
    out.append(h('p', { class: 'error', role: 'alert' }, describeError(x)));
    return;
  }
  const thr = (t) => (t === null || t === undefined ? 'none' : fmtNum(t));
  const row = (label, a) => h('tr', {},
    h('th', { scope: 'row' }, label), h('td', {}, String(a.n)), h('td', {}, fmtNum(a.pearson, 3)), h('td', {}, fmtNum(a.spearman, 3)),
    h('td', {}, fmtNum(a.meanAbsDiff, 4)), h('td', {}, String(a.flipsToAnomalous)), h('td', {}, String(a.flipsToNormal)));
  out.append(
    h('p', { id: 'ps-comparison-versions' }, `Model ${r.model}: baseline version ${r.baselineVersion} (threshold ${thr(r.baselineThreshold)}) `
      + `against candidate version ${r.candidateVersion} (threshold ${thr(r.candidateThreshold)}).`),
    h('table', { class: 'table compact', id: 'ps-comparison-table' },
      h('thead', {}, h('tr', {}, ...['Scores on', 'Pairs', 'Pearson', 'Spearman', 'Mean |Δ score|', 'Flips to anomalous', 'Flips to normal']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, row('Its shots (leave-one-out)', r.shots), row('Live traffic (shadow)', r.traffic))),
    r.traffic.n ? null : h('p', { class: 'help' }, 'No shadow samples yet: set a shadow version on the Models page and score against this set.'));
  announce(`Compared versions ${r.baselineVersion} and ${r.candidateVersion}`);
}

const DRIFT_BADGES = {
  ok: ['ok', 'no drift'], drift: ['warn', 'drift: needs new shots'], insufficient: ['muted', 'too few queries'],
  'no-baseline': ['muted', 'no calibration'], 'no-data': ['muted', 'no queries yet'], disabled: ['muted', 'off'],
};

/** GET /v1/prompt-sets/{id}/drift into the detail panel (what this replica saw since the set last changed). */
async function loadDrift(p) {
  if (!p) return;
  hideError($('ps-drift-error'));
  let d;
  try {
    d = await api(`/v1/prompt-sets/${encodeURIComponent(p.id)}/drift`);
  } catch (x) {
    showError($('ps-drift-error'), x);
    return;
  }
  if (!current || current.id !== p.id) return; // another set was opened meanwhile
  const [kind, text] = DRIFT_BADGES[d.state] || ['muted', d.state];
  const badge = $('ps-drift-state');
  badge.className = `badge ${kind}`;
  badge.textContent = text;
  $('ps-drift-reason').textContent = d.reason;
  $('ps-drift-reason').className = d.needsNewShots ? 'help strong' : 'help';
  const meta = clear($('ps-drift'));
  const item = (k, v) => meta.append(h('div', {}, h('dt', {}, k), h('dd', {}, v)));
  item('Recent queries', `${d.samples} of the last ${d.window || '—'}`);
  if (d.exceedances !== null) {
    item('Over the threshold', `${d.exceedances}${d.exceedanceShare === null ? '' : ` (${fmtRate(d.exceedanceShare)})`}`);
  }
  if (d.expectedFpr !== null) item('Expected / tolerated', `${fmtRate(d.expectedFpr)} / ${fmtRate(d.toleratedFpr)}`);
  if (d.exceedancePValue !== null) item('Exceedance test p', fmtP(d.exceedancePValue, d.exceedanceSignal));
  if (d.recentMedian !== null) item('Recent median / p90', `${fmtNum(d.recentMedian)} / ${fmtNum(d.recentP90)}`);
  if (d.shotScoreMedian !== null) item('Shot scores median', `${fmtNum(d.shotScoreMedian)} (${d.shotScoreCount} shots)`);
  if (d.probAboveShots !== null) item('Recent above shots', fmtRate(d.probAboveShots));
  if (d.scorePValue !== null) item('Score test p', fmtP(d.scorePValue, d.scoreSignal));
}

function fmtP(p, signal) {
  return `${p < 1e-3 ? p.toExponential(1) : p.toFixed(3)}${signal ? ' — signal' : ''}`;
}

async function setThreshold(value, button) {
  if (!current) return;
  hideError($('ps-detail-error'));
  await busy(button || $('ps-threshold-reset'), async () => {
    try {
      const p = await api(`/v1/prompt-sets/${encodeURIComponent(current.id)}/threshold`, { method: 'PUT', json: { threshold: value } });
      render(p);
      announce(value === null ? 'Threshold reset to the suggested value' : `Threshold set to ${value}`);
      await refresh();
    } catch (x) {
      showError($('ps-detail-error'), x);
    }
  });
}

/** A target false-positive rate typed in: null when empty, undefined when not a number in (0, 0.5). */
function parseTarget(text) {
  const v = text.trim();
  if (v === '') return null;
  const t = Number(v);
  return t > 0 && t < 0.5 ? t : undefined;
}

/** A rate as a percentage; tiny ones keep two significant digits. */
function fmtRate(r) {
  if (r === null || r === undefined) return '—';
  const pct = 100 * r;
  return pct >= 0.1 ? `${pct.toFixed(1)} %` : `${pct.toPrecision(2)} %`;
}

async function setTarget(value, button) {
  if (!current) return;
  hideError($('ps-detail-error'));
  const c = current.calibration;
  await busy(button, async () => {
    try {
      // the request carries the threshold too (absent = no override): send the override in force to keep it
      const json = { threshold: c.thresholdOverridden ? c.threshold : null, targetFpr: value };
      const p = await api(`/v1/prompt-sets/${encodeURIComponent(current.id)}/threshold`, { method: 'PUT', json });
      render(p);
      announce(`Target false-positive rate set to ${value}; suggested threshold ${fmtNum(p.calibration.suggestedThreshold)}`);
      await refresh();
    } catch (x) {
      showError($('ps-detail-error'), x);
    }
  });
}

async function reencode() {
  if (!current) return;
  hideError($('ps-detail-error'));
  try {
    const p = await api(`/v1/prompt-sets/${encodeURIComponent(current.id)}/re-encode`, { method: 'POST' });
    render(p);
    announce(`Prompt set ${p.name} re-encoded with ${p.bundleId}`);
    await refresh();
  } catch (x) {
    showError($('ps-detail-error'), x);
  }
}

async function remove() {
  if (!current) return;
  const p = current;
  if (!await confirmDialog(`Delete prompt set “${p.name}” and its stored shots? Rigs scoring against it will get NOT_FOUND.`, 'Delete set')) return;
  try {
    await api(`/v1/prompt-sets/${encodeURIComponent(p.id)}`, { method: 'DELETE' });
    closeDetail();
    announce(`Prompt set ${p.name} deleted`);
    await refresh();
  } catch (x) {
    showError($('ps-detail-error'), x);
  }
}
