//! How many threads the CPU reference uses: native builds spread the advection's rows over the
//! cores with rayon (set `RAYON_NUM_THREADS` to choose); the browser's wasm is single-threaded.

pub fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::current_num_threads();
    #[cfg(target_arch = "wasm32")]
    return 1;
}

/// Runs two independent pieces of work, side by side where there are threads.
pub fn join<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::join(a, b);
    #[cfg(target_arch = "wasm32")]
    return (a(), b());
}
