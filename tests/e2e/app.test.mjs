// The playground end to end, in both backends: WebGPU (SwiftShader) and the CPU fallback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import {
  launch, openApp, canvasPixels, differingPixels, distinctColours, decodePng, matchingFraction, OUT,
} from './browser.mjs';

// Headless Chromium's SwiftShader computes with WebGPU but loses the device as soon as a frame
// is presented to a WebGPU canvas (plain JS does the same), so the WebGPU run displays through
// read-back (`?display=readback`); the automatic switch is tested on its own below.
// The canvas once `ok` holds for it, or after 15 s (frames reach the screen a little after a
// step resolves, through read-back on the GPU backend).
async function settledPicture(page, ok) {
  const until = Date.now() + 15_000;
  for (;;) {
    await page.waitForTimeout(300);
    const png = await canvasPixels(page);
    if (ok(png) || Date.now() > until) return png;
  }
}

for (const mode of ['webgpu', 'cpu']) {
  test(`${mode} mode`, async (t) => {
    const browser = await launch({ webgpu: mode === 'webgpu' });
    t.after(() => browser.close());
    const { page, errors } = await openApp(browser, mode === 'webgpu' ? '?backend=webgpu&display=readback' : '');

    await t.test('loads, lists the heat case and shows the expected backend', async () => {
      assert.equal(await page.locator('#fatal').isHidden(), true, 'no fatal overlay');
      assert.match(await page.getByTestId('case-card-heat').innerText(), /Heat equation/);
      const badge = await page.getByTestId('backend-badge').innerText();
      assert.equal(badge, mode === 'webgpu' ? 'WebGPU' : 'CPU');
      if (mode === 'cpu') {
        const note = await page.getByTestId('gpu-status').innerText();
        assert.match(note, /WebGPU|adapter/, 'the fallback says why');
      }
      const state = await page.evaluate(() => window.flowscope.state());
      assert.equal(state.backend, mode);
      assert.equal(state.display, mode === 'webgpu' ? 'readback' : 'canvas2d');
      assert.equal(state.case, 'heat');
    });

    if (mode === 'cpu') {
      await t.test('one card looks selected: the card under the pointer does not wear the active look', async () => {
        await page.getByTestId('case-card-lid-cavity').hover();
        const look = (id) => page.getByTestId(`case-card-${id}`).evaluate((card) => {
          const s = getComputedStyle(card);
          return `${s.borderTopColor} ${s.boxShadow}`;
        });
        const [active, hovered, plain] = [await look('heat'), await look('lid-cavity'), await look('taylor-green')];
        assert.notEqual(hovered, active, 'hovered and running cards look different');
        assert.notEqual(hovered, plain, 'the hovered card still shows the pointer is on it');
        await page.mouse.move(0, 0);
      });
    }

    await t.test('stepping changes the canvas, which is not blank', async () => {
      await page.evaluate(() => window.flowscope.pause());
      await page.waitForTimeout(200);
      const before = await canvasPixels(page);
      assert.ok(distinctColours(before) > 20, `canvas looks blank (${distinctColours(before)} colours)`);
      const state = await page.evaluate(() => window.flowscope.step(200));
      assert.ok(state.step >= 200, `step count ${state.step}`);
      assert.equal(state.backend, mode, 'still on the same backend');
      await page.waitForTimeout(300);
      const after = await canvasPixels(page);
      const changed = differingPixels(before, after);
      assert.ok(changed > 1000, `only ${changed} pixels changed after 200 steps`);
      await page.screenshot({ path: `${OUT}/heat-${mode}.png`, fullPage: true });
    });

    if (mode === 'webgpu') {
      await t.test('the backend switch moves the case to the CPU and back', async () => {
        await page.getByTestId('backend-switch').selectOption('cpu');
        await page.waitForFunction(() => window.flowscope.state().backend === 'cpu');
        assert.match(await page.getByTestId('ms-per-step').innerText(), /ms\/step \(CPU\)/);
        await page.getByTestId('backend-switch').selectOption('webgpu');
        await page.waitForFunction(() => window.flowscope.state().backend === 'webgpu');
      });
    } else {
      await t.test('without WebGPU there is no backend switch', async () => {
        assert.equal(await page.getByTestId('backend-switch').count(), 0);
      });
    }

    await t.test('the step button advances by one step', async () => {
      const before = (await page.evaluate(() => window.flowscope.state())).step;
      await page.getByTestId('btn-step').click();
      await page.waitForFunction((s) => window.flowscope.state().step === s + 1, before);
    });

    await t.test('painting with the pointer adds heat', async () => {
      await page.evaluate(() => window.flowscope.load('heat', { initial: 'cold', n: 64 }));
      await page.evaluate(() => window.flowscope.pause());
      await page.waitForTimeout(200);
      const cold = await canvasPixels(page);
      const box = await page.getByTestId('viewport-canvas').boundingBox();
      await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 8 });
      await page.mouse.up();
      await page.evaluate(() => window.flowscope.step(1));
      await page.waitForTimeout(300);
      const painted = await canvasPixels(page);
      assert.ok(differingPixels(cold, painted) > 500, 'painting changed the picture');
    });

    await t.test('pouring with the pointer adds water to the SPH playground', async () => {
      await page.evaluate(() => window.flowscope.load('sph-playground', { fill: 0 }));
      await page.evaluate(() => window.flowscope.pause());
      await page.waitForTimeout(200);
      const empty = await canvasPixels(page);
      const box = await page.getByTestId('viewport-canvas').boundingBox();
      await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.4);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.5, { steps: 8 });
      await page.mouse.up();
      await page.evaluate(() => window.flowscope.step(1));
      await page.waitForTimeout(300);
      const poured = await canvasPixels(page);
      assert.ok(differingPixels(empty, poured) > 500, 'pouring put water in the picture');
      await page.evaluate(() => window.flowscope.load('heat', { initial: 'cold', n: 64 }));
    });

    await t.test('grid size applies on reset; the JS API rejects bad input', async () => {
      await page.getByTestId('param-n').fill('96');
      await page.getByTestId('param-n').dispatchEvent('change');
      await page.getByTestId('pending-reset').waitFor();
      await page.getByTestId('btn-reset').click();
      await page.waitForFunction(() => window.flowscope.state().params.n === 96);
      assert.match(await page.getByTestId('controls-grid').innerText(), /96 × 96/);
      await assert.rejects(page.evaluate(() => window.flowscope.load('no-such-case', {})), /unknown case/);
      await assert.rejects(page.evaluate(() => window.flowscope.load('heat', { n: 5000 })), /out of range/);
      await page.getByTestId('btn-play').click();
      await page.waitForFunction(() => window.flowscope.state().playing);
    });

    await t.test('the explicit stability limit is enforced with a notice', async () => {
      await page.evaluate(() => window.flowscope.load('heat', { n: 1024, dt: 1 }));
      const notice = await page.getByTestId('notice').innerText();
      assert.match(notice, /stability limit/);
      const state = await page.evaluate(() => window.flowscope.state());
      assert.ok(state.dt < 0.003, `dt ${state.dt} lowered to the limit`);
    });

    await t.test('every case in the catalog loads, steps and draws a changing picture', async () => {
      const ids = await page.$$eval('[data-testid^="case-card-"]', (cards) =>
        cards.map((c) => c.dataset.testid.replace('case-card-', '')));
      assert.ok(ids.length >= 3, `catalog: ${ids}`);
      for (const id of ids) {
        // Paused before the click: the airfoil samples' default batch of 16 would otherwise
        // start on SwiftShader (seconds a pass) and hold up the load below.
        if (id === 'airfoil-uncertainty') await page.evaluate(() => window.flowscope.pause());
        await page.getByTestId(`case-card-${id}`).click();
        await page.waitForFunction((id) => window.flowscope.state().case === id, id);
        // SwiftShader takes a good fraction of a second per grid-solver step (hundreds of small
        // dispatches): the smallest grids and fewer steps there.
        // (The smoke plume keeps its 64²: on coarser grids its source is a few blurry cells.)
        // The SPH playground (pouring, a moving paddle) has no GPU twin yet and runs on the CPU
        // in either mode, as does the SMDP toy (a 2.5 k-weight network on 1000 numbers).
        // The learned wake's steps are rollout frames (the first also develops the wake, on the
        // CPU), so a short warm-up, the deterministic baseline (one network evaluation a frame;
        // SwiftShader takes about a second for one) and a few frames.
        // The control cases train on the CPU (threaded where the page is) on any page.
        const cpuOnly = ['sph-playground', 'smdp-toy', 'control-cartpole', 'control-guidance', 'control-quantum'];
        const slow = mode === 'webgpu' && id !== 'heat' && !cpuOnly.includes(id);
        const small = {
          'lid-cavity': 16, 'taylor-green': 16, 'backward-step': 16, 'cylinder-wake': 16, airfoil: 32,
          'dam-break': 8, 'hydrostatic-tank': 16, 'hasegawa-wakatani': 64,
        };
        if (slow && small[id]) await page.evaluate(({ id, n }) => window.flowscope.load(id, { n }), { id, n: small[id] });
        if (id === 'acdm-wake') {
          await page.evaluate(() => window.flowscope.load('acdm-wake', { warmup: 1, model: 'unet' }));
        }
        // A card click starts a learned case once its model is in; load() resolves then.
        if (['smdp-toy', 'smdp-heat', 'learned-sph-1d', 'learned-sph-2d'].includes(id)) await page.evaluate((id) => window.flowscope.load(id, {}), id);
        // The quantum controller small: its published CNN trains ~0.1 s an update in the page.
        if (id === 'control-quantum') await page.evaluate(() => window.flowscope.load('control-quantum', { samples: 8, width: 8 }));
        // The airfoil samples: the one-pass heteroscedastic UNet, a batch a step (4 on the CPU,
        // 16 on the device), without the solver, so the mean changes from one batch to the next.
        if (id === 'airfoil-uncertainty') {
          await page.evaluate(() => window.flowscope.load('airfoil-uncertainty', { model: 'heteroscedastic', samples: 32, solver: 'off' }));
        }
        await page.evaluate(() => window.flowscope.pause());
        // The 1D gas's waves need a few hundred (cheap) steps to show.
        const particles = ['dam-break', 'hydrostatic-tank', 'sod-shock-tube'];
        // The SMDP toy draws one thin column per step: 200 of them to see it change. The SMDP heat
        // case's first 20 steps blur its field on the CPU (the learned part comes after).
        const steps = id === 'sph-1d-periodic' ? 400 : id === 'acdm-wake' ? 3 : id === 'smdp-toy' ? 200
          : id === 'smdp-heat' || id === 'learned-sph-1d' ? 8 : id === 'learned-sph-2d' ? 1 : id === 'airfoil-uncertainty' ? 1 : slow && !particles.includes(id) ? 6 : 40;
        await page.evaluate((n) => window.flowscope.step(n), steps);
        const first = await settledPicture(page, (png) => distinctColours(png) > 10);
        assert.ok(distinctColours(first) > 10, `${id}: canvas looks blank`);
        await page.evaluate((n) => window.flowscope.step(n), steps);
        const second = await settledPicture(page, (png) => differingPixels(first, png) > 200);
        assert.ok(differingPixels(first, second) > 200, `${id}: the picture did not change`);
        // snapshot(): the view as on screen (colormap, particles, arrows) at display size.
        const picture = decodePng(await page.evaluate(() => window.flowscope.snapshot()));
        const screen = await canvasPixels(page);
        assert.ok(picture.width >= 256, `${id}: snapshot ${picture.width} px wide`);
        assert.ok(picture.width >= screen.width - 2, `${id}: ${picture.width} px for ${screen.width} px on screen`);
        const match = matchingFraction(picture, screen);
        if (match <= 0.9) {
          writeFileSync(`${OUT}/${id}-${mode}-snapshot.png`, PNG.sync.write(picture));
          writeFileSync(`${OUT}/${id}-${mode}-canvas.png`, PNG.sync.write(screen));
        }
        assert.ok(match > 0.9, `${id}: the snapshot matches the canvas at ${(100 * match).toFixed(1)} % of pixels`);
        const state = await page.evaluate(() => window.flowscope.state());
        assert.equal(state.error, undefined, `${id}: ${state.error}`);
        const expected = cpuOnly.includes(id) ? 'cpu' : mode;
        assert.equal(state.backend, expected, `${id}: backend`);
        await page.screenshot({ path: `${OUT}/${id}-${mode}.png`, fullPage: true });
      }
      await page.getByTestId('case-card-heat').click();
    });

    await t.test('the incompressible (DFSPH) dam break runs on this backend and reports its solves', async () => {
      await page.evaluate(() => window.flowscope.load('dam-break', { solver: 'dfsph', n: 8 }));
      await page.waitForFunction(() => window.flowscope.state().params.solver === 'dfsph');
      await page.evaluate(() => window.flowscope.pause());
      // The GPU's state and solver statistics arrive a read-back after the steps they follow.
      let o;
      for (let batch = 0; batch < 20; batch++) {
        await page.evaluate(() => window.flowscope.step(10));
        await page.waitForTimeout(200);
        o = await page.evaluate(() => window.flowscope.observables());
        if (o.kinetic_energy.at(-1) > 0 && o.solver_iterations.at(-1) >= 1) break;
      }
      assert.ok(o.kinetic_energy.at(-1) > 0, 'the column moves');
      assert.ok(o.solver_iterations.at(-1) >= 1, 'the density solve reports its iterations');
      const state = await page.evaluate(() => window.flowscope.state());
      assert.equal(state.backend, mode);
      assert.equal(state.error, undefined);
      assert.ok(o.density_error.at(-1) < 0.01, `density error ${o.density_error.at(-1)}`);
      await page.getByTestId('case-card-heat').click();
    });

    await t.test('no errors in the console', () => {
      assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
    });
  });
}

