// Soak: play every case of the catalog in turn, on the CPU backend and on WebGPU, with random
// parameter changes (in and out of range) while it runs, and watch the page's memory: the
// module's (WebAssembly memory only grows) and the JS heap, sampled after every case. After
// a first pass over the catalog (the warm-up: every case's buffers and kernels made once) the
// memory must stay within a stated bound, and the console must stay clean. SOAK_SECONDS sets
// the length (1 minute in the test command, `cargo xtask soak` for longer); the samples go to
// E2E_OUT/soak-<backend>.csv. The short soak runs SwiftShader on small grids; the long one at
// every case's defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { launch, URL_BASE, OUT } from './browser.mjs';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
/** Growth allowed after the warm-up: the module's memory, and the JS heap. */
const WASM_GROWTH = 64 << 20;
const HEAP_GROWTH = 32 << 20;

/** A small deterministic generator (mulberry32), so a failing run can be repeated. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A learned case's default batch takes minutes on SwiftShader: one-pass models. */
const START = {
  'acdm-wake': { warmup: 1, model: 'unet' },
  'airfoil-uncertainty': { model: 'heteroscedastic', samples: 4, solver: 'off' },
};
/** The short soak on SwiftShader (a second a grid step at the defaults): small grids. */
const SMALL = {
  'smoke-plume': { n: 32 }, 'lid-cavity': { n: 16 }, 'taylor-green': { n: 16 }, 'backward-step': { n: 16 },
  'cylinder-wake': { n: 16 }, airfoil: { n: 32 }, 'sod-shock-tube': { n: 200 },
};

async function soak(backend, seconds, seed) {
  const small = backend === 'webgpu' && seconds < 300;
  const browser = await launch({ webgpu: backend === 'webgpu' });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(`${URL_BASE}?backend=${backend}`);
    await page.waitForFunction(() => window.flowscope !== undefined, null, { timeout: 60_000 });
    await page.evaluate(() => window.flowscope.ready);
    const ids = await page.$$eval('[data-testid^="case-card-"]', (cards) =>
      cards.map((c) => c.dataset.testid.replace('case-card-', '')));
    const next = random(seed);
    const samples = [];
    const deadline = Date.now() + seconds * 1000;
    let warm = null;
    // Two passes at least: the first warms up, the second is measured against it.
    for (let k = 0; Date.now() < deadline || k < 2 * ids.length; k++) {
      const id = ids[k % ids.length];
      const sample = await page.evaluate(async ({ id, picks, start }) => {
        const f = window.flowscope;
        const outcome = { id, refused: 0 };
        await f.load(id, start);
        f.play();
        const params = Object.entries(f.state().params).filter(([, v]) => typeof v === 'number');
        for (const pick of picks) {
          if (params.length === 0) break;
          const [name, value] = params[Math.floor(pick.which * params.length)];
          // Sizes stay at their defaults (the budget test covers them).
          if (['n', 'samples', 'particles', 'warmup', 'steps'].includes(name)) continue;
          // Halve to double, sometimes far out of range (which the API refuses).
          const factor = pick.wild ? 1e6 : 0.5 + 1.5 * pick.amount;
          try {
            await f.set(name, Number.isInteger(value) ? Math.round(value * factor) : value * factor);
          } catch {
            outcome.refused += 1;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        f.pause();
        await f.step(3).catch(() => {});
        const s = f.state();
        outcome.error = s.error ?? null;
        outcome.wasm = s.memoryBytes;
        outcome.heap = performance.memory?.usedJSHeapSize ?? 0;
        return outcome;
      }, { id, start: START[id] ?? (small ? SMALL[id] : undefined) ?? {},
        picks: Array.from({ length: 4 }, () => ({ which: next(), amount: next(), wild: next() < 0.2 })) });
      sample.seconds = (seconds * 1000 - (deadline - Date.now())) / 1000;
      samples.push(sample);
      if (k === ids.length - 1) warm = sample;
      // A diverging case pauses with its reason: allowed (random settings), but it must say so.
      if (sample.error) assert.match(sample.error, /diverged|budget|refused|out of range/, `${id}: ${sample.error}`);
    }
    const csv = ['seconds,case,wasm_bytes,heap_bytes,refused,error',
      ...samples.map((s) => [s.seconds.toFixed(1), s.id, s.wasm, s.heap, s.refused, JSON.stringify(s.error ?? '')].join(','))];
    writeFileSync(`${OUT}/soak-${backend}.csv`, `${csv.join('\n')}\n`);
    const last = samples.at(-1);
    assert.ok(last.wasm - warm.wasm <= WASM_GROWTH,
      `${backend}: the module's memory grew from ${warm.wasm} to ${last.wasm} bytes after the warm-up`);
    assert.ok(last.heap - warm.heap <= HEAP_GROWTH,
      `${backend}: the JS heap grew from ${warm.heap} to ${last.heap} bytes after the warm-up`);
    assert.deepEqual(errors, [], `${backend}: console errors`);
    assert.equal(await page.locator('#fatal').isHidden(), true);
    return samples.length;
  } finally {
    await browser.close();
  }
}

for (const [backend, seed] of [['cpu', 1], ['webgpu', 2]]) {
  test(`soak on ${backend}: every case played with random parameter changes, memory bounded`, async () => {
    const cases = await soak(backend, SECONDS / 2, seed);
    assert.ok(cases >= 16, `${cases} cases played`);
  });
}
