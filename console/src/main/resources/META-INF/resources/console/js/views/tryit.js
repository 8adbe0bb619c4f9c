// Try it: score one image against a prompt set; score, verdict, s_h/s_p/s_i/s_a, residual map overlay.

import { api, describeError } from '../api.js';
import { $, announce, busy, clear, fmtNum, h, hideError, showError } from '../dom.js';
import { drawLegend, drawOverlay } from '../heatmap.js';
import { dropZone, isImage } from '../uploads.js';

let file = null;
let image = null;
let last = null;

export function init() {
  $('try-form').addEventListener('submit', (e) => { e.preventDefault(); busy($('try-submit'), score); });
  // the visible file input is the keyboard path; the zone is an extra drop target that opens the same picker
  dropZone($('try-drop'), $('try-file'), (fs) => pick(fs[0]));
  $('try-opacity').addEventListener('input', redraw);
  drawLegend($('try-legend'));
}

export async function show() {
  const sel = $('try-set');
  const want = sessionStorage.getItem('inctrl.console.try-set') || sel.value;
  hideError($('try-error'));
  try {
    const page = await api('/v1/prompt-sets?pageSize=200');
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
  redraw();
  $('try-result-h').focus();
  announce(`Score ${fmtNum(r.score)}${r.isAnomalous === null ? '' : r.isAnomalous ? ', anomalous' : ', normal'}`);
}

function redraw() {
  if (!last) return;
  const [lo, hi] = drawOverlay($('try-canvas'), image, last.map, last.mapHeight, last.mapWidth, Number($('try-opacity').value));
  $('try-legend-min').textContent = fmtNum(lo, 3);
  $('try-legend-max').textContent = fmtNum(hi, 3);
  const peak = last.map.indexOf(Math.max(...last.map));
  $('try-map-caption').textContent = `${last.mapHeight}×${last.mapWidth} residual map M (centre crop the model saw); `
    + `peak ${fmtNum(hi, 3)} at row ${Math.floor(peak / last.mapWidth)}, column ${peak % last.mapWidth}.`;
  $('try-canvas').setAttribute('aria-label', `Residual map over ${file?.name || 'the image'}: ${$('try-map-caption').textContent}`);
  $('try-canvas').dataset.drawn = 'true';
}
