//! The Sod shock tube against the exact Riemann solution at t = 0.2: the L1 density error and
//! the shock position (issue gates: L1 ≤ 0.02 with ≥ 400 particles, shock within two smoothing
//! lengths).

use flowscope_sph::gas1d::Gas1d;
use flowscope_sph::{sod, Kernel, Shape};

struct Outcome {
    l1: f64,
    shock: f64,
    h_at_shock: f64,
}

fn run(left: usize, shape: Shape) -> Outcome {
    let mut gas = Gas1d::sod(left, Kernel::new(shape, 1)).unwrap();
    let t_end = 0.2;
    while gas.time < t_end - 1e-12 {
        let dt = gas.stable_dt(0.3).min(t_end - gas.time);
        gas.step(dt).unwrap();
    }
    let exact = sod::exact();
    let l1 = sod::l1_density_error(&gas, &exact);
    let (shock, h) = sod::shock_position(&gas, &exact).expect("a shock");
    eprintln!(
        "{shape:?}, {} particles: L1 {l1:.4}, shock at {shock:.4} (exact 0.8504), h there {:.4}",
        gas.x.len(),
        h
    );
    Outcome { l1, shock, h_at_shock: h }
}

#[test]
fn sod_shock_tube_matches_the_exact_solution() {
    for shape in [Shape::CubicSpline, Shape::WendlandC2] {
        let outcome = run(400, shape);
        assert!(outcome.l1 <= 0.02, "{shape:?}: L1 density error {}", outcome.l1);
        let exact_shock = 0.5 + 0.2 * 1.752_15;
        assert!(
            (outcome.shock - exact_shock).abs() <= 2.0 * outcome.h_at_shock,
            "{shape:?}: shock at {}, exact {exact_shock}",
            outcome.shock
        );
    }
}
