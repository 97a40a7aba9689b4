// Training through the simulator in the page (cases control-cartpole, control-guidance,
// control-quantum): two
// gradient modes train side by side, the loss falls and the systems move, in the single-threaded
// build and in the threaded one (the same numbers); bad values are refused with a notice; a
// trained controller goes out through the export button and back in through the import button.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, openApp, canvasPixels, differingPixels, URL_BASE } from './browser.mjs';

const ISOLATED = process.env.FLOWSCOPE_ISOLATED_URL;
assert.ok(ISOLATED, 'FLOWSCOPE_ISOLATED_URL is set by cargo xtask test');

/** 16 starts in batches of 8: one step is one update of each run, an epoch two steps. */
const SMALL = { poles: 1, samples: 16, width: 32, lr: 0.01, mode: 'C', versus: 'F' };

/** Loads the case, steps `steps` at once (no waits), returns the losses before and after. */
async function train(page, steps) {
  return page.evaluate(async ({ params, steps }) => {
    const f = window.flowscope;
    f.pause();
    const loaded = await f.load('control-cartpole', params);
    f.pause();
    const before = f.observables();
    const state = await f.step(steps);
    return { loaded, state, before, after: f.observables() };
  }, { params: SMALL, steps });
}

function checkTraining({ loaded, state, before, after }) {
  assert.ok(!loaded.error, loaded.error);
  assert.equal(state.case, 'control-cartpole');
  assert.equal(state.step, 24);
  for (const name of ['test_loss', 'test_loss_versus']) {
    const [first, last] = [before[name].at(-1), after[name].at(-1)];
    assert.ok(last < 0.8 * first, `${name} falls: ${first} -> ${last}`);
  }
}

test('both gradient modes train in the page and the carts swing; bad values are refused', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openApp(browser, '?backend=cpu#case=control-cartpole&lr=0&poles=9');
    const text = await page.evaluate(() => document.body.innerText);
    assert.match(text, /'lr' = 0 is out of range/);
    assert.match(text, /'poles' = 9 is out of range/);
    await page.evaluate(() => window.flowscope.pause());
    const pixels = await canvasPixels(page);
    const result = await train(page, 24);
    checkTraining(result);
    const moved = differingPixels(pixels, await canvasPixels(page));
    assert.ok(moved > 50, `the carts moved (${moved} pixels)`);
    await assert.rejects(page.evaluate(() => window.flowscope.set('lr', 0)), /out of range/);
    await assert.rejects(page.evaluate(() => window.flowscope.set('lr', NaN)), /finite/);
    await assert.rejects(page.evaluate(() => window.flowscope.load('control-cartpole', { mode: 'X' })), /mode/);
    assert.match(await page.evaluate(() => document.body.innerText), /Learning curves/);

    // Out through the export button, back in through the import button.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('btn-export-file').click(),
    ]);
    const file = await download.path();
    const trained = result.after.test_loss.at(-1);
    await page.evaluate(() => window.flowscope.load('control-cartpole', { poles: 1, samples: 16, width: 32 }));
    await page.getByTestId('import-file').setInputFiles(file);
    await page.waitForFunction(() => /Imported a controller/.test(document.body.innerText));
    const imported = await page.evaluate(() => window.flowscope.observables().test_loss.at(-1));
    assert.ok(Math.abs(imported - trained) < 1e-3, `the imported controller's loss ${imported} is the trained ${trained}`);
    // A file that is not a controller changes nothing and says why.
    await page.getByTestId('import-file').setInputFiles({
      name: 'notes.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('not a model'),
    });
    await page.waitForFunction(() => /cannot import this controller/.test(document.body.innerText));
    assert.ok(readFileSync(file).length > 1000);

    // A hurried user: a card click and at once a step. The case starts once its controller file
    // is in, and the step waits for that instead of stepping nothing.
    const hurried = await page.evaluate(async () => {
      window.flowscope.pause();
      document.querySelector('[data-testid="case-card-control-guidance"]').click();
      return window.flowscope.step(2);
    });
    assert.equal(hurried.case, 'control-guidance');
    assert.equal(hurried.step, 2);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

/** A fresh page at `url` once the app runs (the threaded build's workers join as they come). */
async function open(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  await page.waitForFunction(() => window.flowscope?.state().backend, null, { timeout: 60_000 });
  return { page, errors };
}

