// First-load benchmark for `cargo xtask bench site`: time from navigation to the first drawn
// frame (the app's `state().firstFrameMs`, on performance.now()'s clock) in a fresh browser
// each run, CPU backend and WebGPU (SwiftShader). Prints JSON.
import { launch, URL_BASE } from './browser.mjs';

const RUNS = 5;
const results = [];
for (const backend of ['cpu', 'webgpu']) {
  for (let run = 0; run < RUNS; run++) {
    const browser = await launch({ webgpu: backend === 'webgpu' });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const query = backend === 'webgpu' ? '?backend=webgpu&display=readback' : '?backend=cpu';
    await page.goto(URL_BASE + query);
    await page.waitForFunction(() => window.flowscope?.state().firstFrameMs != null, null, { timeout: 60_000 });
    const timing = await page.evaluate(() => ({
      firstFrameMs: window.flowscope.state().firstFrameMs,
      domContentLoadedMs: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
      backend: window.flowscope.state().backend,
    }));
    if (timing.backend !== backend) throw new Error(`expected ${backend}, ran on ${timing.backend}`);
    results.push({ backend, ...timing });
    await browser.close();
  }
}
console.log(JSON.stringify(results));
