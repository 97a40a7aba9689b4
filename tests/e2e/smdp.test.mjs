// The heat inverse problem (case smdp-heat) with the shipped model of public/models: the hidden
// field diffuses for 20 steps, then 4 posterior samples run back for 20 — finite, different from
// each other and from another seed's, their mean nearer the truth than the naive inverse (the
// clipped inverse step alone) — on the CPU of a page without WebGPU and on the device of a WebGPU
// page, which draws the CPU's samples (to float rounding).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp } from './browser.mjs';

/** Loads the case, runs it forward and back; the last observables and a picture. */
async function posterior(page, seed) {
  return page.evaluate(async (seed) => {
    const f = window.flowscope;
    const loaded = await f.load('smdp-heat', { seed, samples: 4 });
    const state = await f.step(40);
    const o = f.observables();
    const last = (name) => o[name].at(-1);
    return { loaded, state, mse: last('mse'), spread: last('spread'), naive: last('naive_mse'), png: f.snapshot() };
  }, seed);
}

function check(result, backend) {
  assert.ok(!result.loaded.error, result.loaded.error);
  assert.equal(result.state.case, 'smdp-heat');
  assert.equal(result.state.step, 40, 'forward 20, back 20');
  assert.equal(result.state.backend, backend);
  assert.ok(!result.state.error, result.state.error);
  const { mse, spread, naive } = result;
  assert.ok([mse, spread, naive].every(Number.isFinite), `mse ${mse}, spread ${spread}, naive ${naive}`);
  assert.ok(spread > 1e-3, `the samples differ from each other (spread ${spread})`);
  assert.ok(mse < naive, `the samples' mean (MSE ${mse}) beats the naive inverse (${naive})`);
}

test('without WebGPU: 4 posterior samples of the heat inverse problem on the CPU', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, '?backend=cpu');
    const a = await posterior(page, 3);
    check(a, 'cpu');
    const b = await posterior(page, 4);
    check(b, 'cpu');
    assert.notEqual(a.mse, b.mse, 'another seed, another field and other samples');
    assert.notEqual(a.png, b.png);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('on a WebGPU page the backward process runs on the device and draws the CPU samples', async () => {
  const browser = await launch({ webgpu: true });
  try {
    const cpuPage = await openApp(browser, '?backend=cpu');
    const cpu = await posterior(cpuPage.page, 3);
    const { page, errors } = await openApp(browser, '?backend=webgpu');
    const gpu = await posterior(page, 3);
    check(gpu, 'webgpu');
    // The same noise and network; SwiftShader's float maths (its FFT twiddles, exp and log)
    // differ from the CPU's in the last digits, which 20 backward steps grow to about 0.5% of
    // the MSE. (Natively, on llvmpipe, the samples agree to 1e-3: the cases' tests.)
    assert.ok(Math.abs(gpu.mse - cpu.mse) < 2e-2 * cpu.mse, `GPU ${gpu.mse} against CPU ${cpu.mse}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
