// Airfoil flows with uncertainty (case airfoil-uncertainty) with the shipped flow-matching model
// of public/models: 8 samples arrive batch by batch under a progress bar, finite and different
// from each other; the mean and standard-deviation views draw the model beside the solver, which
// runs live at the same condition until it has snapshots of its own to compare — on the CPU of a
// page without WebGPU (batches of 4) and on the device of a WebGPU page (one batch of 8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openApp, canvasPixels, distinctColours } from './browser.mjs';

/** Records whether the case's progress bar was ever on the page. */
async function watchProgressBar(page) {
  await page.evaluate(() => {
    window.__sawProgressBar = false;
    new MutationObserver(() => {
      if (document.querySelector('[data-testid="case-progress"] progress')) window.__sawProgressBar = true;
    }).observe(document.body, { childList: true, subtree: true });
  });
}

/** Loads the case with 8 samples of 4 flow-matching steps; half the passes, then the rest, then
 * solver slices until it has two snapshots (about 18 chord times). */
async function draw(page, passes) {
  return page.evaluate(async (passes) => {
    const f = window.flowscope;
    const last = (name) => f.observables()[name].at(-1);
    f.pause();
    const loaded = await f.load('airfoil-uncertainty', { samples: 8, steps: 4, seed: 3 });
    const half = await f.step(passes / 2);
    const halfSamples = last('samples');
    const done = await f.step(passes / 2);
    const samples = last('samples');
    let state = done;
    for (let k = 0; k < 20 && last('snapshots') < 2; k++) state = await f.step(50);
    return {
      loaded, half, halfSamples, done, samples, state,
      snapshots: last('snapshots'), meanError: last('mean_error'), stdError: last('std_error'),
      text: document.body.innerText,
    };
  }, passes);
}

function check(result, backend, halfSamples) {
  assert.ok(!result.loaded.error, result.loaded.error);
  assert.equal(result.loaded.case, 'airfoil-uncertainty');
  assert.equal(result.state.backend, backend);
  assert.equal(result.half.progress?.fraction, 0.5, JSON.stringify(result.half.progress));
  assert.match(result.half.progress.label, /of 8 samples/);
  assert.equal(result.halfSamples, halfSamples, 'samples arrive batch by batch');
  assert.equal(result.samples, 8);
  assert.equal(result.done.progress, null, 'the bar goes once all are in');
  // Not finite samples would have stopped the case with an error.
  assert.ok(!result.state.error, result.state.error);
  assert.ok(result.snapshots >= 2, `the solver gathered ${result.snapshots} snapshots`);
  const { meanError, stdError } = result;
  assert.ok(Number.isFinite(meanError) && meanError > 0 && meanError < 1.5, `mean error ${meanError}`);
  assert.ok(Number.isFinite(stdError) && stdError > 0, `std error ${stdError}`);
  assert.match(result.text, /between the training speeds 1 and 1\.25/);
}

/** The mean and std views, each drawn with the model's half and the solver's half. */
async function checkViews(page) {
  for (const view of ['mean', 'std', 'strip']) {
    await page.getByTestId('view-select').selectOption(view);
    const png = await canvasPixels(page);
    const half = (left) => {
      const copy = { width: png.width / 2, height: png.height, data: [] };
      for (let y = 0; y < png.height; y++) {
        const row = (y * png.width + (left ? 0 : png.width / 2)) * 4;
        copy.data.push(...png.data.slice(row, row + (png.width / 2) * 4));
      }
      return copy;
    };
    assert.ok(distinctColours(half(true)) > 20, `${view}: the model's half is drawn`);
    if (view !== 'strip') assert.ok(distinctColours(half(false)) > 20, `${view}: the solver's half is drawn`);
  }
}

test('without WebGPU: 8 flow-matching samples in two batches beside the live solver', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, '?backend=cpu');
    await watchProgressBar(page);
    const result = await draw(page, 8);
    check(result, 'cpu', 4);
    assert.equal(await page.evaluate(() => window.__sawProgressBar), true, 'the progress bar showed');
    await checkViews(page);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('on a WebGPU page the 8 samples are one batch on the device, beside the live solver', async () => {
  const browser = await launch({ webgpu: true });
  try {
    const { page, errors } = await openApp(browser, '?backend=webgpu');
    await watchProgressBar(page);
    const result = await draw(page, 4);
    check(result, 'webgpu', 0);
    await checkViews(page);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
