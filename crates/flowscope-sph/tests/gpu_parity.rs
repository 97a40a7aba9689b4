//! The WGSL WCSPH twin against the CPU reference on the dam break: 200 steps of the same dt,
//! then positions within 1e-4 of the domain size, and the GPU's counting-sort neighbour lists
//! identical as sets to the CPU's cell lists on the same positions.

use flowscope_gpu::context_for_tests;
use flowscope_sph::fluid2d::cell_list;
use flowscope_sph::gpu::GpuWcsph;
use flowscope_sph::tank::Tank;
use flowscope_sph::wcsph::{Wcsph, WcsphConfig};

#[test]
fn the_dam_break_on_the_gpu_matches_the_cpu() {
    let Some(ctx) = context_for_tests() else { return };
    let a = 0.05715;
    let tank = Tank { width: 4.0 * a, height: 3.0 * a, dx: a / 20.0, layers: 3 };
    let config = WcsphConfig { c0: 10.0 * (2.0 * 9.81 * 2.0 * a).sqrt(), ..WcsphConfig::default() };
    let mut cpu = Wcsph::new(tank, tank.block(0.0, a, 0.0, 2.0 * a), 2.0 * a, config).unwrap();
    let mut gpu = GpuWcsph::new(&ctx, &cpu);
    let dt = cpu.stable_dt(0.25);
    let steps = 200;
    for _ in 0..steps {
        cpu.step(dt).unwrap();
    }
    gpu.step(dt, steps);
    let (x, v, rho) = gpu.download().unwrap();
    let worst = x
        .iter()
        .zip(&cpu.fluid.x)
        .map(|(g, c)| (g[0] - c[0]).abs().max((g[1] - c[1]).abs()))
        .fold(0.0, f64::max);
    let moved = cpu.fluid.max_speed() * cpu.time;
    let speed_gap = v
        .iter()
        .zip(&cpu.fluid.v)
        .map(|(g, c)| (g[0] - c[0]).hypot(g[1] - c[1]))
        .fold(0.0, f64::max);
    let rho_gap = rho.iter().zip(&cpu.rho).map(|(g, c)| (g - c).abs() / c).fold(0.0, f64::max);
    eprintln!(
        "after {steps} steps (t = {:.4}, fastest particle moved ~{moved:.2e} m): largest position \
         gap {worst:.2e} m, velocity gap {speed_gap:.2e} m/s, relative density gap {rho_gap:.2e}",
        cpu.time
    );
    assert!(worst <= 1e-4 * tank.width, "positions differ by {worst}");
    assert!(moved > 10.0 * worst, "the fluid moved ({moved}) more than the gap");

    // Neighbour sets on the GPU's positions: the GPU's own grid against CPU cell lists.
    let lists = gpu.neighbour_lists().unwrap();
    let mut all = x.clone();
    all.extend_from_slice(&cpu.walls);
    let radius = cpu.kernel.support(cpu.h);
    let list = cell_list(&tank, radius, &all);
    let mut checked = 0;
    for (i, gpu_list) in lists.iter().enumerate() {
        let mut expected = Vec::new();
        list.for_each_neighbour(&all, i, radius, |j, _, _| expected.push(j as u32));
        let mut found = gpu_list.clone();
        expected.sort_unstable();
        found.sort_unstable();
        assert_eq!(found, expected, "neighbours of particle {i}");
        checked += expected.len();
    }
    eprintln!("{checked} neighbour pairs identical");
}
