// The playground as a teacher uses it: links, embedding, the JS and postMessage APIs, exports,
// plots, display controls, keyboard and accessibility. CPU backend (no WebGPU flag) unless a
// test says otherwise; the WebGPU paths are covered in app.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { launch, openApp, canvasPixels, differingPixels, URL_BASE, OUT } from './browser.mjs';

const state = (page) => page.evaluate(() => window.flowscope.state());

/** A fresh page at `path` (query and hash), once the API exists: for pages whose first case
 * may not start. */
async function openPage(browser, path) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(URL_BASE + path);
  await page.waitForFunction(() => window.flowscope !== undefined, null, { timeout: 60_000 });
  return { page };
}

test('playground', async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());

  await t.test('a link restores case, parameters, view and colormap; copy link round-trips', async () => {
    const { page, errors } = await openApp(browser, '#case=lid-cavity&Re=400&n=32&view=vorticity&cmap=inferno&spf=2');
    let s = await state(page);
    assert.equal(s.case, 'lid-cavity');
    assert.equal(s.params.Re, 400);
    assert.equal(s.params.n, 32);
    assert.equal(s.view, 'vorticity');
    assert.equal(s.colormap, 'inferno');
    assert.equal(await page.getByTestId('url-notice').count(), 0, 'a clean link has no notice');
    // Change things through the UI, then share.
    await page.getByTestId('param-Re').fill('250');
    await page.getByTestId('param-Re').dispatchEvent('change');
    await page.getByTestId('view-select').selectOption('pressure');
    await page.getByTestId('colormap-select').selectOption('viridis');
    await page.getByTestId('btn-copy-link').click();
    const link = await page.getByTestId('copied-link').inputValue();
    assert.match(link, /#case=lid-cavity&/);
    const second = await browser.newPage();
    await second.goto(link);
    await second.waitForFunction(() => window.flowscope?.state().backend);
    s = await state(second);
    assert.equal(s.case, 'lid-cavity');
    assert.equal(s.params.Re, 250);
    assert.equal(s.params.n, 32);
    assert.equal(s.view, 'pressure');
    assert.equal(s.colormap, 'viridis');
    await second.close();
    assert.deepEqual(errors, []);
    await page.close();
  });

  await t.test('a preset sets its parameters and restarts the case', async () => {
    const { page } = await openApp(browser, '#case=dam-break&n=8');
    await page.getByTestId('preset-select').selectOption('dfsph');
    await page.waitForFunction(() => window.flowscope.state().params.solver === 'dfsph');
    const s = await state(page);
    assert.equal(s.params.n, 20, 'the preset starts from the defaults');
    assert.match(decodeURIComponent(page.url()), /solver=dfsph/);
    assert.match(await page.getByTestId('controls-grid').innerText(), /^\d+ particles$/);
    // Bigger particles cover more of the picture.
    await page.evaluate(() => window.flowscope.step(5));
    await page.waitForTimeout(300);
    const before = await canvasPixels(page);
    await page.getByTestId('particle-size').fill('2');
    await page.waitForTimeout(300);
    assert.ok(differingPixels(before, await canvasPixels(page)) > 200, 'particle size changed the picture');
    assert.match(page.url(), /psize=2/);
    await page.close();
  });

  await t.test('a corrupted link is fixed up with a visible notice, never a crash', async () => {
    const { page } = await openApp(browser, '#case=lid-cavity&Re=abc&n=3&view=nope&cmap=rainbow&bogus=1&spf=0');
    const notice = await page.getByTestId('url-notice').innerText();
    for (const expected of [/Re/, /'n' = 3 is out of range/, /no view 'nope'/, /colormap 'rainbow'/, /'bogus'/, /steps per frame/]) {
      assert.match(notice, expected);
    }
    const s = await state(page);
    assert.equal(s.params.Re, 100, 'unparseable: the default');
    assert.equal(s.params.n, 16, 'out of range: clamped');
    assert.equal(s.view, 'speed');
    assert.equal(await page.locator('#fatal').isHidden(), true);
    await page.close();
    // A fresh page, and a hash edited in the address bar of a running one.
    for (const reload of [true, false]) {
      const { page } = await openApp(browser, reload ? '#case=no-such-case' : '#case=lid-cavity&n=16');
      if (!reload) await page.evaluate(() => { location.hash = '#case=no-such-case'; });
      await page.waitForFunction(() => /no-such-case/.test(
        document.querySelector('[data-testid="url-notice"]')?.textContent ?? ''));
      assert.equal((await state(page)).case, 'heat');
      await page.close();
    }
    // A link with a thousand bad keys (one of them huge) raises a few short notices, not a wall.
    const keys = Array.from({ length: 1000 }, (_, k) => `bad${k}=1`).join('&');
    const flood = await openApp(browser, `#case=heat&${'x'.repeat(100000)}=1&${keys}`);
    const items = await flood.page.locator('[data-testid="url-notice"] li').allInnerTexts();
    assert.equal(items.length, 9, `${items.length} notices`);
    assert.ok(items.every((text) => text.length < 260), 'each notice is short');
    assert.match(items[8], /993 more problems/);
    await flood.page.close();
  });

  await t.test('embed mode shows only the viewport and the chosen controls, sized to its frame', async () => {
    const page = await browser.newPage({ viewport: { width: 480, height: 360 } });
    await page.goto(URL_BASE + '?embed=1#case=heat&n=64');
    await page.waitForFunction(() => window.flowscope?.state().backend);
    for (const hidden of ['gallery', 'params', 'explanation', 'plots', 'btn-help', 'view-select']) {
      assert.equal(await page.getByTestId(hidden).count(), 0, `${hidden} hidden`);
    }
    for (const shown of ['btn-play', 'btn-step', 'btn-reset', 'viewport-canvas']) {
      assert.ok(await page.getByTestId(shown).isVisible(), `${shown} shown`);
    }
    const box = await page.getByTestId('viewport-canvas').boundingBox();
    assert.ok(box.width <= 480 && box.height <= 360 && box.width > 150, `canvas ${box.width}×${box.height}`);
    await page.screenshot({ path: `${OUT}/embed.png` });
    await page.goto(URL_BASE + '?embed=1&controls=play,view#case=heat&n=64');
    await page.reload();
    await page.waitForFunction(() => window.flowscope?.state().backend);
    assert.equal(await page.getByTestId('btn-step').count(), 0);
    assert.ok(await page.getByTestId('view-select').isVisible());
    await page.close();
  });

  await t.test('a link past the resource budget is refused naming the parameter; ?budget= raises it', async () => {
    const error = (page) => page.waitForFunction(
      () => document.querySelector('[data-testid="sim-error"]')?.textContent ?? '', null, { timeout: 60_000 });
    // A million particles on the CPU used to exhaust the tab.
    const { page } = await openPage(browser, '#case=dam-break&n=710');
    const refusal = await (await error(page)).jsonValue();
    assert.match(refusal, /n = 710 asks for 1\.0 M particles, over this page's budget of 200 k/);
    assert.match(refusal, /\?budget=6/);
    assert.equal(await page.locator('#fatal').isHidden(), true);
    // The page keeps running: a smaller setting starts at once.
    const s = await page.evaluate(() => window.flowscope.load('dam-break', { n: 20 }));
    assert.equal(s.error, undefined);
    assert.equal(s.case, 'dam-break');
    await page.close();
    // Twice the budget lets 205 k particles start; a bad factor is named and ignored.
    const raised = await openPage(browser, '?budget=2#case=dam-break&n=320');
    await raised.page.waitForFunction(() => window.flowscope.state().backend === 'cpu', null, { timeout: 60_000 });
    await raised.page.evaluate(() => window.flowscope.pause());
    const started = await state(raised.page);
    assert.equal(started.error, undefined, started.error);
    assert.equal(started.params.n, 320);
    await raised.page.close();
    const bad = await openPage(browser, '?budget=lots#case=heat&n=64');
    await bad.page.waitForFunction(() => /budget=lots is not a factor/.test(
      document.querySelector('[data-testid="url-notice"]')?.textContent ?? ''));
    await bad.page.close();
  });

  await t.test('stiff explicit viscosity is solved implicitly, and the page says so', async () => {
    const { page } = await openApp(browser, '#case=smoke-plume&n=256&nu=1&dt=4');
    await page.evaluate(() => window.flowscope.pause());
    await page.evaluate(() => window.flowscope.step(2));
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="notice"]')]
      .some((n) => /sub-steps a step .* solved implicitly/.test(n.textContent)));
    assert.equal((await state(page)).error, undefined);
    await page.close();
  });

  await t.test('a diverging simulation pauses and says why; Reset starts it again', async () => {
    // Next to no viscosity at the largest CFL number: a particle crosses a wall in ~300 steps.
    const { page } = await openApp(browser, '#case=dam-break&cfl=1&alpha=0&viscosity=0.000001');
    await page.evaluate(() => window.flowscope.pause());
    await assert.rejects(page.evaluate(() => window.flowscope.step(5000)), /diverged: .*went through a wall/);
    const s = await state(page);
    assert.match(s.error, /reset with a smaller time step/);
    assert.equal(s.playing, false);
    assert.ok(s.step > 0 && s.step < 5000, `stopped at step ${s.step}`);
    await page.getByTestId('sim-error').getByRole('button', { name: 'Reset' }).click();
    await page.waitForFunction(() => window.flowscope.state().error === undefined);
    assert.equal((await state(page)).step, 0);
    assert.equal(await page.locator('#fatal').isHidden(), true);
    await page.close();
  });

  await t.test('the JS API: set, observables, snapshot, and errors for bad input', async () => {
    const { page } = await openApp(browser, '#case=heat&n=64');
    await page.evaluate(() => window.flowscope.pause());
    let s = await page.evaluate(() => window.flowscope.set('diffusivity', 0.002));
    assert.equal(s.params.diffusivity, 0.002);
    await assert.rejects(page.evaluate(() => window.flowscope.set('nope', 1)), /no parameter 'nope'/);
    await assert.rejects(page.evaluate(() => window.flowscope.set('diffusivity', 5)), /out of range/);
    await assert.rejects(page.evaluate(() => window.flowscope.step(-3)), /whole number/);
    await assert.rejects(page.evaluate(() => window.flowscope.step(NaN)), /finite numbers/);
    await assert.rejects(page.evaluate(() => window.flowscope.load('heat', 5)), /params must be an object/);
    await assert.rejects(page.evaluate(() => window.flowscope.set('n', [64])), /number or a string/);
    const start = (await state(page)).step;
    await page.evaluate(() => window.flowscope.step(30));
    const observables = await page.evaluate(() => window.flowscope.observables());
    assert.ok(observables.mean.length >= 2, `recorded ${observables.mean.length} points`);
    assert.equal(observables.mean.length, observables.time.length);
    assert.equal(observables.step.at(-1), start + 30);
    const url = await page.evaluate(() => window.flowscope.snapshot());
    const png = PNG.sync.read(Buffer.from(url.replace(/^data:image\/png;base64,/, ''), 'base64'));
    assert.ok(png.width >= 256, `the view at display resolution, not the 64² grid: ${png.width}`);
    s = await page.evaluate(() => window.flowscope.reset());
    assert.equal(s.step, 0);
    // A long step(n) gives the page turns while it runs, and pause() stops the rest.
    const long = await page.evaluate(async () => {
      const f = window.flowscope;
      await f.load('heat', { n: 512 });
      const start = f.state().step;
      let ticks = 0;
      const timer = setInterval(() => { ticks += 1; }, 10);
      const running = f.step(100000);
      await new Promise((resolve) => setTimeout(resolve, 400));
      f.pause();
      const state = await running;
      clearInterval(timer);
      return { steps: state.step - start, ticks };
    });
    assert.ok(long.steps > 0 && long.steps < 100000, `${long.steps} steps before the pause`);
    assert.ok(long.ticks >= 5, `the page's timer ran ${long.ticks} times meanwhile`);
    await page.close();
  });

  await t.test('the postMessage API answers a cross-origin host page', async () => {
    const page = await browser.newPage();
    // The host listens before the frame exists: start-up's end arrives as a message.
    await page.setContent(`<script>
      window.readyMessages = [];
      addEventListener('message', (e) => { if (e.data?.type === 'flowscope-ready') readyMessages.push(e.data); });
    </script><iframe id="f" src="${URL_BASE}?embed=1#case=heat&n=64" width="400" height="300"></iframe>`);
    await page.waitForFunction(() => window.readyMessages.length > 0, null, { timeout: 60_000 });
    const ready = await page.evaluate(() => window.readyMessages);
    assert.equal(ready.length, 1, 'one ready message');
    assert.equal(ready[0].state.case, 'heat');
    assert.ok(ready[0].state.backend, 'the backend is chosen when ready is announced');
    const replies = await page.evaluate(async () => {
      const target = document.getElementById('f').contentWindow;
      const ask = (message) => new Promise((resolve) => {
        const id = Math.random();
        const listener = (event) => {
          if (event.data?.type === 'flowscope-reply' && event.data.id === id) {
            window.removeEventListener('message', listener);
            resolve(event.data);
          }
        };
        window.addEventListener('message', listener);
        target.postMessage({ type: 'flowscope', id, ...message }, '*');
        setTimeout(() => resolve('no reply'), 3000);
      });
      return {
        ready: await ask({ command: 'ready' }),
        pause: await ask({ command: 'pause' }),
        before: await ask({ command: 'state' }),
        step: await ask({ command: 'step', args: [7] }),
        state: await ask({ command: 'state' }),
        load: await ask({ command: 'load', args: ['lid-cavity', { n: 16 }] }),
        unknown: await ask({ command: 'explode' }),
        badArgs: await ask({ command: 'step', args: 'seven' }),
        noCommand: await ask({ args: [] }),
        observables: await ask({ command: 'observables' }),
      };
    });
    assert.equal(replies.ready.ok, true);
    assert.equal(replies.ready.result.case, 'heat', 'a late ready command is answered at once');
    assert.equal(replies.step.ok, true);
    assert.equal(replies.step.result.step, replies.before.result.step + 7);
    assert.equal(replies.state.result.case, 'heat');
    assert.equal(replies.load.ok, true);
    assert.equal(replies.load.result.case, 'lid-cavity');
    assert.equal(replies.unknown.ok, false);
    assert.match(replies.unknown.error, /unknown command 'explode'/);
    assert.match(replies.badArgs.error, /array/);
    assert.match(replies.noCommand.error, /command/);
    assert.ok(Array.isArray(replies.observables.result.kinetic_energy));
    // Someone else's message gets no reply and no error.
    const ignored = await page.evaluate(() => new Promise((resolve) => {
      let answered = false;
      window.addEventListener('message', () => { answered = true; });
      document.getElementById('f').contentWindow.postMessage({ hello: 'world' }, '*');
      setTimeout(() => resolve(!answered), 800);
    }));
    assert.ok(ignored);
    // Arguments past 16 kB of JSON are refused; a flood of messages past 200 a second too.
    const limits = await page.evaluate(async () => {
      const target = document.getElementById('f').contentWindow;
      const replies = [];
      window.addEventListener('message', (e) => { if (e.data?.type === 'flowscope-reply') replies.push(e.data); });
      target.postMessage({ type: 'flowscope', id: 'big', command: 'load', args: ['heat', { junk: 'x'.repeat(20000) }] }, '*');
      for (let k = 0; k < 250; k++) target.postMessage({ type: 'flowscope', id: `flood-${k}`, command: 'state' }, '*');
      await new Promise((resolve) => setTimeout(resolve, 800));
      return {
        big: replies.find((r) => r.id === 'big'),
        refused: replies.filter((r) => String(r.id).startsWith('flood-') && !r.ok).map((r) => r.error),
        answered: replies.filter((r) => String(r.id).startsWith('flood-') && r.ok).length,
      };
    });
    assert.equal(limits.big.ok, false);
    assert.match(limits.big.error, /at most 16384/);
    assert.ok(limits.refused.length >= 1 && limits.answered >= 150, `${limits.refused.length} of 250 refused`);
    assert.match(limits.refused[0], /at most 200 a second/);
    // A window that is not the embedding page (here a sibling frame) is not answered, with one
    // console warning.
    const warnings = [];
    page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const sibling = await page.evaluate(() => new Promise((resolve) => {
      window.siblingDone = resolve;
      const g = document.createElement('iframe');
      g.srcdoc = `<script>
        const target = parent.document.getElementById('f').contentWindow;
        let answered = false;
        addEventListener('message', (e) => { if (e.data?.type === 'flowscope-reply') answered = true; });
        target.postMessage({ type: 'flowscope', id: 1, command: 'state' }, '*');
        setTimeout(() => parent.siblingDone(!answered), 800);
      <\/script>`;
      document.body.appendChild(g);
    }));
    assert.ok(sibling, 'a sibling frame gets no answer');
    assert.ok(warnings.some((w) => /ignoring commands from .*only the page that embeds it/.test(w)), warnings.join('\n'));
    await page.close();
  });

  await t.test('exports: PNG of the viewport, CSV of the observables, the field as .npy', async () => {
    const { page } = await openApp(browser, '#case=lid-cavity&n=16');
    await page.evaluate(() => window.flowscope.pause());
    await page.evaluate(() => window.flowscope.reset());
    await page.evaluate(() => window.flowscope.step(20));
    const save = async (button) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(button).click()]);
      const path = `${OUT}/${download.suggestedFilename()}`;
      await download.saveAs(path);
      return { name: download.suggestedFilename(), bytes: readFileSync(path) };
    };
    const png = await save('btn-export-png');
    assert.match(png.name, /lid-cavity\.png$/);
    assert.ok(PNG.sync.read(png.bytes).width > 0);
    const csv = await save('btn-export-csv');
    const lines = csv.bytes.toString().trim().split('\n');
    assert.match(lines[0], /^t,step,kinetic_energy,max_divergence,/);
    assert.ok(lines.length >= 3, `${lines.length} CSV lines`);
    assert.equal(lines[1].split(',').length, lines[0].split(',').length);
    const npy = await save('btn-export-npy');
    assert.match(npy.name, /speed_20\.npy$/);
    assert.equal(npy.bytes.subarray(0, 6).toString('latin1'), '\x93NUMPY');
    const header = npy.bytes.subarray(10, 10 + npy.bytes.readUInt16LE(8)).toString();
    assert.match(header, /'descr': '<f4'/);
    assert.match(header, /'shape': \(16, 16,? ?\)/);
    assert.equal(npy.bytes.length - 10 - npy.bytes.readUInt16LE(8), 16 * 16 * 4);
    await page.close();
  });

  await t.test('plots: observables against time, the cavity centrelines on Ghia, Sod on the exact solution', async () => {
    const { page } = await openApp(browser, '#case=lid-cavity&n=16');
    await page.evaluate(() => window.flowscope.pause());
    await page.evaluate(() => window.flowscope.step(40));
    const ghia = page.getByTestId('plot-u_centreline');
    await ghia.waitFor();
    assert.ok(await ghia.locator('circle').count() >= 17, 'Ghia points drawn');
    assert.match(await ghia.innerText(), /Ghia/);
    const energy = page.getByTestId('observable-kinetic_energy');
    assert.equal(await energy.locator('polyline').count(), 1);
    await page.screenshot({ path: `${OUT}/plots-lid-cavity.png`, fullPage: true });
    await page.evaluate(() => window.flowscope.load('sod-shock-tube', {}));
    await page.evaluate(() => window.flowscope.pause());
    await page.evaluate(() => window.flowscope.step(100));
    const density = page.getByTestId('plot-density');
    await density.waitFor();
    assert.match(await density.innerText(), /exact/);
    assert.equal(await density.locator('polyline').count(), 1, 'the exact line');
    await page.screenshot({ path: `${OUT}/plots-sod.png`, fullPage: true });
    await page.close();
  });

  await t.test('view, colormap, fixed range, arrows and the hover readout', async () => {
    const { page } = await openApp(browser, '#case=lid-cavity&n=32');
    await page.evaluate(() => window.flowscope.pause());
    await page.evaluate(() => window.flowscope.step(50));
    await page.waitForTimeout(300);
    const before = await canvasPixels(page);
    await page.getByTestId('view-select').selectOption('vorticity');
    await page.waitForTimeout(300);
    assert.equal((await state(page)).view, 'vorticity');
    assert.match(await page.getByTestId('colorbar').innerText(), /Vorticity/);
    assert.ok(differingPixels(before, await canvasPixels(page)) > 500, 'another field drawn');
    const gradient = () => page.locator('[data-testid="colorbar"] .bar').getAttribute('style');
    const coolwarm = await gradient();
    await page.getByTestId('colormap-select').selectOption('inferno');
    assert.equal((await state(page)).colormap, 'inferno');
    await page.waitForFunction((before) => document.querySelector('[data-testid="colorbar"] .bar')
      .getAttribute('style') !== before, coolwarm);
    assert.notEqual(await gradient(), coolwarm, 'the colorbar shows the chosen colormap');
    await page.getByTestId('range-min').fill('-2');
    await page.getByTestId('range-min').dispatchEvent('change');
    await page.getByTestId('range-max').fill('2');
    await page.getByTestId('range-max').dispatchEvent('change');
    const ticks = await page.getByTestId('colorbar').innerText();
    assert.match(ticks, /2\.000/);
    assert.match(ticks, /-2\.000/);
    assert.match(decodeURIComponent(page.url()), /range=-2,2/);
    await page.getByTestId('arrows-toggle').check();
    await page.evaluate(() => window.flowscope.step(1));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="arrows"] line').length > 20);
    const box = await page.getByTestId('viewport-canvas').boundingBox();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.1);
    await page.waitForFunction(() => /x = 0\.\d+, y = 0\.9\d* · Vorticity[^=]* = -?\d/.test(
      document.querySelector('[data-testid="hover-readout"]').textContent));
    await page.screenshot({ path: `${OUT}/display-controls.png`, fullPage: true });
    await page.close();
  });

  await t.test('touch: a finger paints heat like the mouse does', async () => {
    const context = await browser.newContext({ hasTouch: true, viewport: { width: 800, height: 900 } });
    const page = await context.newPage();
    await page.goto(URL_BASE + '#case=heat&initial=cold&n=64');
    await page.waitForFunction(() => window.flowscope?.state().backend);
    await page.evaluate(() => window.flowscope.pause());
    await page.waitForTimeout(200);
    const cold = await canvasPixels(page);
    const box = await page.getByTestId('viewport-canvas').boundingBox();
    await page.touchscreen.tap(box.x + box.width * 0.4, box.y + box.height * 0.6);
    await page.evaluate(() => window.flowscope.step(1));
    await page.waitForTimeout(300);
    assert.ok(differingPixels(cold, await canvasPixels(page)) > 100, 'a tap painted heat');
    await context.close();
  });

  await t.test('the paddle of the SPH playground follows a dragging pointer and pushes the water', async () => {
    const { page } = await openApp(browser, '#case=sph-playground&paddle=0&n=40');
    await page.evaluate(() => window.flowscope.pause());
    await page.getByTestId('pointer-mode').selectOption({ label: 'drag the paddle' });
    const box = await page.getByTestId('viewport-canvas').boundingBox();
    await page.mouse.move(box.x + box.width * 0.12, box.y + box.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5, { steps: 6 });
    await page.mouse.up();
    await page.evaluate(() => window.flowscope.step(300));
    const { momentum_x: momentum } = await page.evaluate(() => window.flowscope.observables());
    assert.ok(momentum.at(-1) > 0.01, `the water moves right: momentum ${momentum.at(-1)}`);
    await page.screenshot({ path: `${OUT}/sph-playground-paddle.png`, fullPage: true });
    await page.close();
  });

  await t.test('keyboard: Space plays and pauses, → steps, r resets; the help lists them', async () => {
    const { page } = await openApp(browser, '#case=heat&n=64');
    await page.evaluate(() => window.flowscope.pause());
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    const start = (await state(page)).step;
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    assert.equal((await state(page)).step, start + 2);
    await page.keyboard.press('Space');
    assert.equal((await state(page)).playing, true);
    await page.keyboard.press('Space');
    assert.equal((await state(page)).playing, false);
    await page.keyboard.press('r');
    assert.equal((await state(page)).step, 0);
    await page.getByTestId('btn-help').click();
    const help = await page.getByTestId('help-popover').innerText();
    assert.match(help, /Space[\s\S]*play[\s\S]*→[\s\S]*step[\s\S]*r[\s\S]*reset/);
    await page.close();
  });

  await t.test('every control has an accessible name; reduced motion starts paused', async () => {
    const context = await browser.newContext({ reducedMotion: 'reduce' });
    const page = await context.newPage();
    await page.goto(URL_BASE + '#case=lid-cavity&n=16');
    await page.waitForFunction(() => window.flowscope?.state().backend);
    assert.equal((await state(page)).playing, false, 'paused for reduced motion');
    const unnamed = await page.evaluate(() => [...document.querySelectorAll('button, input, select, a')]
      .filter((e) => e.offsetParent !== null)
      .filter((e) => !(e.getAttribute('aria-label') || e.labels?.length || e.textContent.trim() || e.title))
      .map((e) => e.outerHTML.slice(0, 80)));
    assert.deepEqual(unnamed, []);
    await context.close();
  });

  await t.test('first load: time to first frame', async () => {
    const page = await browser.newPage();
    await page.goto(URL_BASE + '#case=heat');
    await page.waitForFunction(() => window.flowscope?.state().firstFrameMs != null, null, { timeout: 60_000 });
    const firstFrameMs = (await state(page)).firstFrameMs;
    writeFileSync(`${OUT}/first-frame.json`, JSON.stringify({ firstFrameMs }) + '\n');
    assert.ok(firstFrameMs > 0);
    await page.close();
  });
});
