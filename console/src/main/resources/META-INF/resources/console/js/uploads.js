// Drop zones that also work from the keyboard (Enter/Space open the file picker) and file thumbnails.

import { h } from './dom.js';

const IMAGE = /^image\/(png|jpeg|bmp|tiff|x-ms-bmp)$/;
const EXT = /\.(png|jpe?g|bmp|tiff?)$/i;

export function isImage(file) {
  return IMAGE.test(file.type) || EXT.test(file.name);
}

/** Wires `zone` to `input` (type=file); onFiles receives the dropped or picked File list. */
export function dropZone(zone, input, onFiles) {
  const open = () => input.click();
  zone.addEventListener('click', open);
  zone.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); }
  });
  for (const ev of ['dragenter', 'dragover']) {
    zone.addEventListener(ev, (e) => { e.preventDefault(); zone.classList.add('over'); });
  }
  for (const ev of ['dragleave', 'drop']) {
    zone.addEventListener(ev, () => zone.classList.remove('over'));
  }
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    onFiles([...e.dataTransfer.files]);
  });
  input.addEventListener('change', () => {
    onFiles([...input.files]);
  });
}

export function fmtBytes(n) {
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
}

/** A thumbnail list item; the object URL is revoked when the item is removed through `onRemove`. */
export function thumb(file, index, onRemove) {
  const url = URL.createObjectURL(file);
  const img = h('img', { src: url, alt: `Shot ${index}: ${file.name}`, loading: 'lazy' });
  // the browser cannot show it (TIFF, or not an image at all): a placeholder instead of a broken icon
  img.addEventListener('error', () => img.replaceWith(h('span', { class: 'thumb-missing', role: 'img', 'aria-label': `Shot ${index}: ${file.name}, no preview` }, 'no preview')));
  return h('li', { class: 'thumb' }, img,
    h('span', { class: 'thumb-name', title: file.name }, `${index} · ${file.name}`),
    h('span', { class: 'thumb-size' }, fmtBytes(file.size)),
    h('button', {
      type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': `Remove ${file.name}`,
      onclick: () => { URL.revokeObjectURL(url); onRemove(); },
    }, '✕'));
}
