//! CPU threads. The site ships two builds of this crate: the plain one, single-threaded, and a
//! threaded one (wasm with shared memory) that index.html loads when the page is cross-origin
//! isolated. The threaded build starts the Web Workers of `flowscope_parallel`'s pool here.
//! `?threads=N` asks for N threads in all, the page's own included (1 loads the plain build);
//! the default is one per core, at most eight.

/// The most threads a page starts by default: more cores gain little at these sizes, and each
/// worker holds its own copy of the compiled module.
#[cfg(target_feature = "atomics")]
const DEFAULT_MAX: u32 = 8;

/// The thread count the URL asks for, if any.
fn requested() -> Result<Option<u32>, String> {
    match crate::ui::query_param("threads") {
        None => Ok(None),
        Some(text) => match text.parse::<u32>() {
            Ok(n @ 1..=64) => Ok(Some(n)),
            _ => Err(format!(
                "Link: threads={text} is not a thread count from 1 to 64; using the default"
            )),
        },
    }
}

/// Starts the workers (threaded build); they join the pool as they come up, and the loops use
/// whoever is there. Returns a notice for the page when the request cannot be met as asked.
pub fn start() -> Option<String> {
    let (wanted, notice) = match requested() {
        Ok(wanted) => (wanted, None),
        Err(notice) => (None, Some(notice)),
    };
    #[cfg(target_feature = "atomics")]
    {
        let cores = web_sys::window().map_or(1.0, |w| w.navigator().hardware_concurrency());
        let threads = wanted.unwrap_or((cores as u32).clamp(1, DEFAULT_MAX));
        workers::spawn_workers(threads - 1, wasm_bindgen::module(), wasm_bindgen::memory());
        notice
    }
    #[cfg(not(target_feature = "atomics"))]
    match wanted {
        Some(n) if n > 1 && notice.is_none() => Some(format!(
            "Link: threads={n} needs a cross-origin isolated page (see docs/EMBEDDING.md); \
             running on one thread"
        )),
        _ => notice,
    }
}

#[cfg(target_feature = "atomics")]
mod workers {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/src/threads.js")]
    extern "C" {
        pub fn spawn_workers(count: u32, module: JsValue, memory: JsValue);
    }

    /// A worker's entry point (called by threads.js): serve the pool, never return.
    #[wasm_bindgen]
    pub fn flowscope_worker_main() {
        flowscope_parallel::pool::serve()
    }

    /// Called by threads.js when a worker died mid-job.
    #[wasm_bindgen]
    pub fn flowscope_worker_failed() {
        flowscope_parallel::pool::worker_failed()
    }
}
