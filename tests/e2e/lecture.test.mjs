// For the lecture hall (issue 23): pictures at display resolution with colour bar and caption,
// clips as WebM (or GIF), the PNG and record buttons — called the way a page script would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { launch, openApp, decodePng, URL_BASE, OUT } from './browser.mjs';

/** In the page: a clip's type, size and duration as a `<video>` (or `<img>` for a GIF) reads it.
 * Recorded WebM carries no duration in its header; seeking far ahead makes the element find it. */
async function inspectClip(page, call) {
  return page.evaluate(async (call) => {
    const clip = await (new Function('f', `return f.${call}`))(window.flowscope);
    const url = URL.createObjectURL(clip);
    if (clip.type === 'image/gif') {
      const img = new Image();
      img.src = url;
      await img.decode();
      return { type: clip.type, bytes: clip.size, width: img.naturalWidth, height: img.naturalHeight };
    }
    const video = document.createElement('video');
    video.muted = true;
    video.src = url;
    await new Promise((resolve, reject) => {
      video.onloadedmetadata = resolve;
      video.onerror = () => reject(new Error(`not playable: ${video.error && video.error.message}`));
    });
    if (!Number.isFinite(video.duration)) {
      video.currentTime = 1e7;
      await new Promise((resolve) => { video.ontimeupdate = resolve; });
    }
    return { type: clip.type, bytes: clip.size, width: video.videoWidth, height: video.videoHeight, duration: video.duration };
  }, call);
}

const snapshot = (page, options) => page.evaluate((o) => window.flowscope.snapshot(o), options).then(decodePng);

test('pictures and clips for slides', async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, errors } = await openApp(browser, '#case=lid-cavity&n=32');
  await page.evaluate(() => { window.flowscope.pause(); return window.flowscope.step(40); });

  await t.test('snapshot(): display size, a chosen scale, the colour bar and a caption', async () => {
    const plain = await snapshot(page);
    assert.ok(plain.width >= 256, `${plain.width} px`);
    const double = await snapshot(page, { scale: 2 });
    assert.ok(Math.abs(double.width - 2 * (plain.width / (await page.evaluate(() => devicePixelRatio)))) <= 2,
      `scale 2: ${double.width} px for ${plain.width} at ratio 1`);
    const bar = await snapshot(page, { colorbar: true });
    assert.ok(bar.width > plain.width + 30, 'the bar sits right of the view');
    // The bar's top is the colormap's top (viridis yellow) right of the view.
    let top = false;
    for (let x = plain.width; x < bar.width && !top; x++) {
      for (let y = 0; y < 30 && !top; y++) {
        const k = (y * bar.width + x) * 4;
        top = Math.abs(bar.data[k] - 253) + Math.abs(bar.data[k + 1] - 231) + Math.abs(bar.data[k + 2] - 37) < 20;
      }
    }
    assert.ok(top, 'the colour bar ends in the colormap\'s top colour');
    const url = await page.evaluate(() => window.flowscope.snapshot({ colorbar: true, labels: true }));
    writeFileSync(`${OUT}/snapshot-lid-cavity.png`, Buffer.from(url.split(',')[1], 'base64'));
    const captioned = decodePng(url);
    assert.ok(captioned.height > bar.height + 20, 'the caption goes below');
    await assert.rejects(page.evaluate(() => window.flowscope.snapshot({ scale: 0 })), /scale must be/);
    await assert.rejects(page.evaluate(() => window.flowscope.snapshot({ dpi: 300 })), /unknown option 'dpi'/);
  });

  await t.test('the PNG button saves the captioned picture', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('btn-export-png').click()]);
    assert.equal(download.suggestedFilename(), 'lid-cavity.png');
    const png = PNG.sync.read(readFileSync(await download.path()));
    const plain = await snapshot(page);
    assert.ok(png.width > plain.width && png.height > plain.height, `${png.width} × ${png.height}`);
  });

  await t.test('a 1D case\'s picture is its strip and its profile plot', async () => {
    await page.evaluate(async () => { await window.flowscope.load('sod-shock-tube', {}); window.flowscope.pause(); return window.flowscope.step(100); });
    const url = await page.evaluate(() => window.flowscope.snapshot({ colorbar: true, labels: true }));
    writeFileSync(`${OUT}/snapshot-sod-shock-tube.png`, Buffer.from(url.split(',')[1], 'base64'));
    const png = await snapshot(page);
    assert.ok(png.width >= 256 && png.height > 0.4 * png.width, `${png.width} × ${png.height}: the strip and the plot`);
  });

  await t.test('record({steps: 30}) is a playable WebM of the steps', async () => {
    await page.evaluate(() => window.flowscope.load('heat', { n: 64 }));
    const before = await page.evaluate(() => window.flowscope.state().step);
    const clip = await inspectClip(page, 'record({ steps: 30 })');
    assert.equal(clip.type, 'video/webm');
    assert.ok(clip.width >= 256, `${clip.width} px wide`);
    assert.ok(clip.duration > 0.5 && clip.duration < 4, `30 frames at 30 fps: ${clip.duration} s`);
    const after = await page.evaluate(() => window.flowscope.state());
    assert.equal(after.step - before, 30);
    assert.equal(after.playing, false, 'paused as before');
  });

  await t.test('a GIF where asked for, stopRecording() ends a clip early, bad options are refused', async () => {
    const gif = await inspectClip(page, 'record({ steps: 6, every: 2, fps: 10, format: "gif" })');
    assert.equal(gif.type, 'image/gif');
    assert.ok(gif.width >= 256 && gif.width <= 640, `${gif.width} px`);
    const early = await page.evaluate(async () => {
      const started = performance.now();
      const clip = window.flowscope.record({ seconds: 60 });
      setTimeout(() => window.flowscope.stopRecording(), 800);
      const blob = await clip;
      return { ms: performance.now() - started, bytes: blob.size, playing: window.flowscope.state().playing };
    });
    assert.ok(early.ms < 10_000 && early.bytes > 0, `stopped after ${early.ms} ms with ${early.bytes} bytes`);
    await assert.rejects(page.evaluate(() => window.flowscope.record({})), /either steps or seconds/);
    await assert.rejects(page.evaluate(() => window.flowscope.record({ steps: 5, format: 'avi' })), /format/);
  });

  await t.test('the record button films the page until pressed again and saves the clip', async () => {
    await page.getByTestId('btn-record').click();
    await page.getByTestId('record-progress').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('btn-record').click()]);
    assert.equal(download.suggestedFilename(), 'heat.webm');
    assert.ok(readFileSync(await download.path()).length > 100);
    await page.getByTestId('record-progress').waitFor({ state: 'detached' });
  });

  await t.test('observables that do not apply are not plotted', async () => {
    const plotted = () => page.getByTestId('observable-solver_iterations').count();
    await page.evaluate(() => window.flowscope.load('dam-break', { n: 8, solver: 'wcsph' }));
    await page.getByTestId('observable-front').waitFor();
    assert.equal(await plotted(), 0, 'no DFSPH iterations under WCSPH');
    await page.evaluate(() => window.flowscope.load('dam-break', { n: 8, solver: 'dfsph' }));
    await page.getByTestId('observable-solver_iterations').waitFor();
    const o = await page.evaluate(() => window.flowscope.observables());
    assert.ok('solver_iterations' in o, 'still recorded');
  });

  await t.test('no errors in the console', () => {
    assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
  });
});

