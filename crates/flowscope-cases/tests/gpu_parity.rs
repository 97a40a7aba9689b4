//! Every grid case with WGSL kernels, on both backends from the same parameters: after 100 steps
//! the cell-centred velocity (and smoke) agree to relative L2 < 1e-4, and the pressure solver's
//! iteration counts agree within ±2 at every step; drag and lift agree to 0.1%. Grids of 128²
//! (the channels: 32 or 48 cells across, about as many cells in all).

use flowscope_cases::{create, CATALOG};
use flowscope_core::ParamValue;
use flowscope_gpu::context_for_tests;

fn relative_l2(gpu: &[f32], cpu: &[f32]) -> f64 {
    let diff: f64 = gpu.iter().zip(cpu).map(|(a, b)| f64::from(a - b).powi(2)).sum();
    let norm: f64 = cpu.iter().map(|b| f64::from(*b).powi(2)).sum();
    (diff / norm.max(1e-300)).sqrt()
}

#[test]
fn every_gpu_grid_case_matches_the_cpu_after_100_steps() {
    let Some(ctx) = context_for_tests() else { return };
    let mut checked = Vec::new();
    for spec in CATALOG.iter().filter(|s| s.gpu && s.group == "grids" && s.id != "heat") {
        let mut params = spec.defaults();
        let n = match spec.id {
            "backward-step" => "32",
            "cylinder-wake" | "airfoil" => "48",
            _ => "128",
        };
        spec.set_text(&mut params, "n", n).unwrap();
        let mut cpu = create(spec.id, &params, None).unwrap();
        let mut gpu = create(spec.id, &params, Some(&ctx)).unwrap();
        let iterations = spec.observables.iter().position(|o| o.name == "pressure_iterations");
        let iterations = iterations.expect("flow cases report iterations");
        let mut worst_gap = 0i64;
        for _ in 0..100 {
            cpu.step(1).unwrap();
            gpu.step(1).unwrap();
            let gap = gpu.observables().unwrap()[iterations] as i64
                - cpu.observables().unwrap()[iterations] as i64;
            worst_gap = if gap.abs() > worst_gap.abs() { gap } else { worst_gap };
        }
        assert!((gpu.time() - cpu.time()).abs() < 1e-5 * cpu.time(), "{}: times differ", spec.id);
        let mut views = vec!["velocity_x", "velocity_y"];
        if spec.id == "smoke-plume" {
            views.push("smoke");
        }
        for view in views {
            let (g, c) = (gpu.read_view(view).unwrap(), cpu.read_view(view).unwrap());
            let error = relative_l2(&g.data, &c.data);
            eprintln!(
                "{} {view}: relative L2 {error:.2e}, worst iteration gap {worst_gap}",
                spec.id
            );
            assert!(error < 1e-4, "{} {view}: relative L2 {error:.2e}", spec.id);
        }
        assert!(worst_gap.abs() <= 2, "{}: iterations differ by {worst_gap}", spec.id);
        let (g, c) = (gpu.observables().unwrap(), cpu.observables().unwrap());
        for (k, o) in spec.observables.iter().enumerate() {
            if ["drag_coefficient", "lift_coefficient", "strouhal", "kinetic_energy"]
                .contains(&o.name)
            {
                let scale = c[k].abs().max(1e-3);
                eprintln!("{} {}: gpu {} cpu {}", spec.id, o.name, g[k], c[k]);
                assert!(
                    (g[k] - c[k]).abs() < 1e-3 * scale,
                    "{} {}: {} vs {}",
                    spec.id,
                    o.name,
                    g[k],
                    c[k]
                );
            }
        }
        checked.push(spec.id);
    }
    let grid_cases = ["smoke-plume", "lid-cavity", "taylor-green", "backward-step"];
    assert_eq!(checked, [&grid_cases[..], &["cylinder-wake", "airfoil"]].concat());
}

/// The particle cases on the GPU (the dam break with either solver) step, keep their mass and
/// draw their views on the device (a 1D gas's strips as the CPU interpolates the state read
/// back); the solvers' parity with the CPU is tested in flowscope-sph.
#[test]
fn gpu_particle_cases_run_and_draw() {
    let Some(ctx) = context_for_tests() else { return };
    let mut runs = Vec::new();
    for spec in CATALOG.iter().filter(|s| s.gpu && s.group == "particles") {
        runs.push((spec, spec.defaults(), false));
        if ["dam-break", "hydrostatic-tank"].contains(&spec.id) {
            let mut dfsph = spec.defaults();
            dfsph.set(spec.id, spec.params, "solver", ParamValue::Enum("dfsph".into())).unwrap();
            runs.push((spec, dfsph, true));
        }
    }
    for (spec, params, dfsph) in runs {
        let mut gpu = create(spec.id, &params, Some(&ctx)).unwrap();
        let cpu = create(spec.id, &params, None).unwrap();
        assert_eq!(gpu.backend(), flowscope_core::Backend::Gpu, "{}", spec.id);
        gpu.step(100).unwrap();
        let (before, after) = (cpu.observables().unwrap(), gpu.observables().unwrap());
        assert_eq!(before[0], after[0], "{}: mass changed", spec.id);
        assert!(after.iter().all(|v| v.is_finite()), "{}: {after:?}", spec.id);
        let observable = |name| spec.observables.iter().position(|o| o.name == name);
        if let (true, Some(k)) = (dfsph, observable("solver_iterations")) {
            assert!(after[k] >= 1.0, "the DFSPH solve reported {} iterations", after[k]);
        }
        // The WGSL DFSPH's walls hold the tank still too (0.2 s in).
        if let (true, "hydrostatic-tank", Some(k)) = (dfsph, spec.id, observable("max_speed")) {
            assert!(after[k] < 0.05, "the GPU DFSPH tank moves at {} m/s", after[k]);
        }
        for view in spec.views {
            let image = gpu.gpu_view(view.name).expect("a GPU view");
            let pixels: Vec<f32> =
                flowscope_gpu::buffers::read_blocking(&ctx.device, &ctx.queue, image.buffer)
                    .unwrap();
            // A 1D gas's strip (its interpolant on the CPU, from the state read back) has a
            // value everywhere.
            if gpu.particle_size().is_none() {
                let strip = gpu.read_view(view.name).unwrap().data;
                let scale = strip.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
                let gap = pixels.iter().zip(&strip).fold(0f32, |m, (g, c)| m.max((g - c).abs()));
                assert!(gap <= 1e-3 * scale, "{}:{} strips differ by {gap}", spec.id, view.name);
            }
            let filled = pixels.iter().filter(|v| v.is_finite()).count();
            assert!(
                filled > pixels.len() / 10,
                "{}:{} has {filled} of {} pixels",
                spec.id,
                view.name,
                pixels.len()
            );
        }
    }
}
