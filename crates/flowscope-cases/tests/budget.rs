//! The resource budget's declarations against what the allocator sees: every case's declared
//! bytes must cover the most it holds while starting and stepping (CPU backend), without
//! overstating it so much that the budget refuses what a tab can run.

use flowscope_cases::{create_with, create_within, ModelFiles, CATALOG};
use flowscope_core::{Backend, Budget, CaseError, CaseSpec, ParamValues};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The system allocator, counting the bytes live and the most live since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `layout` is passed on unchanged.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the counters are process-wide.
static MEASURING: Mutex<()> = Mutex::new(());

fn models() -> ModelFiles {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    CATALOG
        .iter()
        .flat_map(|s| s.models)
        .map(|file| {
            let fixture = root.join("tests/fixtures/acdm").join(file);
            let path =
                if fixture.exists() { fixture } else { root.join("public/models").join(file) };
            (file.to_string(), std::fs::read(&path).expect(file))
        })
        .collect()
}

/// The most bytes live above the starting point while `spec` starts with `params` and steps.
fn peak_bytes(spec: &CaseSpec, params: &ParamValues, models: &ModelFiles) -> usize {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut case = create_with(spec.id, params, None, models).expect(spec.id);
    case.step(2).expect(spec.id);
    let peak = PEAK.load(Ordering::Relaxed) - base;
    drop(case);
    peak
}

/// The defaults and a larger setting of each case's size parameter.
fn settings(spec: &CaseSpec) -> Vec<ParamValues> {
    let mut larger = spec.defaults();
    let bigger = match spec.id {
        "heat" => Some(("n", "512")),
        "dam-break" => Some(("n", "60")),
        "sod-shock-tube" => Some(("n", "3200")),
        "sph-1d-periodic" => Some(("n", "8192")),
        "hydrostatic-tank" => Some(("n", "64")),
        "sph-playground" => Some(("fill", "1")),
        "smdp-toy" => Some(("particles", "5000")),
        "acdm-wake" | "smdp-heat" => Some(("samples", "8")),
        "airfoil-uncertainty" => Some(("samples", "32")),
        "learned-sph-1d" => Some(("n", "1024")),
        "learned-sph-2d" => Some(("n", "64")),
        "control-cartpole" => Some(("width", "256")),
        "control-guidance" => Some(("evaders", "8")),
        "control-quantum" => Some(("width", "128")),
        "hasegawa-wakatani" => Some(("n", "256")),
        _ => Some(("n", "128")),
    };
    if let Some((name, value)) = bigger {
        spec.set_text(&mut larger, name, value).expect(spec.id);
    }
    if spec.id == "dam-break" {
        // DFSPH keeps its neighbour pairs: the larger setting runs it.
        spec.set_text(&mut larger, "solver", "dfsph").expect(spec.id);
    }
    if spec.id == "acdm-wake" {
        // Seconds to start (its solver develops the wake first): the larger setting only, with
        // the shortest warm-up (its length allocates nothing).
        spec.set_text(&mut larger, "warmup", "1").expect(spec.id);
        return vec![larger];
    }
    vec![spec.defaults(), larger]
}

#[test]
fn every_case_declares_what_it_allocates() {
    let _one = MEASURING.lock().unwrap();
    let models = models();
    let mut report = Vec::new();
    for spec in CATALOG {
        for params in settings(spec) {
            let declared = (spec.cost)(&params).bytes as f64;
            let measured = peak_bytes(spec, &params, &models) as f64;
            report.push(format!(
                "{:<20} {:>8.1} MiB declared {:>8.1} MiB measured ({:.2}×)",
                spec.id,
                declared / 1048576.0,
                measured / 1048576.0,
                declared / measured
            ));
            let (low, high) = match spec.id {
                // Declared: the tank poured full, as a user may; by default it starts a tenth
                // full.
                "sph-playground" => (1.0, 12.0),
                // The learned cases run the small fixture models here: their declaration covers
                // the shipped networks' working set, held to the fixtures at 1/4 to 4×.
                _ if !spec.models.is_empty() => (0.25, 4.0),
                _ => (1.0, 3.0),
            };
            assert!(
                declared >= low * measured && declared <= high * measured,
                "{}",
                report.join("\n")
            );
        }
    }
    println!("{}", report.join("\n"));
}

#[test]
fn the_browser_budget_refuses_the_links_that_exhausted_a_tab() {
    let cpu = Budget::browser(Backend::Cpu);
    let refuse = |id: &str, set: &[(&str, &str)]| {
        let spec = flowscope_cases::find(id).unwrap();
        let mut params = spec.defaults();
        for (name, value) in set {
            spec.set_text(&mut params, name, value).unwrap();
        }
        match create_within(id, &params, None, &ModelFiles::new(), &cpu) {
            Err(CaseError::OverBudget(message)) => message,
            Err(other) => panic!("{id}: refused for another reason: {other}"),
            Ok(_) => panic!("{id}: {set:?} was allowed"),
        }
    };
    let wake = refuse("cylinder-wake", &[("n", "256"), ("width", "5"), ("height", "0.1")]);
    assert!(wake.contains("n = 256") && wake.contains("width = 5"), "{wake}");
    assert!(wake.contains("cells") && wake.contains("?budget="), "{wake}");
    let dam = refuse("dam-break", &[("n", "710")]);
    assert!(dam.contains("n = 710") && dam.contains("particles"), "{dam}");
    // The default of every case fits, on either backend's budget.
    for spec in CATALOG {
        for backend in [Backend::Cpu, Backend::Gpu] {
            Budget::browser(backend).check(spec, &spec.defaults()).expect(spec.id);
        }
    }
    // A larger budget lets the same link run.
    let spec = flowscope_cases::find("dam-break").unwrap();
    let mut params = spec.defaults();
    spec.set_text(&mut params, "n", "400").unwrap();
    assert!(cpu.check(spec, &params).is_err());
    assert!(cpu.times(2.0).check(spec, &params).is_ok());
}

/// Past the device's largest binding wgpu fails the case's first step (natively it panics):
/// the case is refused before it makes a buffer, even without a page budget.
#[test]
fn a_case_larger_than_the_device_allows_is_refused_not_a_panic() {
    let Some(ctx) = flowscope_gpu::context_for_tests() else { return };
    let spec = flowscope_cases::find("dam-break").unwrap();
    let mut params = spec.defaults();
    spec.set_text(&mut params, "n", "710").unwrap();
    let limit = ctx.device.limits().max_storage_buffer_binding_size;
    assert!((spec.cost)(&params).gpu_buffer > limit, "the device allows {limit} B");
    match create_with("dam-break", &params, Some(&ctx), &ModelFiles::new()) {
        Err(CaseError::OverBudget(message)) => {
            assert!(message.contains("n = 710") && message.contains("device's limit"), "{message}")
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("a 1 M-particle dam break was started on the device"),
    }
}