test('a clip on the WebGPU backend', async (t) => {
  const browser = await launch({ webgpu: true });
  t.after(() => browser.close());
  const { page, errors } = await openApp(browser, '?backend=webgpu&display=readback#case=heat&n=64');
  assert.equal(await page.evaluate(() => window.flowscope.state().backend), 'webgpu');
  const clip = await inspectClip(page, 'record({ steps: 10 })');
  assert.equal(clip.type, 'video/webm');
  assert.ok(clip.duration > 0.1, `${clip.duration} s`);
  const picture = await snapshot(page, { colorbar: true, labels: true });
  assert.ok(picture.width >= 256);
  assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
});

test('a course link on a phone opens on the simulation', async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${URL_BASE}#case=smoke-plume`);
  await page.waitForFunction(() => window.flowscope);
  await page.evaluate(() => window.flowscope.ready);
  const canvas = page.getByTestId('viewport-canvas');
  await canvas.waitFor();
  const box = await canvas.boundingBox();
  assert.ok(box.y >= 0 && box.y + box.height <= 844, `the canvas at y ${box.y}–${box.y + box.height} of 844`);
  assert.ok(box.width > 300, `${box.width} px wide`);
  assert.equal(await page.getByTestId('case-card-heat').isVisible(), false, 'the gallery folded');
  await page.screenshot({ path: `${OUT}/phone-smoke-plume.png` });
  const play = page.getByTestId('btn-play');
  if (await play.count()) {
    const controls = await play.boundingBox();
    assert.ok(controls.height >= 36, `a thumb-sized button: ${controls.height} px`);
  }

  // A tap paints smoke where it lands (pointer events from touch).
  await page.evaluate(() => { window.flowscope.pause(); });
  const before = await page.evaluate(() => window.flowscope.snapshot());
  await page.touchscreen.tap(box.x + box.width * 0.7, box.y + box.height * 0.6);
  await page.evaluate(() => window.flowscope.step(1));
  const after = await page.evaluate(() => window.flowscope.snapshot());
  assert.notEqual(after, before, 'the tap changed the picture');

  // The gallery unfolds behind its button; picking a case folds it again.
  await page.getByTestId('gallery-toggle').tap();
  await page.getByTestId('case-card-heat').tap();
  await page.waitForFunction(() => window.flowscope.state().case === 'heat');
  assert.equal(await page.getByTestId('case-card-heat').isVisible(), false);
  assert.deepEqual(errors, []);
});

