// Tiny DOM helpers. Server data only ever reaches the page as text nodes or attribute values (never innerHTML).

import { describeError } from './api.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** h('button', {class: 'btn', onclick}, 'Save') */
export function h(tag, attrs, ...children) {
  return append(apply(document.createElement(tag), attrs), children);
}

export function s(tag, attrs, ...children) {
  return append(apply(document.createElementNS(SVG_NS, tag), attrs), children);
}

export const $ = (id) => document.getElementById(id);

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** Polite screen-reader announcement (and the tests' hook for async completions). */
export function announce(msg) {
  const st = $('status');
  st.textContent = '';
  // a fresh text node after a tick so repeated messages are announced again
  setTimeout(() => { st.textContent = msg; }, 30);
}

/** Shows an error (an ApiError, an Error or a string) in a role=alert element. */
export function showError(el, err) {
  el.textContent = typeof err === 'string' ? err : describeError(err);
  el.hidden = false;
}

export function hideError(...els) {
  for (const el of els) { el.hidden = true; el.textContent = ''; }
}

/** Marks a field invalid with a message tied to it through aria-describedby. */
export function fieldError(input, errEl, msg) {
  if (msg) {
    input.setAttribute('aria-invalid', 'true');
    errEl.textContent = msg;
    errEl.hidden = false;
  } else {
    input.removeAttribute('aria-invalid');
    errEl.textContent = '';
    errEl.hidden = true;
  }
  return !msg;
}

/** Disables a button while a promise runs; marks the region busy. */
export async function busy(button, work) {
  const was = button.disabled;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = was;
    button.removeAttribute('aria-busy');
  }
}

/** Modal confirmation in the page's <dialog>; resolves true on Confirm. */
export function confirmDialog(text, okLabel = 'Confirm') {
  const dlg = $('confirm');
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  return new Promise((resolve) => {
    const done = (v) => () => { dlg.close(); cleanup(); resolve(v); };
    const ok = done(true);
    const cancel = done(false);
    const onCancel = () => { cleanup(); resolve(false); };
    const cleanup = () => {
      $('confirm-ok').removeEventListener('click', ok);
      $('confirm-cancel').removeEventListener('click', cancel);
      dlg.removeEventListener('cancel', onCancel);
    };
    $('confirm-ok').addEventListener('click', ok);
    $('confirm-cancel').addEventListener('click', cancel);
    dlg.addEventListener('cancel', onCancel);
    dlg.showModal();
  });
}

export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

export function fmtNum(v, digits = 4) {
  return v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toFixed(digits);
}

/** Lines of a textarea, trimmed, blank lines dropped. */
export function lines(text) {
  return text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
}
