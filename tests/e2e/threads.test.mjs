// The threaded build: a cross-origin isolated page (COOP + COEP, as `cargo xtask serve` and
// FLOWSCOPE_ISOLATED_URL send) loads pkg-threads/ and spreads the CPU backend's loops over Web
// Workers; every other page loads the single-threaded pkg/. Both must compute the same numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, URL_BASE } from './browser.mjs';

const ISOLATED = process.env.FLOWSCOPE_ISOLATED_URL;
assert.ok(ISOLATED, 'FLOWSCOPE_ISOLATED_URL is set by cargo xtask test');

async function open(browser, url, threads) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  // Workers join the pool as they come up.
  await page.waitForFunction((threads) => window.flowscope?.state().backend
    && window.flowscope.state().threads === threads, threads, { timeout: 60_000 });
  await page.evaluate(() => window.flowscope.pause());
  return { page, errors };
}

/** The observables after `steps` steps of a case on the CPU backend. */
async function run(page, id, params, steps) {
  return page.evaluate(async ({ id, params, steps }) => {
    await window.flowscope.load(id, params);
    await window.flowscope.step(steps);
    return window.flowscope.observables();
  }, { id, params, steps });
}

/** The fixture UNet's output on its fixture inputs, on the CPU backend. */
async function network(page) {
  const fixtures = new URL('../fixtures/nn/models/', import.meta.url);
  const model = readFileSync(new URL('unet_small.safetensors', fixtures)).toString('base64');
  return page.evaluate(async (model) => {
    const bytes = Uint8Array.from(atob(model), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes]));
    const m = await window.flowscope.nn.load(url);
    const shape = [2, m.config.in_channels, 16, 32];
    const n = shape.reduce((a, b) => a * b, 1);
    const x = Float32Array.from({ length: n }, (_, k) => Math.sin(k * 0.37));
    const cond = Float32Array.from({ length: (n / shape[1]) * m.config.cond_channels }, (_, k) => Math.cos(k * 0.11));
    return Array.from(await m.run(x, shape, { t: 7, cond, backend: 'cpu' }));
  }, model);
}

test('an isolated page runs the threaded build, and it computes what one thread computes', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const threaded = await open(browser, `${ISOLATED}?backend=cpu&threads=3`, 3);
    const single = await open(browser, `${URL_BASE}?backend=cpu`, 1);
    assert.equal(await threaded.page.evaluate(() => self.crossOriginIsolated), true);
    assert.equal(await single.page.evaluate(() => self.crossOriginIsolated), false);
    const cases = [
      ['smoke-plume', { n: 64 }, 20],          // grid: parallel rows, transports side by side
      ['dam-break', {}, 30],                   // SPH: per-particle loops
      ['cylinder-wake', { n: 64 }, 10],        // grid with an obstacle
    ];
    for (const [id, params, steps] of cases) {
      const a = await run(threaded.page, id, params, steps);
      const b = await run(single.page, id, params, steps);
      assert.ok(a.step.length > 0 && a.step.at(-1) === steps, `${id} ran ${steps} steps`);
      assert.deepEqual(a, b, `${id}: the threaded build's observables equal the single-threaded build's`);
    }
    const [ya, yb] = [await network(threaded.page), await network(single.page)];
    assert.ok(ya.length > 0 && ya.every(Number.isFinite));
    assert.deepEqual(ya, yb, 'the network computes bit for bit the same on 3 threads and on 1');
    assert.deepEqual(threaded.errors, []);
    assert.deepEqual(single.errors, []);
    assert.equal(await threaded.page.locator('#fatal').isHidden(), true);
  } finally {
    await browser.close();
  }
});

test('the threaded build draws and runs WebGPU cases', async () => {
  const browser = await launch({ webgpu: true });
  try {
    const { page, errors } = await open(browser, `${ISOLATED}?backend=webgpu&display=readback&threads=2`, 2);
    const state = await page.evaluate(async () => {
      await window.flowscope.load('smoke-plume', { n: 64 });
      return window.flowscope.step(10);
    });
    assert.equal(state.backend, 'webgpu');
    assert.equal(state.step, 10);
    assert.equal(state.error, undefined);
    // The CPU backend's canvas path copies pixels out of the shared memory.
    const cpu = await open(browser, `${ISOLATED}?backend=cpu&threads=2`, 2);
    await cpu.page.evaluate(() => window.flowscope.step(5));
    await cpu.page.waitForTimeout(500);
    assert.equal((await cpu.page.evaluate(() => window.flowscope.state())).error, undefined);
    assert.deepEqual([...errors, ...cpu.errors], []);
  } finally {
    await browser.close();
  }
});

test('threads= in the link: 1 loads the single-threaded build, bad values get a notice', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const one = await open(browser, `${ISOLATED}?backend=cpu&threads=1`, 1);
    const script = await one.page.evaluate(() => performance.getEntriesByType('resource')
      .map((r) => new URL(r.name).pathname).filter((p) => p.endsWith('.wasm')));
    assert.deepEqual(script.map((p) => p.split('/').at(-2)), ['pkg']);
    const bad = await open(browser, `${ISOLATED}?backend=cpu&threads=lots`, 2);
    assert.match(await bad.page.getByTestId('url-notice').innerText(), /threads=lots is not a thread count/);
    const plain = await open(browser, `${URL_BASE}?backend=cpu&threads=4`, 1);
    assert.match(await plain.page.getByTestId('url-notice').innerText(), /needs a cross-origin isolated page/);
    assert.deepEqual([...one.errors, ...bad.errors, ...plain.errors], []);
  } finally {
    await browser.close();
  }
});