for (const mode of ['cpu', 'webgpu']) {
  test(`compare mode on ${mode}`, async (t) => {
    const browser = await launch({ webgpu: mode === 'webgpu' });
    t.after(() => browser.close());
    const query = mode === 'webgpu' ? '?backend=webgpu&display=readback' : '';
    const { page, errors } = await openApp(browser, `${query}#case=heat&n=32&compare=diffusivity:0.0005,0.002`);
    const state = () => page.evaluate(() => window.flowscope.state());

    await t.test('a link opens two sides, stepped together in simulated time', async () => {
      let s = await state();
      assert.deepEqual(s.compare.values, ['0.0005', '0.002']);
      assert.equal(s.params.diffusivity, 0.0005, 'the first side runs the first value');
      await page.getByTestId('viewport-b').locator('canvas').waitFor();
      s = await page.evaluate(async () => { window.flowscope.pause(); await window.flowscope.step(20); return window.flowscope.state(); });
      assert.equal(s.backend, mode);
      assert.ok(Math.abs(s.compare.time - s.time) <= s.dt, `second side at t ${s.compare.time}, first at ${s.time}`);
      const o = await page.evaluate(() => window.flowscope.observables());
      // (On the GPU backend a paused case's observables come with its read-back: one point here.)
      // Recorded at each side's own time: the second side steps until it reaches the first's.
      const [first, second] = [o.time.at(-1), o.compare.time.at(-1)];
      assert.ok(o.compare.max.length >= 1 && Math.abs(second - first) <= s.dt, `the second side's observables at t ${second}, the first's at ${first} (dt ${s.dt})`);
      assert.notEqual(o.compare.max.at(-1), o.max.at(-1), 'faster diffusion, a lower maximum');
      const legend = await page.getByTestId('observable-max').innerText();
      assert.match(legend, /diffusivity = 0\.0005/);
      assert.match(legend, /diffusivity = 0\.002/);
      assert.match(await page.evaluate(() => location.hash), /compare=diffusivity/);
    });

    await t.test('the difference view is zero for equal settings and not otherwise', async () => {
      let s = await page.evaluate(async () => {
        await window.flowscope.compare('diffusivity', [0.001, 0.001], { difference: true });
        await window.flowscope.step(10);
        return window.flowscope.state();
      });
      await page.getByTestId('difference-canvas').waitFor();
      assert.equal(s.compare.difference, true);
      assert.equal(s.compare.maxDifference, 0, 'same parameters, same fields');
      s = await page.evaluate(async () => {
        await window.flowscope.compare('diffusivity', [0.0005, 0.002], { difference: true });
        await window.flowscope.step(10);
        return window.flowscope.state();
      });
      assert.ok(s.compare.maxDifference > 1e-4, `difference ${s.compare.maxDifference}`);
    });

    await t.test('bad comparisons are refused; compare(null) ends it', async () => {
      await assert.rejects(page.evaluate(() => window.flowscope.compare('nope', [1, 2])), /no parameter 'nope'/);
      await assert.rejects(page.evaluate(() => window.flowscope.compare('diffusivity', [0.001])), /two values/);
      await assert.rejects(page.evaluate(() => window.flowscope.set('diffusivity', 0.001)), /being compared/);
      const s = await page.evaluate(() => window.flowscope.compare(null));
      assert.equal(s.compare, null);
      assert.equal(await page.getByTestId('viewport-b').isVisible(), false);
    });

    if (mode === 'cpu') {
      await t.test('the compare controls start and end it', async () => {
        await page.getByTestId('compare-bar').locator('summary').click();
        await page.getByTestId('compare-param').selectOption('diffusivity');
        await page.getByTestId('compare-a').fill('0.0005');
        await page.getByTestId('compare-b').fill('0.003');
        await page.getByTestId('compare-start').click();
        await page.waitForFunction(() => window.flowscope.state().compare !== null);
        assert.deepEqual((await state()).compare.values, ['0.0005', '0.003']);
        await page.getByTestId('compare-end').click();
        await page.waitForFunction(() => window.flowscope.state().compare === null);
      });
    }

    await t.test('no errors in the console', () => {
      assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), []);
    });
  });
}
