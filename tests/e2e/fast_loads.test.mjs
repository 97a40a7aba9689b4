// A course page's script, as embedders write it: open the site with ?backend=webgpu and, as soon
// as `window.flowscope` exists (no waiting for anything else), load every case of the catalog in
// turn. Headless Chromium loses a WebGPU device the moment a frame is presented to a WebGPU
// canvas, so this is also the start-up path where the device goes away: it must never panic the
// module, and every load must get the backend the URL asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, URL_BASE } from './browser.mjs';

const BUILDS = [['single-threaded', URL_BASE]];
if (process.env.FLOWSCOPE_ISOLATED_URL) BUILDS.push(['threaded', process.env.FLOWSCOPE_ISOLATED_URL]);
// Fresh pages per build: the first loads, where the crash struck, on several pages; the whole
// catalog (about a minute a page on SwiftShader) on one: unawaited on the single-threaded
// build, awaited on the threaded one. CI's time budget sets these; FAST_LOAD_PAGES and CATALOG_PAGES raise them.
const FIRST_LOADS_PAGES = Number(process.env.FAST_LOAD_PAGES ?? 3);
const CATALOG_PAGES = Number(process.env.CATALOG_PAGES ?? 1);

/** A fresh page, returned as soon as `window.flowscope` exists; errors collected. */
async function openRaw(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  await page.waitForFunction(() => window.flowscope !== undefined, null, { polling: 'raf', timeout: 60_000 });
  return { page, errors };
}

/** Cases without WebGPU kernels, which run on the CPU backend on any page (the control cases
 * train there). */
const CPU_ONLY = ['sph-playground', 'smdp-toy', 'control-cartpole', 'control-guidance', 'control-quantum'];

/** Each case's parameters here: the learned wake with a short warm-up and its deterministic
 * baseline (one network evaluation a frame: SwiftShader takes about a second for one), so that
 * its 5 steps (rollout frames) take seconds, not minutes; the airfoil samples with one pass of
 * the heteroscedastic UNet; the quantum controller small (its published CNN trains ~0.1 s an
 * update in the page). */
const PARAMS = {
  'acdm-wake': { warmup: 1, model: 'unet' },
  'airfoil-uncertainty': { model: 'heteroscedastic', samples: 4, solver: 'off' },
  'control-quantum': { samples: 8, width: 8 },
};

/** The catalog's ids in gallery order. */
async function catalog(page) {
  return page.$$eval('[data-testid^="case-card-"]', (cards) =>
    cards.map((c) => c.dataset.testid.replace('case-card-', '')));
}

/** Each case in turn, every call awaited (not `ready`: a page script does not wait for it). */
async function sequential({ ids, params }) {
  const f = window.flowscope;
  const seen = [];
  for (const id of ids) {
    await f.load(id, params[id] ?? {});
    await f.step(5);
    const s = f.state();
    const png = f.snapshot();
    seen.push({ id, backend: s.backend, note: s.backendNote, case: s.case, error: s.error ?? null, png: png.startsWith('data:image/png') });
  }
  return seen;
}

/** Each case in turn with nothing awaited between calls, then everything awaited at once. */
async function unawaited({ ids, params }) {
  const f = window.flowscope;
  const pending = [];
  for (const id of ids) {
    pending.push(f.load(id, params[id] ?? {}).then((s) => ({ id, backend: s.backend, note: s.backendNote, case: s.case })));
    pending.push(f.step(5));
  }
  const loads = (await Promise.all(pending)).filter((r) => r && r.id);
  const s = f.state();
  return { loads, last: { backend: s.backend, case: s.case, error: s.error ?? null } };
}

/** Checks what `sequential` saw on page `k`. */
function checkSequence(k, seen) {
  for (const s of seen) {
    const expected = CPU_ONLY.includes(s.id) ? 'cpu' : 'webgpu';
    assert.equal(s.case, s.id, `page ${k}: ${s.id} loaded`);
    assert.equal(s.backend, expected, `page ${k}: ${s.id} ran on ${s.backend} (${s.note}; error: ${s.error})`);
    assert.equal(s.error, null, `page ${k}: ${s.id}: ${s.error}`);
    assert.ok(s.png, `page ${k}: ${s.id} gave a PNG snapshot`);
  }
}

