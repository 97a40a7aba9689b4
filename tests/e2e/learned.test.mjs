// The learned wake (case acdm-wake) with the shipped model of public/models: it downloads with
// its progress bar before the case starts, then posterior samples roll forward beside the live
// solver — finite, different from each other, near the solver — on the CPU of a page without
// WebGPU (4 samples, 3 frames) and on the device of a WebGPU page (2 samples, 2 frames: SwiftShader
// takes seconds a UNet pass). A tampered model file is refused and the app goes
// on; a page script that loads cases in quick succession meets no race. The learned particle
// solvers (learned-sph-1d, learned-sph-2d) roll out beside the SPH solver, near it, DMCF's momentum held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp } from './browser.mjs';

/** Records whether the model download bar was ever on the page. */
async function watchDownloadBar(page) {
  await page.evaluate(() => {
    window.__sawDownloadBar = false;
    new MutationObserver(() => {
      if (document.querySelector('[data-testid="model-download"] progress')) window.__sawDownloadBar = true;
    }).observe(document.body, { childList: true, subtree: true });
  });
}

/** Loads the case and rolls `frames` frames; returns the state, the observables and the notices.
 * The warm-up is half the data's (40 s): from a less developed wake the model has not seen, the
 * rollout leaves the solver faster (MSE 0.02 after 5 frames from 5 s, 1e-3 from 20 s). */
async function rollout(page, params, frames = 5) {
  return page.evaluate(async ({ params, frames }) => {
    const f = window.flowscope;
    const loaded = await f.load('acdm-wake', { warmup: 20, samples: 4, ...params });
    const state = await f.step(frames);
    return { loaded, state, observables: f.observables(), text: document.body.innerText };
  }, { params, frames });
}

function checkRollout({ loaded, state, observables }, backend, frames = 5) {
  assert.equal(loaded.case, 'acdm-wake');
  assert.ok(!loaded.error, loaded.error);
  assert.equal(state.step, frames, 'the rollout frames');
  assert.equal(state.backend, backend);
  const mse = observables.mse.at(-1);
  const spread = observables.spread.at(-1);
  // Finite, or the case would have paused with "no longer finite".
  assert.ok(Number.isFinite(mse) && Number.isFinite(spread), `mse ${mse}, spread ${spread}`);
  assert.ok(spread > 1e-5, `the samples differ from each other (spread ${spread})`);
  // The wake's fields are of order 0.1–1; a rollout that left the solver would be far above.
  assert.ok(mse < 1e-2, `the ensemble mean stays near the solver (MSE ${mse})`);
}

