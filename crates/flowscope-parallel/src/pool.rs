//! The Web Worker pool of the threaded wasm build.
//!
//! The page starts the workers (`web/src/threads.rs`); each instantiates the module on the
//! shared memory and calls [`serve`], which registers it and never returns. A loop publishes a
//! job, wakes the workers, takes indices itself, then spins until the indices the workers took
//! are done: the browser's main thread may not block (`memory.atomic.wait` traps there), and a
//! job lasts milliseconds. A worker that finished a job watches for the next one a while
//! (`WATCH` looks) before it parks: a network's forward pass or a solver's step is a burst of short
//! jobs, and waking a parked worker costs more than most of them. One job at a time: a loop
//! started inside another (or while a worker registers) runs in turn on its own thread.

use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;
use std::thread::Thread;

struct Job<'a> {
    f: &'a (dyn Fn(usize) + Sync),
    n: usize,
    grain: usize,
    next: AtomicUsize,
    done: AtomicUsize,
}

/// The parked workers, to wake for each job.
static WORKERS: Mutex<Vec<Thread>> = Mutex::new(Vec::new());
static COUNT: AtomicUsize = AtomicUsize::new(0);
/// The running job; null between jobs.
static JOB: AtomicPtr<Job<'static>> = AtomicPtr::new(null_mut());
/// Counts the jobs published, so that a worker tells a new job from the one it just did.
static EPOCH: AtomicUsize = AtomicUsize::new(0);
/// How many times an idle worker looks for a new job before it parks: enough to bridge the
/// gaps between a forward pass's layers. Longer watches (2¹⁸, 2²⁰) measured no better here and
/// keep a core busy for longer.
const WATCH: u32 = 1 << 15;
/// Workers that may hold a reference to the running job.
static LOOKING: AtomicUsize = AtomicUsize::new(0);
static BUSY: AtomicBool = AtomicBool::new(false);
static FAILED: AtomicBool = AtomicBool::new(false);

/// The calling thread plus the workers registered so far.
pub fn threads() -> usize {
    1 + COUNT.load(SeqCst)
}

/// A worker's life: wait for jobs and take part in each. Call once per worker, never on the
/// page's main thread (it parks).
pub fn serve() -> ! {
    WORKERS.lock().expect("the pool's registry").push(std::thread::current());
    COUNT.fetch_add(1, SeqCst);
    let mut seen = EPOCH.load(SeqCst);
    loop {
        let mut watched = 0;
        while EPOCH.load(SeqCst) == seen {
            if watched < WATCH {
                watched += 1;
                std::hint::spin_loop();
            } else {
                // Returns at once if the job was published after the check above.
                std::thread::park();
            }
        }
        seen = EPOCH.load(SeqCst);
        LOOKING.fetch_add(1, SeqCst);
        // SAFETY: a published job lives until `run` has cleared JOB and seen LOOKING at zero.
        if let Some(job) = unsafe { JOB.load(SeqCst).as_ref() } {
            work(job);
        }
        LOOKING.fetch_sub(1, SeqCst);
    }
}

/// Called by the page when a worker died (a panic traps the worker): the job it held can never
/// finish, so the thread waiting for it panics with a message instead of spinning forever.
pub fn worker_failed() {
    FAILED.store(true, SeqCst);
}

/// Calls `f(k)` for every `k` in `0..n`, spread over the pool.
pub fn run(n: usize, f: &(dyn Fn(usize) + Sync)) {
    let threads = threads();
    if n < 2 || threads == 1 || BUSY.swap(true, SeqCst) {
        return (0..n).for_each(f);
    }
    let Ok(workers) = WORKERS.try_lock() else {
        BUSY.store(false, SeqCst);
        return (0..n).for_each(f);
    };
    let job = Job {
        f,
        n,
        grain: (n / (threads * 8)).max(1),
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
    };
    JOB.store(&job as *const Job<'_> as *mut Job<'static>, SeqCst);
    EPOCH.fetch_add(1, SeqCst);
    // Cheap for a watching worker (no wake-up call), needed for a parked one.
    workers.iter().for_each(Thread::unpark);
    drop(workers);
    work(&job);
    while job.done.load(SeqCst) < n {
        if FAILED.load(SeqCst) {
            panic!("a worker thread stopped in the middle of a computation (see the console)");
        }
        std::hint::spin_loop();
    }
    JOB.store(null_mut(), SeqCst);
    while LOOKING.load(SeqCst) != 0 {
        std::hint::spin_loop();
    }
    BUSY.store(false, SeqCst);
}

/// Takes runs of `grain` indices until none are left.
fn work(job: &Job) {
    loop {
        let start = job.next.fetch_add(job.grain, SeqCst);
        if start >= job.n {
            return;
        }
        let end = (start + job.grain).min(job.n);
        (start..end).for_each(job.f);
        job.done.fetch_add(end - start, SeqCst);
    }
}
