// Browser side of `cargo xtask bench nn`: forward latency of the benchmark UNet in headless
// Chromium, our runtime (window.flowscope.nn, CPU and WebGPU) against onnxruntime-web (wasm and
// WebGPU execution providers) on the same weights exported to ONNX, same inputs. The site must
// hold bench-nn/unet.safetensors, bench-nn/unet.onnx and onnxruntime-web's dist in bench-nn/ort/.
// FLOWSCOPE_BENCH_NN: {"shapes": [[1, 3, 32, 64], ...], "seconds": 2, "slow_s": 30}, optionally
// "skip": [runtime names] (e.g. the WebGPU ones, minutes each on a software adapter), "rounds"
// (3 unless given).
// Prints one JSON report {rows: [{runtime, shape, ms, runs, rel_diff}], isolated, our_threads,
// ort_threads} (rel_diff: max |y - ours CPU| / max |y|).
import { launch, openApp } from './browser.mjs';

const plan = JSON.parse(process.env.FLOWSCOPE_BENCH_NN ?? '{"shapes":[[1,3,32,64]],"seconds":2,"slow_s":30}');
const browser = await launch({ webgpu: true });
// One page per group of runtimes, opened and closed in turn, so that no runtime's threads share
// the cores with another's runs. The pages are cross-origin isolated: ours run the threaded
// build (one thread per core) except the one with ?threads=1, which times the single-threaded
// build that non-isolated pages get; onnxruntime-web uses one thread per core too.
const groups = [
  { path: '?backend=webgpu&display=readback', runtimes: ['flowscope cpu', 'flowscope webgpu'] },
  { path: '?backend=cpu&threads=1', runtimes: ['flowscope cpu'], label: 'flowscope cpu, 1 thread' },
  { path: '?backend=webgpu&display=readback', runtimes: ['onnxruntime-web wasm', 'onnxruntime-web webgpu'], ort: true },
];
// The machine's speed drifts by tens of percent over minutes, so the groups take turns over
// `rounds` rounds and each row reports the median round (and the spread); the WebGPU runtimes,
// seconds per run on a software adapter, run in the first round only.
const rounds = plan.rounds ?? 3;
const report = { rows: [] };
const errors = [];
const taken = new Map();
for (let round = 0; round < rounds; round++) {
  for (const group of groups) {
    const skip = [...(plan.skip ?? []), ...(round > 0 ? group.runtimes.filter((r) => r.includes('webgpu')) : [])];
    if (group.runtimes.every((r) => skip.includes(r))) continue;
    const opened = await openApp(browser, group.path);
    opened.page.setDefaultTimeout(0);
    await opened.page.evaluate(() => window.flowscope.pause());
    if (group.ort) await opened.page.addScriptTag({ url: 'bench-nn/ort/ort.all.min.js' });
    const result = await opened.page.evaluate(measure, { ...plan, ...group, skip });
    for (const row of result.rows) {
      const key = `${row.runtime}|${row.shape}`;
      if (!taken.has(key)) taken.set(key, []);
      taken.get(key).push(row);
    }
    Object.assign(report, result.info);
    errors.push(...opened.errors);
    await opened.page.close();
  }
}
for (const rows of taken.values()) {
  const timed = rows.filter((r) => r.ms !== undefined).sort((a, b) => a.ms - b.ms);
  if (!timed.length) {
    report.rows.push(rows[0]);
    continue;
  }
  const median = timed[(timed.length - 1) >> 1];
  report.rows.push({
    ...median,
    runs: timed.reduce((sum, r) => sum + r.runs, 0),
    rounds: timed.length,
    spread: [timed[0].ms, timed.at(-1).ms],
  });
}
const order = (row) => plan.shapes.findIndex((s) => String(s) === String(row.shape));
report.rows.sort((a, b) => order(a) - order(b));
await browser.close();
if (errors.length) console.error(errors.join('\n'));
console.log(JSON.stringify(report));

