// Browser benchmark for `cargo xtask bench`: ms/step of one case at several grid sizes, WebGPU
// (SwiftShader here) and CPU (wasm: the single-threaded build and the threaded one, which the
// cross-origin isolated server lets the page load), timed around window.flowscope.step(n), which
// resolves once the GPU has finished. FLOWSCOPE_BENCH names the case, sizes and extra parameters as JSON:
// {"case": "heat", "sizes": [[256, 200], [1024, 40]], "params": {}}, or instead of sizes
// "runs": [{"label": "4 samples", "params": {...}, "steps": 3, "warmup": 20, "skip": ["webgpu"]}] (a
// run skips the backends it lists; its warm-up defaults to a tenth of its steps; "steps" may be
// {"webgpu": n, "cpu": m} where a step means more work on one backend; "done": true checks that the
// case's long work is over, state().progress null, after the steps). Prints JSON.
import { launch, openApp } from './browser.mjs';

const plan = JSON.parse(process.env.FLOWSCOPE_BENCH ?? '{"case":"heat","sizes":[[256,200],[1024,40]],"params":{}}');
const runs = plan.runs ?? plan.sizes.map(([n, steps]) => ({ label: n, params: { n }, steps }));
const results = [];
const modes = [
  { label: 'webgpu', backend: 'webgpu', path: '?backend=webgpu&display=readback' },
  { label: 'cpu (wasm, 1 thread)', backend: 'cpu', path: '?backend=cpu&threads=1' },
  { label: 'cpu (wasm, threaded)', backend: 'cpu', path: '?backend=cpu' },
];
for (const { label, backend, path } of modes) {
  const browser = await launch({ webgpu: backend === 'webgpu' });
  const { page } = await openApp(browser, path);
  if (label.includes('threaded')) {
    // The workers join as they come up.
    await page.waitForFunction(() => window.flowscope.state().threads
      >= Math.min(navigator.hardwareConcurrency, 8), null, { timeout: 30_000 });
  }
  const threads = await page.evaluate(() => window.flowscope.state().threads);
  for (const { label: n, params, steps: planned, warmup, skip, done } of runs) {
    if (skip?.includes(backend)) continue;
    const steps = typeof planned === 'object' ? planned[backend] : planned;
    const ms = await page.evaluate(async ({ plan, params, steps, warmup }) => {
      window.flowscope.pause();
      await window.flowscope.load(plan.case, { ...plan.params, ...params });
      window.flowscope.pause();
      const first = warmup ?? Math.max(2, Math.round(steps / 10));
      if (first > 0) await window.flowscope.step(first);
      const t0 = performance.now();
      await window.flowscope.step(steps);
      return (performance.now() - t0) / steps;
    }, { plan, params, steps, warmup });
    const state = await page.evaluate(() => window.flowscope.state());
    if (state.backend !== backend) throw new Error(`expected ${backend}, ran on ${state.backend}`);
    if (state.error) throw new Error(`${plan.case} at ${n}: ${state.error}`);
    if (done && state.progress) throw new Error(`${plan.case} at ${n}: not done (${state.progress.label})`);
    results.push({ backend: label.replace('threaded', `${threads} threads`), n, steps, ms_per_step: ms });
  }
  await browser.close();
}
console.log(JSON.stringify(results));
