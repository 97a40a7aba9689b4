// The networks in the browser (window.flowscope.nn): a model under models/ loads with a progress
// bar, is checked against models/manifest.json, and computes what PyTorch computed (the parity
// fixtures of tests/fixtures/nn) on the CPU and on WebGPU. The model files and the manifest are
// served through request interception, so the site itself ships none for this.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { launch, openApp } from './browser.mjs';

const FIXTURES = new URL('../fixtures/nn/models/', import.meta.url);
const model = readFileSync(new URL('unet_small.safetensors', FIXTURES));
const io = readSafetensors(readFileSync(new URL('unet_small.io.safetensors', FIXTURES)));

/** {name: {shape, data: number[]}} of an f32 safetensors file, and its metadata. */
function readSafetensors(bytes) {
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8'));
  const tensors = { metadata: header.__metadata__ ?? {} };
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [start, end] = info.data_offsets;
    const raw = bytes.subarray(8 + length + start, 8 + length + end);
    const data = [];
    for (let k = 0; k < raw.length; k += 4) data.push(raw.readFloatLE(k));
    tensors[name] = { shape: info.shape, data, dtype: info.dtype };
  }
  return tensors;
}

const weights = readSafetensors(model);
const parameters = Object.entries(weights)
  .filter(([name]) => name !== 'metadata')
  .reduce((sum, [, t]) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
const entry = (file) => ({
  file, bytes: model.length, sha256: createHash('sha256').update(model).digest('hex'),
  config: JSON.parse(weights.metadata.config), parameters,
});
const tampered = Buffer.from(model);
tampered[tampered.length - 3] ^= 0x40;
const served = {
  'unet_small.safetensors': model,
  'truncated.safetensors': model.subarray(0, model.length >> 1),
  'tampered.safetensors': tampered,
  'unlisted.safetensors': model,
};
const manifest = { models: ['unet_small.safetensors', 'truncated.safetensors', 'tampered.safetensors'].map(entry) };

async function openWithModels(browser, path) {
  const { page, errors } = await openApp(browser, path);
  await page.route('**/models/**', (route) => {
    const file = new URL(route.request().url()).pathname.split('/models/')[1];
    if (file === 'manifest.json') return route.fulfill({ json: manifest });
    if (served[file]) return route.fulfill({ body: served[file], contentType: 'application/octet-stream' });
    return route.fulfill({ status: 404, body: 'not found' });
  });
  // Records whether the download bar was ever on the page.
  await page.evaluate(() => {
    window.__sawDownloadBar = false;
    new MutationObserver(() => {
      if (document.querySelector('[data-testid="model-download"] progress')) window.__sawDownloadBar = true;
    }).observe(document.body, { childList: true, subtree: true });
  });
  return { page, errors };
}

/** Runs the fixture UNet on its fixture inputs; returns max |ours − PyTorch| / max |PyTorch|. */
async function fixtureDeviation(page, backend) {
  return page.evaluate(async ({ io, backend }) => {
    const m = await window.flowscope.nn.load('models/unet_small.safetensors');
    const y = await m.run(new Float32Array(io.x.data), io.x.shape, {
      t: io.t.data, cond: new Float32Array(io.cond.data), backend,
    });
    if (y.length !== io.y.data.length) throw new Error(`output length ${y.length}`);
    let diff = 0, scale = 0;
    for (let k = 0; k < y.length; k++) {
      diff = Math.max(diff, Math.abs(y[k] - io.y.data[k]));
      scale = Math.max(scale, Math.abs(io.y.data[k]));
    }
    return { rel: diff / scale, parameters: m.parameters, family: m.config.family };
  }, { io, backend });
}

test('a model loads lazily with a progress bar and matches PyTorch on the CPU', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openWithModels(browser, '?backend=cpu');
    const result = await fixtureDeviation(page, 'cpu');
    assert.equal(result.family, 'unet');
    assert.equal(result.parameters, parameters);
    assert.ok(result.rel <= 1e-4, `relative deviation from PyTorch ${result.rel}`);
    assert.equal(await page.evaluate(() => window.__sawDownloadBar), true, 'the download bar showed');
    assert.equal(await page.getByTestId('model-download').count(), 0, 'the bar is gone once loaded');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a truncated, tampered or unlisted model file is refused with a clear message', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page } = await openWithModels(browser, '?backend=cpu');
    const refusal = (url) => page.evaluate(
      (url) => window.flowscope.nn.load(url).then(() => 'loaded', (e) => e.message), url);
    assert.match(await refusal('models/truncated.safetensors'), /bytes.*manifest says.*truncated/);
    assert.match(await refusal('models/tampered.safetensors'), /sha256 .* differs from the manifest/);
    assert.match(await refusal('models/unlisted.safetensors'), /not listed in models\/manifest\.json/);
    assert.match(await refusal('models/missing.safetensors'), /HTTP 404/);
    assert.match(await refusal(42), /url must be a string/);
    const badShape = await page.evaluate(async () => {
      const m = await window.flowscope.nn.load('models/unet_small.safetensors');
      return m.run(new Float32Array(10), [1, 2, 16, 16], { t: 1, cond: new Float32Array(256) })
        .then(() => 'ran', (e) => e.message);
    });
    assert.match(badShape, /x: .*512/);
    assert.ok(await page.evaluate(() => window.flowscope.state().backend === 'cpu'), 'the app still runs');
  } finally {
    await browser.close();
  }
});

test('the same model on WebGPU matches PyTorch', async () => {
  const browser = await launch({ webgpu: true });
  try {
    // Read-back display, as the benchmarks use: headless SwiftShader's presentation can lose the
    // device now and then, and a model run caught in the replacement fails (with a message).
    const { page, errors } = await openWithModels(browser, '?backend=webgpu&display=readback');
    assert.equal(await page.evaluate(() => window.flowscope.state().backend), 'webgpu');
    const result = await fixtureDeviation(page, 'webgpu');
    assert.ok(result.rel <= 1e-4, `relative deviation from PyTorch ${result.rel}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