for (const [build, url] of BUILDS) {
  test(`${build} build: the first two loads on WebGPU, the moment the API exists (${FIRST_LOADS_PAGES} fresh pages)`, async () => {
    const browser = await launch({ webgpu: true });
    try {
      for (let k = 0; k < FIRST_LOADS_PAGES; k++) {
        const { page, errors } = await openRaw(browser, `${url}?backend=webgpu`);
        const ids = (await catalog(page)).slice(0, 2);
        assert.deepEqual(ids, ['heat', 'smoke-plume'], 'the catalog starts where the crash struck');
        checkSequence(k, await page.evaluate(sequential, { ids, params: PARAMS }));
        assert.equal(await page.locator('#fatal').isHidden(), true, `page ${k}: no fatal overlay`);
        assert.deepEqual(errors, [], `page ${k}: console errors`);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });

  // The single-threaded build's awaited WebGPU catalog is app.test.mjs's "webgpu mode".
  if (build === 'threaded') test(`${build} build: the whole catalog in quick succession on WebGPU, awaited (${CATALOG_PAGES} fresh pages)`, async () => {
    const browser = await launch({ webgpu: true });
    try {
      for (let k = 0; k < CATALOG_PAGES; k++) {
        const { page, errors } = await openRaw(browser, `${url}?backend=webgpu`);
        // Read the ids from the markup: it exists as soon as the app is mounted.
        const ids = await catalog(page);
        assert.ok(ids.length >= 12, `the gallery lists the catalog (${ids.length})`);
        checkSequence(k, await page.evaluate(sequential, { ids, params: PARAMS }));
        assert.equal(await page.locator('#fatal').isHidden(), true, `page ${k}: no fatal overlay`);
        assert.deepEqual(errors, [], `page ${k}: console errors`);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });

  // Unawaited on the single-threaded build (what a page without isolation gets), awaited on
  // the threaded one: the test command's time allows one whole-catalog run per build.
  if (build === 'single-threaded') test(`${build} build: the whole catalog fired without awaiting the previous load`, async () => {
    const browser = await launch({ webgpu: true });
    try {
      for (let k = 0; k < Math.max(1, CATALOG_PAGES / 2); k++) {
        const { page, errors } = await openRaw(browser, `${url}?backend=webgpu`);
        const ids = await catalog(page);
        const { loads, last } = await page.evaluate(unawaited, { ids, params: PARAMS });
        assert.deepEqual(loads.map((l) => l.id), ids, `page ${k}: every load answered, in order`);
        for (const l of loads) {
          const expected = CPU_ONLY.includes(l.id) ? 'cpu' : 'webgpu';
          assert.equal(l.backend, expected, `page ${k}: ${l.id} ran on ${l.backend} (${l.note})`);
          assert.equal(l.case, l.id, `page ${k}: the state answering load('${l.id}') is its own`);
        }
        assert.equal(last.case, ids.at(-1));
        assert.equal(last.error, null);
        assert.equal(await page.locator('#fatal').isHidden(), true, `page ${k}: no fatal overlay`);
        assert.deepEqual(errors, [], `page ${k}: console errors`);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
}

test('a device lost while the page script is loading cases: no panic, the same backend after', async () => {
  const browser = await launch({ webgpu: true });
  try {
    const { page, errors } = await openRaw(browser, `${URL_BASE}?backend=webgpu&display=readback`);
    const result = await page.evaluate(async () => {
      const f = window.flowscope;
      await f.ready;
      await f.load('heat', {});
      // Lost now, and used at once: the loss is reported asynchronously by the browser, so the
      // next load meets the lost device before anything has noticed.
      f.__test_lose_device();
      const first = await f.load('smoke-plume', { n: 64 });
      const second = await f.load('lid-cavity', { n: 64 });
      await f.step(5);
      return { first: first.backend, second: second.backend, state: f.state() };
    });
    assert.equal(result.second, 'webgpu', 'recovered on a fresh WebGPU device');
    assert.equal(result.state.backend, 'webgpu');
    assert.equal(result.state.case, 'lid-cavity');
    assert.equal(result.state.error ?? null, null);
    assert.ok(result.state.step >= 5);
    assert.match(await page.getByTestId('gpu-status').innerText(), /lost/);
    assert.equal(await page.locator('#fatal').isHidden(), true, 'no fatal overlay');
    assert.deepEqual(errors.filter((e) => !/lost|destroyed/i.test(e)), []);
  } finally {
    await browser.close();
  }
});

test('a device lost while a learned case downloads its model: it starts on a fresh device', async () => {
  const browser = await launch({ webgpu: true });
  try {
    const { page, errors } = await openRaw(browser, `${URL_BASE}?backend=webgpu&display=readback`);
    // The model file arrives a second late, so the loss lands mid-download.
    await page.route('**/models/smdp-heat.safetensors', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await route.continue();
    });
    const result = await page.evaluate(async () => {
      const f = window.flowscope;
      await f.ready;
      const loading = f.load('smdp-heat', {});
      await new Promise((resolve) => setTimeout(resolve, 200));
      f.__test_lose_device();
      const loaded = await loading;
      await f.step(2);
      return { loaded: loaded.backend, state: f.state() };
    });
    assert.equal(result.state.case, 'smdp-heat');
    assert.equal(result.state.backend, 'webgpu', 'recovered on a fresh WebGPU device');
    assert.equal(result.state.error ?? null, null);
    assert.ok(result.state.step >= 2, `step ${result.state.step}`);
    assert.match(await page.getByTestId('gpu-status').innerText(), /lost/);
    assert.equal(await page.locator('#fatal').isHidden(), true, 'no fatal overlay');
    assert.deepEqual(errors.filter((e) => !/lost|destroyed/i.test(e)), []);
  } finally {
    await browser.close();
  }
});
