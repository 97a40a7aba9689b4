//! Data-parallel loops for the CPU backends, one API on every target:
//! - native: rayon over the cores (`RAYON_NUM_THREADS` chooses how many);
//! - wasm built with the `atomics` feature (the threaded site, loaded when the page is
//!   cross-origin isolated): a pool of Web Workers that share the module's memory, see [`pool`];
//! - plain wasm: in turn, on the one thread there is.
//!
//! Every loop hands each index to exactly one call and the callers write disjoint outputs, so
//! results never depend on the number of threads.

#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
pub mod pool;

/// How many threads the loops spread over.
pub fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::current_num_threads();
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    return pool::threads();
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    return 1;
}

/// Calls `f(k)` for every `k` in `0..n`.
pub fn for_each(n: usize, f: impl Fn(usize) + Sync + Send) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..n).into_par_iter().for_each(f);
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    pool::run(n, &f);
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    (0..n).for_each(f);
}

/// Calls `f(k, chunk)` for the consecutive chunks of `len` items of `data` (the last may be
/// shorter).
pub fn for_each_chunk_mut<T: Send>(
    data: &mut [T],
    len: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    assert!(len > 0, "chunks must hold at least one item");
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        data.par_chunks_mut(len).enumerate().for_each(|(k, chunk)| f(k, chunk));
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    {
        let (total, base) = (data.len(), SendPtr(data.as_mut_ptr()));
        pool::run(total.div_ceil(len), &|k| {
            let start = k * len;
            // SAFETY: chunk k is items start..start + its length of `data`, borrowed mutably
            // for the whole call; no two indices share an item.
            let chunk =
                unsafe { std::slice::from_raw_parts_mut(base.at(start), len.min(total - start)) };
            f(k, chunk)
        });
    }
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    data.chunks_mut(len).enumerate().for_each(|(k, chunk)| f(k, chunk));
}

/// `[f(0), f(1), …, f(n - 1)]`.
pub fn map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..n).into_par_iter().map(f).collect()
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    {
        let mut out: Vec<T> = Vec::with_capacity(n);
        let base = SendPtr(out.as_mut_ptr());
        // SAFETY: every slot 0..n is written exactly once before the length is set; a panic
        // aborts (the wasm build has panic = "abort"), so no half-written vector is ever seen.
        pool::run(n, &|k| unsafe { base.at(k).write(f(k)) });
        unsafe { out.set_len(n) };
        out
    }
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    (0..n).map(f).collect()
}

/// Runs two independent pieces of work, side by side where there are threads.
pub fn join<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::join(a, b);
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    return {
        use std::sync::Mutex;
        // Each slot is touched by the one thread that runs its index, then by the caller once
        // the loop is over: the locks are never contended (the browser's main thread may not
        // block on one).
        let (a, b) = (Mutex::new(Some(a)), Mutex::new(Some(b)));
        let (ra, rb) = (Mutex::new(None), Mutex::new(None));
        pool::run(2, &|k| {
            if k == 0 {
                let a = a.lock().unwrap().take().expect("join runs each side once");
                *ra.lock().unwrap() = Some(a());
            } else {
                let b = b.lock().unwrap().take().expect("join runs each side once");
                *rb.lock().unwrap() = Some(b());
            }
        });
        let done = "join ran both sides";
        (ra.into_inner().unwrap().expect(done), rb.into_inner().unwrap().expect(done))
    };
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    return (a(), b());
}

/// A base address shared by calls that touch disjoint items behind it.
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
struct SendPtr<T>(*mut T);
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
impl<T> Copy for SendPtr<T> {}
// SAFETY: the loops above hand each item to one call only.
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
unsafe impl<T: Send> Send for SendPtr<T> {}
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
unsafe impl<T: Send> Sync for SendPtr<T> {}
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
impl<T> SendPtr<T> {
    fn at(self, k: usize) -> *mut T {
        self.0.wrapping_add(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_index_runs_once() {
        let hits: Vec<AtomicUsize> = (0..1000).map(|_| AtomicUsize::new(0)).collect();
        for_each(hits.len(), |k| {
            hits[k].fetch_add(1, Ordering::Relaxed);
        });
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
    }

    #[test]
    fn chunks_cover_the_slice_in_order() {
        let mut data = vec![0usize; 103];
        for_each_chunk_mut(&mut data, 10, |k, chunk| {
            assert!(chunk.len() == 10 || (k == 10 && chunk.len() == 3));
            chunk.iter_mut().for_each(|v| *v = k);
        });
        assert!(data.iter().enumerate().all(|(i, &v)| v == i / 10));
    }

    #[test]
    fn map_keeps_the_order_and_join_both_sides() {
        assert_eq!(map(5, |k| k * k), vec![0, 1, 4, 9, 16]);
        assert_eq!(join(|| 2, || "b"), (2, "b"));
        assert!(threads() >= 1);
    }
}
