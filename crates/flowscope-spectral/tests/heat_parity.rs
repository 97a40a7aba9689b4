//! The WGSL heat kernels against their CPU twins, on whatever adapter wgpu finds
//! (llvmpipe in CI).

use flowscope_gpu::context_for_tests;
use flowscope_spectral::heat::{CpuHeat, GpuHeat, HeatConfig, PaintBlob, Scheme};

fn initial(nx: usize, ny: usize) -> Vec<f32> {
    // Smooth bumps plus a deterministic pseudo-random texture, so every stencil weight matters.
    (0..nx * ny)
        .map(|k| {
            let (i, j) = ((k % nx) as f32, (k / nx) as f32);
            let smooth = 0.5 + 0.25 * (0.2 * i).sin() * (0.15 * j).cos();
            let hash = ((k as u32).wrapping_mul(2_654_435_761) >> 16) as f32 / 65_536.0;
            smooth + 0.2 * (hash - 0.5)
        })
        .collect()
}

fn max_abs_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

fn compare(scheme: Scheme, steps: u32) {
    let Some(ctx) = context_for_tests() else { return };
    let (nx, ny) = (96, 80);
    let mut config = HeatConfig { nx, ny, lx: 1.2, ly: 1.0, diffusivity: 1e-3, dt: 0.0, scheme };
    config.dt = 0.9 * config.explicit_dt_limit();
    let field = initial(nx, ny);
    let mut cpu = CpuHeat::new(config, field.clone());
    let mut gpu = GpuHeat::new(&ctx, config, &field);
    let blob = PaintBlob::at(&config, 0.05, 0.95, 0.1, 1.0);
    cpu.paint(&blob);
    gpu.paint(&blob);
    for _ in 0..steps / 10 {
        cpu.step(10);
        gpu.step(10);
    }
    let on_gpu = gpu.read_field().expect("read-back");
    let difference = max_abs_difference(cpu.field(), &on_gpu);
    assert!(difference < 1e-5, "{scheme:?}: max |cpu − gpu| = {difference}");
    let moved = max_abs_difference(&field, &on_gpu);
    assert!(moved > 1e-2, "{scheme:?}: the field should have changed, moved {moved}");
}

#[test]
fn explicit_kernel_matches_cpu_after_100_steps() {
    compare(Scheme::Explicit, 100);
}

#[test]
fn implicit_kernel_matches_cpu_after_100_steps() {
    compare(Scheme::Implicit { iterations: 8 }, 100);
}