test('a software WebGPU adapter is passed over for the CPU, with the reason', async (t) => {
  const browser = await launch({ webgpu: true });
  t.after(() => browser.close());
  const { page } = await openApp(browser);
  assert.equal((await page.evaluate(() => window.flowscope.state())).backend, 'cpu');
  assert.match(await page.getByTestId('gpu-status').innerText(), /software renderer.*\?backend=webgpu/);
});

test('a device lost while presenting recovers and says so', async (t) => {
  const browser = await launch({ webgpu: true });
  t.after(() => browser.close());
  const { page } = await openApp(browser, '?backend=webgpu');
  // Recovery gets a fresh device that displays through read-back; if the browser refuses a
  // second device (it may, right after a GPU-process failure), the case moves to the CPU.
  // Wait for a settled outcome (during the switch the old state is briefly still reported).
  await page.waitForFunction(() => {
    const s = window.flowscope.state();
    return (s.display === 'readback' && s.backend === 'webgpu') || (s.display === 'canvas2d' && s.backend === 'cpu');
  }, null, { timeout: 30_000 });
  const state = await page.evaluate(() => window.flowscope.state());
  const status = await page.getByTestId('gpu-status').innerText();
  if (state.display === 'readback') {
    assert.equal(state.backend, 'webgpu');
    assert.match(status, /lost the GPU device/);
  } else {
    assert.equal(state.backend, 'cpu');
    assert.match(status, /GPU device was lost .*restarted the case on the CPU/);
  }
  await page.evaluate(() => window.flowscope.pause());
  const before = await canvasPixels(page);
  await page.evaluate(() => window.flowscope.step(100));
  await page.waitForTimeout(300);
  assert.ok(differingPixels(before, await canvasPixels(page)) > 1000, 'the display still updates');
});

test('a wasm panic shows the error overlay, not a dead page', async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page } = await openApp(browser, '?backend=cpu');
  // The panic also surfaces as a JS exception in the caller; the page must show the overlay.
  await page.evaluate(() => { try { window.flowscope.__test_panic(); } catch { /* expected */ } });
  await page.getByTestId('fatal-message').waitFor();
  assert.match(await page.getByTestId('fatal-message').innerText(), /Flowscope crashed/);
  await page.screenshot({ path: `${OUT}/panic-overlay.png` });
  // The panic struck while the app state was in use: later calls must not find it still taken.
  const after = await page.evaluate(async () => {
    const f = window.flowscope;
    const loaded = await f.load('lid-cavity', { n: 32 });
    const stepped = await f.step(3);
    return { loaded, stepped };
  });
  assert.equal(after.loaded.case, 'lid-cavity');
  assert.equal(after.loaded.backend, 'cpu');
  assert.equal(after.stepped.step, 3);
  assert.equal(after.stepped.error ?? null, null);
  await page.getByTestId('fatal-dismiss').click();
  assert.match(await page.getByTestId('gpu-status').innerText(), /internal error.*restarted on the CPU/);
});