test('4 samples of the shipped ACDM roll 3 frames near the solver, without WebGPU', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, '?backend=cpu');
    await watchDownloadBar(page);
    const result = await rollout(page, {}, 3);
    checkRollout(result, 'cpu', 3);
    assert.equal(await page.evaluate(() => window.__sawDownloadBar), true, 'the download bar showed');
    assert.equal(await page.getByTestId('model-download').count(), 0, 'the bar is gone once loaded');
    assert.match(result.text, /develops the wake from rest/);
    // Out of the training range, marked as such.
    const held = await page.evaluate(async () => {
      await window.flowscope.load('acdm-wake', { Re: 150, warmup: 5, samples: 1 });
      return document.body.innerText;
    });
    assert.match(held, /outside the training range 200–900/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('on a WebGPU page the learned wake rolls out on the device, with DDIM', async () => {
  const browser = await launch({ webgpu: true });
  try {
    // SwiftShader's adapter is passed over unless the link asks for WebGPU.
    const { page, errors } = await openApp(browser, '?backend=webgpu');
    // Two samples, two frames: SwiftShader takes seconds for each of the 10 UNet passes.
    const result = await rollout(page, { sampler: 'ddim', steps: 5, seed: 3, samples: 2 }, 2);
    checkRollout(result, 'webgpu', 2);
    assert.equal(result.state.params.sampler, 'ddim');
    // The deterministic baseline: one rollout, no spread.
    const baseline = await page.evaluate(async () => {
      const f = window.flowscope;
      const loaded = await f.load('acdm-wake', { model: 'unet', samples: 4, warmup: 20 });
      await f.step(2);
      return { samples: loaded.params.samples, o: f.observables() };
    });
    assert.equal(baseline.samples, 1);
    assert.equal(baseline.o.spread.at(-1), 0);
    assert.ok(baseline.o.mse.at(-1) < 1e-2, `the baseline stays near the solver (${baseline.o.mse.at(-1)})`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a tampered model is refused with a reason, and quick successive loads settle', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page } = await openApp(browser, '?backend=cpu');
    await page.route('**/models/acdm-wake.safetensors', async (route) => {
      const response = await route.fetch();
      const body = Buffer.from(await response.body());
      body[body.length - 5] ^= 0x20;
      await route.fulfill({ response, body });
    });
    const refused = await page.evaluate(() =>
      window.flowscope.load('acdm-wake', { warmup: 5 }).then(() => 'loaded', (e) => e.message));
    assert.match(refused, /acdm-wake\.safetensors.*sha256/);
    assert.match(await page.evaluate(() => window.flowscope.state().error ?? ''), /sha256/);
    await page.unroute('**/models/acdm-wake.safetensors');
    // A page script firing loads without awaiting them: the last one wins, nothing breaks.
    const last = await page.evaluate(async () => {
      const f = window.flowscope;
      const first = f.load('acdm-wake', { warmup: 5, samples: 2 });
      const second = f.load('heat', {});
      const third = f.load('acdm-wake', { warmup: 5, samples: 2 });
      const outcomes = await Promise.allSettled([first, second, third]);
      await f.step(1);
      return { outcomes: outcomes.map((o) => o.reason?.message ?? o.status), state: f.state() };
    });
    assert.deepEqual(last.outcomes, ['fulfilled', 'fulfilled', 'fulfilled']);
    assert.equal(last.state.case, 'acdm-wake');
    assert.equal(last.state.step, 1);
    assert.ok(!last.state.error, last.state.error);
  } finally {
    await browser.close();
  }
});

/** The learned particle solver beside the SPH solver: a few frames, then the state and plots. */
async function particleRollout(page, id, model, frames) {
  return page.evaluate(async ({ id, model, frames }) => {
    const f = window.flowscope;
    const loaded = await f.load(id, { model, seed: 5 });
    // The page plays after a load (on WebGPU a frame may already be in by the time it resolves).
    f.pause();
    const before = f.state().step;
    const state = await f.step(frames);
    return { loaded, before, state, o: f.observables(), png: f.snapshot() };
  }, { id, model, frames });
}

for (const webgpu of [false, true]) {
  test(`the learned particle solvers download and roll out beside the SPH solver (${webgpu ? 'WebGPU page' : 'without WebGPU'})`, async () => {
    const browser = await launch({ webgpu });
    try {
      const { page, errors } = await openApp(browser, webgpu ? '?backend=webgpu' : '?backend=cpu');
      for (const model of ['fourier-dmcf', 'linear']) {
        const { loaded, before, state, o, png } = await particleRollout(page, 'learned-sph-1d', model, 4);
        assert.equal(loaded.case, 'learned-sph-1d');
        assert.ok(!state.error, state.error);
        assert.equal(state.step - before, 4);
        assert.equal(state.backend, webgpu ? 'webgpu' : 'cpu');
        assert.ok(Math.abs(state.time - state.step * 0.016) < 1e-9, `t = ${state.time} after ${state.step} frames`);
        const last = (name) => o[name].at(-1);
        assert.ok(Number.isFinite(last('momentum_x')) && Number.isFinite(last('kinetic_energy')));
        assert.ok(last('position_error') < 1, `${model}: ${last('position_error')} spacings from the solver after ${state.step} frames`);
        assert.ok(last('density_error') < 0.05, `${model}: density ${last('density_error')} of ρ0 from the solver`);
        if (model === 'fourier-dmcf') {
          // m Σ|u| ≤ √(2 n m KE) ≈ 63 √KE here: a drift of 1e-4 √KE is about 1e-6 of it.
          const energy = Math.max(...o.kinetic_energy);
          assert.ok(Math.abs(last('momentum_x')) < 1e-4 * Math.sqrt(energy), `DMCF momentum ${last('momentum_x')} (KE ${energy})`);
        }
        assert.match(png, /^data:image\/png/);
      }
      // The 2D box: fluid and wall particles in one graph, the solver's 16 steps a frame beside it.
      const { loaded, before, state, o } = await particleRollout(page, 'learned-sph-2d', 'fourier-small-noise', 2);
      assert.equal(loaded.case, 'learned-sph-2d');
      assert.ok(!state.error, state.error);
      assert.equal(state.step - before, 2);
      assert.equal(state.backend, webgpu ? 'webgpu' : 'cpu');
      const last = (name) => o[name].at(-1);
      assert.ok(Number.isFinite(last('kinetic_energy')) && last('kinetic_energy') > 0);
      assert.ok(last('position_error') < 0.5, `2D: ${last('position_error')} spacings from the solver after ${state.step} frames`);
      assert.ok(last('density_error') < 0.05, `2D: density ${last('density_error')} of ρ0 from the solver`);
      const energy = last('kinetic_energy') / last('solver_kinetic_energy');
      assert.ok(energy > 0.8 && energy < 1.2, `2D: kinetic energy ${energy} of the solver's`);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
}

