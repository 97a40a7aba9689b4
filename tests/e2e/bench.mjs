// Browser benchmark for `cargo xtask bench heat`: ms/step of the heat case at 256² and 1024²,
// WebGPU (SwiftShader here) and CPU (wasm), timed around window.flowscope.step(n), which
// resolves once the GPU has finished. Prints JSON.
import { launch, openApp } from './browser.mjs';

const results = [];
for (const backend of ['webgpu', 'cpu']) {
  const browser = await launch({ webgpu: backend === 'webgpu' });
  const { page } = await openApp(browser, backend === 'webgpu' ? '?display=readback' : '?backend=cpu');
  for (const n of [256, 1024]) {
    const steps = n === 256 ? 200 : 40;
    const ms = await page.evaluate(async ({ n, steps }) => {
      await window.flowscope.load('heat', { n });
      window.flowscope.pause();
      await window.flowscope.step(10);
      const t0 = performance.now();
      await window.flowscope.step(steps);
      return (performance.now() - t0) / steps;
    }, { n, steps });
    const state = await page.evaluate(() => window.flowscope.state());
    if (state.backend !== backend) throw new Error(`expected ${backend}, ran on ${state.backend}`);
    results.push({ backend, n, steps, ms_per_step: ms });
  }
  await browser.close();
}
console.log(JSON.stringify(results));