/** Times `plan.runtimes` on `plan.shapes`; every output is compared with ours on the CPU. */
async function measure(plan) {
  const ort = window.ort;
  if (ort) {
    ort.env.wasm.wasmPaths = new URL('bench-nn/ort/', location.href).href;
    // Threads need a cross-origin isolated page (SharedArrayBuffer); the bench server makes it so.
    ort.env.wasm.numThreads = self.crossOriginIsolated ? navigator.hardwareConcurrency : 1;
  }
  const ours = await window.flowscope.nn.load('bench-nn/unet.safetensors');
  const sessions = {};
  for (const provider of ort ? ['wasm', 'webgpu'] : []) {
    try {
      sessions[provider] = await ort.InferenceSession.create('bench-nn/unet.onnx', { executionProviders: [provider] });
    } catch (e) {
      sessions[provider] = String(e);
    }
  }
  const random = (n, seed) => {
    const out = new Float32Array(n);
    let s = seed >>> 0;
    for (let k = 0; k < n; k++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[k] = s / 2 ** 31 - 1;
    }
    return out;
  };
  const runtimes = {
    'flowscope cpu': (x, cond, t, shape) => ours.run(x, shape, { t, cond, backend: 'cpu' }),
    'flowscope webgpu': (x, cond, t, shape) => ours.run(x, shape, { t, cond, backend: 'webgpu' }),
    'onnxruntime-web wasm': async (x, cond, t, shape) => ort_run('wasm', x, cond, t, shape),
    'onnxruntime-web webgpu': async (x, cond, t, shape) => ort_run('webgpu', x, cond, t, shape),
  };
  async function ort_run(provider, x, cond, t, shape) {
    const session = sessions[provider];
    if (typeof session === 'string') throw new Error(session);
    const out = await session.run({
      x: new ort.Tensor('float32', x, shape),
      t: new ort.Tensor('float32', new Float32Array(shape[0]).fill(t), [shape[0]]),
      cond: new ort.Tensor('float32', cond, shape),
    });
    return out.y.data;
  }
  const rows = [];
  const tooSlow = new Set();
  for (const shape of plan.shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = random(n, 1), cond = random(n, 2), t = 10;
    const reference = await runtimes['flowscope cpu'](x, cond, t, shape);
    const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const wanted = ([n]) => plan.runtimes.includes(n) && !(plan.skip ?? []).includes(n);
    for (const [name, run] of Object.entries(runtimes).filter(wanted)) {
      if (tooSlow.has(name)) {
        rows.push({ runtime: plan.label ?? name, shape, skipped: `a smaller input took over ${plan.slow_s} s` });
        continue;
      }
      try {
        let t0 = performance.now();
        const y = await run(x, cond, t, shape);
        const first = (performance.now() - t0) / 1000;
        let diff = 0;
        for (let k = 0; k < y.length; k++) diff = Math.max(diff, Math.abs(y[k] - reference[k]));
        let runs = 0;
        t0 = performance.now();
        const budget = first > plan.slow_s / 4 ? 0 : plan.seconds * 1000;
        while (runs < 1 || (performance.now() - t0 < budget) || (runs < 3 && first < 1)) {
          await run(x, cond, t, shape);
          runs++;
        }
        rows.push({ runtime: plan.label ?? name, shape, ms: (performance.now() - t0) / runs, runs, rel_diff: diff / scale });
        if ((performance.now() - t0) / runs > plan.slow_s * 1000) tooSlow.add(name);
      } catch (e) {
        rows.push({ runtime: plan.label ?? name, shape, error: String(e.message ?? e) });
      }
    }
  }
  const info = { isolated: self.crossOriginIsolated, parameters: ours.parameters };
  if (ort) info.ort_threads = ort.env.wasm.numThreads;
  else if (!plan.label) info.our_threads = window.flowscope.state().threads;
  return { rows, info };
}
