// The threaded build's Web Workers. This file runs in two places: on the page, where the
// module's bindings import it to start the workers, and as each worker's own script, where
// it instantiates the module on the page's shared memory and hands the thread to the pool.

export function spawn_workers(count, module, memory) {
  // wasm-bindgen copies this file to pkg-threads/snippets/<crate>/src/threads.js.
  const bindings = new URL('../../../flowscope_web.js', import.meta.url).href;
  for (let k = 0; k < count; k++) {
    const worker = new Worker(import.meta.url, { type: 'module', name: `flowscope-worker-${k + 1}` });
    worker.onerror = (event) => console.error('Flowscope: a worker failed to start:', event.message);
    worker.postMessage({ bindings, module, memory });
  }
}

if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  self.onmessage = async ({ data }) => {
    const glue = await import(data.bindings);
    glue.initSync({ module: data.module, memory: data.memory });
    try {
      glue.flowscope_worker_main();
    } catch (error) {
      // A panic traps the worker; the page's thread waiting on its job then reports it.
      console.error('Flowscope: a worker stopped:', error);
      glue.flowscope_worker_failed();
    }
  };
}
