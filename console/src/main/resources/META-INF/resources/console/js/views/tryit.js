// Try it: score one image against a prompt set; score, verdict, s_h/s_p/s_i/s_a, which model version answered,
// residual map overlay; "Confirm as normal" adds the scored query to the set by its query id (a new revision).

import { api, describeError, session } from '../api.js';
import { $, announce, busy, clear, fmtNum, h, hideError, showError } from '../dom.js';
import { drawLegend, drawOverlay, range } from '../heatmap.js';
import { dropZone, isImage } from '../uploads.js';
import { recordConfirmed } from './promptsets.js';

let file = null;
let image = null;
let last = null;
let lastSet = null; // the set the shown result was scored against (the picker may have moved on since)
const listed = new Map(); // prompt sets by id, as last listed
let scaleChosen = false; // the user's own pick between absolute and relative outlives new results

export function init() {
  $('try-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('try-submit'), score); });
  // the visible file input is the keyboard path; the zone is an extra drop target that opens the same picker
  dropZone($('try-drop'), $('try-file'), (fs) => pick(fs[0]));
  $('try-opacity').addEventListener('input', redraw);
  $('try-scale').addEventListener('change', () => { scaleChosen = true; redraw(); });
  $('try-confirm').addEventListener('click', confirmNormal);
  drawLegend($('try-legend'));
}

export async function show() {
  // the admin credential owns no prompt sets and cannot score: say so and how to get a tenant key
  const admin = session.role === 'admin';
  $('try-admin-note').hidden = !admin;
  $('try-form').hidden = admin;
  if (admin) {
    $('try-result').hidden = true;
    return;
  }
  hideError($('try-error'));
  await listSets(sessionStorage.getItem('inctrl.console.try-set') || $('try-set').value);
}

/** The tenant's prompt sets into the picker, keeping `want` selected when it still exists. */
async function listSets(want) {
  const sel = $('try-set');
  try {
    const page = await api('/v1/prompt-sets?pageSize=200');
    listed.clear();
    for (const p of page.items) listed.set(p.id, p);
    clear(sel).append(...page.items.map((p) => h('option', { value: p.id },
      `${p.name} · ${p.category} · K=${p.shotCount}${p.stale ? ' (stale)' : ''}`)));
    if (!page.items.length) {
      sel.append(h('option', { value: '' }, 'No prompt sets: register one first'));
    }
    if (page.items.some((p) => p.id === want)) sel.value = want;
  } catch (x) {
    showError($('try-error'), x);
  }
}

function pick(f) {
  hideError($('try-error'));
  if (!f) return;
  if (!isImage(f)) {
    // still sent if the user insists: the server's decoder has the final word
    showError($('try-error'), `“${f.name}” does not look like a PNG/JPEG/BMP/TIFF image; the server will probably reject it.`);
  }
  file = f;
  $('try-drop').textContent = `Selected: ${f.name}`;
}

function loadImage(f) {
  return new Promise((resolve) => {
    const url = URL.createObjectURL(f);
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => resolve(null); // e.g. TIFF: the browser cannot show it, the map still can
    img.src = url;
  });
}

async function score() {
  hideError($('try-error'));
  const set = $('try-set').value;
  if (!set) { showError($('try-error'), 'Pick a prompt set (register one under Prompt sets first).'); $('try-set').focus(); return; }
  if (!file) { showError($('try-error'), 'Choose the image to score.'); $('try-file').focus(); return; }
  const form = new FormData();
  form.append('image', file, file.name);
  let r;
  try {
    r = await api(`/v1/prompt-sets/${encodeURIComponent(set)}/score`, { method: 'POST', form });
  } catch (x) {
    $('try-result').hidden = true;
    showError($('try-error'), `Scoring “${file.name}” failed. ${describeError(x)}`);
    return;
  }
  image = await loadImage(file);
  last = r;
  lastSet = set;
  render(r);
}

function render(r) {
  $('try-result').hidden = false;
  $('try-score').textContent = fmtNum(r.score);
  const v = $('try-verdict');
  v.className = 'verdict';
  if (r.isAnomalous === null || r.isAnomalous === undefined) {
    v.textContent = 'no threshold';
    v.classList.add('muted');
  } else {
    v.textContent = r.isAnomalous ? 'ANOMALOUS' : 'normal';
    v.classList.add(r.isAnomalous ? 'bad' : 'good');
  }
  $('try-sh').textContent = fmtNum(r.sH);
  $('try-sp').textContent = fmtNum(r.sP);
  $('try-si').textContent = fmtNum(r.sI);
  $('try-sa').textContent = fmtNum(r.sA);
  $('try-threshold').textContent = r.threshold === null ? 'none' : fmtNum(r.threshold);
  $('try-bundle').textContent = r.bundleId;
  $('try-model').textContent = r.model ? `${r.model} version ${r.modelVersion}` : '—';
  // a query can be confirmed once, and only while the server keeps it (it answered with its id)
  hideError($('try-confirm-error'));
  $('try-confirm-status').textContent = '';
  $('try-confirm').disabled = !r.queryId;
  $('try-confirm').title = r.queryId ? '' : 'the server did not keep this query (no query id)';
  const hasThreshold = r.threshold !== null && r.threshold !== undefined && r.threshold > 0;
  $('try-scale').querySelector('option[value=absolute]').disabled = !hasThreshold;
  if (!hasThreshold) $('try-scale').value = 'relative';
  else if (!scaleChosen) $('try-scale').value = 'absolute';
  redraw();
  $('try-result-h').focus();
  announce(`Score ${fmtNum(r.score)}${r.isAnomalous === null ? '' : r.isAnomalous ? ', anomalous' : ', normal'}`);
}

/**
 * Absolute: colours are fixed at [0, 2t] for the set's threshold t (t mid-ramp), so a map of a normal image stays
 * cool; relative: the map's own [min, max], which shows the structure of any map but makes every map glow somewhere.
 */
function scale() {
  if ($('try-scale').value === 'absolute' && last.threshold > 0) {
    return { kind: 'absolute', lo: 0, hi: 2 * last.threshold };
  }
  const [lo, hi] = range(last.map);
  return { kind: 'relative', lo, hi };
}

function redraw() {
  if (!last) return;
  const sc = scale();
  const [lo, hi] = drawOverlay($('try-canvas'), image, last.map, last.mapHeight, last.mapWidth, Number($('try-opacity').value), sc);
  drawLegend($('try-legend'), sc.kind === 'absolute' ? 0.5 : null);
  $('try-legend-min').textContent = fmtNum(lo, 3);
  $('try-legend-max').textContent = fmtNum(hi, 3);
  $('try-legend-note').textContent = sc.kind === 'absolute'
    ? `Absolute scale: the tick in the middle is the set's threshold ${fmtNum(last.threshold, 3)}.`
    : 'Relative scale: this map\'s own minimum to maximum (every map has a hottest spot).';
  const peakValue = Math.max(...last.map);
  const peak = last.map.indexOf(peakValue);
  $('try-map-caption').textContent = `${last.mapHeight}×${last.mapWidth} residual map M (centre crop the model saw); `
    + `peak ${fmtNum(peakValue, 3)} at row ${Math.floor(peak / last.mapWidth)}, column ${peak % last.mapWidth}.`;
  Object.assign($('try-canvas').dataset, { scale: sc.kind, scaleLo: String(lo), scaleHi: String(hi) });
  $('try-canvas').setAttribute('aria-label', `Residual map over ${file?.name || 'the image'}: ${$('try-map-caption').textContent}`);
  $('try-canvas').dataset.drawn = 'true';
}

/** POST /v1/prompt-sets/{id}/shots with the result's queryId: the scored image joins the set as a normal shot. */
async function confirmNormal() {
  if (!last?.queryId || !lastSet) return;
  hideError($('try-confirm-error'));
  const button = $('try-confirm');
  const form = new FormData();
  form.append('queryId', last.queryId);
  let p;
  // not busy(): that restores the enabled state it found, while a confirmed query stays confirmed
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    p = await api(`/v1/prompt-sets/${encodeURIComponent(lastSet)}/shots`, { method: 'POST', form });
  } catch (x) {
    showError($('try-confirm-error'), `Confirming as normal failed. ${describeError(x)}`);
    button.disabled = false;
    return;
  } finally {
    button.removeAttribute('aria-busy');
  }
  recordConfirmed(listed.get(lastSet), p, file?.name ? `${file.name} (confirmed query)` : `query ${last.queryId}`);
  last = { ...last, queryId: null }; // added once: a second press would add the same image again
  $('try-confirm-status').textContent = `Added to “${p.name}” as shot ${p.shotCount - 1}: revision ${p.revision}, `
    + `${p.shotCount} shots. Score again to see the image against the new revision.`;
  announce(`Confirmed as normal: ${p.name} revision ${p.revision}, ${p.shotCount} shots`);
  await listSets($('try-set').value);
}