test('the threaded build trains the same controller as the single-threaded one', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const results = [];
    for (const url of [`${ISOLATED}?backend=cpu&threads=3`, `${URL_BASE}?backend=cpu`]) {
      const { page, errors } = await open(browser, url);
      // The carts as loaded, then after training (the load in train() starts the same way).
      await page.evaluate(async (params) => {
        window.flowscope.pause();
        await window.flowscope.load('control-cartpole', params);
        window.flowscope.pause();
      }, SMALL);
      const pixels = await canvasPixels(page);
      const result = await train(page, 24);
      checkTraining(result);
      const moved = differingPixels(pixels, await canvasPixels(page));
      assert.ok(moved > 50, `the carts moved (${moved} pixels)`);
      result.threads = await page.evaluate(() => window.flowscope.state().threads);
      assert.deepEqual(errors, []);
      results.push(result);
    }
    assert.ok(results[0].threads > 1, `threads: ${results[0].threads}`);
    assert.deepEqual(results[0].after, results[1].after, 'the same losses on 3 threads and on 1');
  } finally {
    await browser.close();
  }
});

test('drivers learn to herd the evaders in the page, both builds alike', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const results = [];
    for (const url of [`${ISOLATED}?backend=cpu&threads=3`, `${URL_BASE}?backend=cpu`]) {
      const { page, errors } = await open(browser, url);
      await page.evaluate(async () => {
        const f = window.flowscope;
        f.pause();
        await f.load('control-guidance', { samples: 16, width: 32, lr: 0.01 });
        f.pause();
      });
      const before = await canvasPixels(page);
      const result = await page.evaluate(async () => {
        const f = window.flowscope;
        const first = f.observables();
        const state = await f.step(20);
        return { state, first, after: f.observables() };
      });
      assert.equal(result.state.step, 20);
      for (const name of ['test_loss', 'test_loss_versus']) {
        const [a, b] = [result.first[name].at(-1), result.after[name].at(-1)];
        assert.ok(b < 0.8 * a, `${name} falls: ${a} -> ${b}`);
      }
      assert.ok(differingPixels(before, await canvasPixels(page)) > 20, 'the herds moved');
      assert.deepEqual(errors, []);
      results.push(result.after);
    }
    assert.deepEqual(results[0], results[1], 'the same losses on 3 threads and on 1');
  } finally {
    await browser.close();
  }
});

test('a field learns to steer the wave function in the page, both builds alike', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const results = [];
    for (const url of [`${ISOLATED}?backend=cpu&threads=3#case=control-quantum&target=9`, `${URL_BASE}?backend=cpu`]) {
      const { page, errors } = await open(browser, url);
      const result = await page.evaluate(async () => {
        const f = window.flowscope;
        f.pause();
        const notice = document.body.innerText;
        await f.load('control-quantum', { samples: 8, width: 8, lr: 0.01 });
        f.pause();
        const first = f.observables();
        const picture = f.snapshot();
        const state = await f.step(8);
        return { notice, state, first, after: f.observables(), moved: picture !== f.snapshot() };
      });
      if (url.includes('target=9')) assert.match(result.notice, /'target' = 9 is out of range/);
      assert.equal(result.state.step, 8);
      for (const name of ['test_loss', 'test_loss_versus']) {
        const [a, b] = [result.first[name].at(-1), result.after[name].at(-1)];
        assert.ok(b < 0.95 * a, `${name} falls: ${a} -> ${b}`);
      }
      assert.ok(result.moved, 'the wave function moved');
      // The long view label wraps beside the colour bar; the picture keeps the width.
      const { width } = await page.getByTestId('viewport-canvas').boundingBox();
      assert.ok(width > 450, `the viewport is ${width} px wide`);
      await assert.rejects(page.evaluate(() => window.flowscope.set('lr', NaN)), /finite/);
      await assert.rejects(page.evaluate(() => window.flowscope.set('lr', 0)), /out of range/);
      assert.deepEqual(errors, []);
      results.push(result.after);
    }
    assert.deepEqual(results[0], results[1], 'the same losses on 3 threads and on 1');
  } finally {
    await browser.close();
  }
});
