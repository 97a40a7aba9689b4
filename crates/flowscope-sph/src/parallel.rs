//! Per-particle loops: spread over the cores with rayon natively (`RAYON_NUM_THREADS` chooses
//! how many), sequential in wasm. Each particle's sum runs in a fixed neighbour order, so the
//! result does not depend on the thread count.

pub fn map_particles<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..n).into_par_iter().map(f).collect()
    }
    #[cfg(target_arch = "wasm32")]
    {
        (0..n).map(f).collect()
    }
}
