#!/usr/bin/env node
// Reference activations of nsfwjs@4.4.0's own TF.js InceptionV3 for the exporter's parity test.
// Usage: node activations.js IN.f32 N SIZE LAYERS OUT_PREFIX [backend]
//   IN.f32: N images, float32 little-endian NHWC [N,SIZE,SIZE,3], already preprocessed (the port sees the same)
//   LAYERS: comma-separated Keras layer names (e.g. mixed0,mixed2,mixed5)
//   writes OUT_PREFIX.json ({backend, layers: [{name, shape, offset}]}) and OUT_PREFIX.f32 (NHWC activations)
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

// The .min.js files are browserify UMD bundles inside an ESM package: evaluate them as CommonJS by hand.
function loadUmd(file) {
  const mod = { exports: {} };
  new Function('module', 'exports', 'define', fs.readFileSync(file, 'utf8'))(mod, mod.exports, undefined);
  return mod.exports;
}

async function main() {
  const [input, nArg, sizeArg, layerArg, outPrefix, backendArg] = process.argv.slice(2);
  if (!outPrefix) throw new Error('usage: node activations.js IN.f32 N SIZE LAYERS OUT_PREFIX [wasm|cpu]');
  const backend = backendArg || 'wasm';
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(backend);
  await tf.ready();

  const dir = path.join(__dirname, 'node_modules/nsfwjs/dist/models/inception_v3');
  const json = loadUmd(path.join(dir, 'model.min.js'));
  const group = json.weightsManifest[0];
  const bytes = Buffer.concat(group.paths.map(p => Buffer.from(loadUmd(path.join(dir, p + '.min.js')), 'base64')));
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: group.weights, weightData }));

  const names = layerArg.split(',');
  const tapped = tf.model({ inputs: model.inputs, outputs: names.map(n => model.getLayer(n).output) });
  const n = Number(nArg), size = Number(sizeArg);
  const raw = fs.readFileSync(input);
  const pixels = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  if (pixels.length !== n * size * size * 3) throw new Error(`input has ${pixels.length} floats, expected ${n}x${size}x${size}x3`);

  const perLayer = names.map(() => []);
  const shapes = [];
  for (let i = 0; i < n; i++) {  // one image at a time: bounded memory
    const x = tf.tensor4d(pixels.subarray(i * size * size * 3, (i + 1) * size * size * 3), [1, size, size, 3]);
    let outs = tapped.predict(x);
    if (!Array.isArray(outs)) outs = [outs];
    outs.forEach((t, j) => { perLayer[j].push(t.dataSync().slice()); shapes[j] = t.shape.slice(1); t.dispose(); });
    x.dispose();
  }
  const layers = [];
  const chunks = [];
  let offset = 0;
  names.forEach((name, j) => {
    layers.push({ name, shape: [n, ...shapes[j]], offset });
    for (const a of perLayer[j]) { chunks.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength)); offset += a.length; }
  });
  fs.writeFileSync(outPrefix + '.f32', Buffer.concat(chunks));
  fs.writeFileSync(outPrefix + '.json', JSON.stringify({ backend: tf.getBackend(), tfjs: tf.version.tfjs, layers }, null, 1));
}

main().catch(e => { console.error(e && e.stack || e); process.exit(1); });
