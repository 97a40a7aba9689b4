//! The Sod shock tube against the exact Riemann solution at t = 0.2: the L1 density error and
//! the shock position (issue gates: L1 ≤ 0.02 with ≥ 400 particles, shock within two smoothing
//! lengths).

use flowscope_sph::gas1d::Gas1d;
use flowscope_sph::{Kernel, Riemann, Shape, State};

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
    let exact = Riemann::solve(
        State { rho: 1.0, u: 0.0, p: 1.0 },
        State { rho: 0.125, u: 0.0, p: 0.1 },
        1.4,
    )
    .unwrap();
    // ∫ |ρ − ρ_exact| dx, each particle standing for its volume m / ρ.
    let l1: f64 = (0..gas.x.len())
        .map(|i| {
            let reference = exact.sample((gas.x[i] - 0.5) / gas.time).rho;
            (gas.rho[i] - reference).abs() * gas.m[i] / gas.rho[i]
        })
        .sum();
    // The shock: where the density falls through the middle of its jump, scanning from the right.
    let middle = 0.5 * (exact.rho_star_right + 0.125);
    let mut order: Vec<usize> = (0..gas.x.len()).collect();
    order.sort_by(|&a, &b| gas.x[a].total_cmp(&gas.x[b]));
    let k =
        order.windows(2).rposition(|w| gas.rho[w[0]] >= middle && gas.rho[w[1]] < middle).unwrap();
    let (a, b) = (order[k], order[k + 1]);
    let f = (gas.rho[a] - middle) / (gas.rho[a] - gas.rho[b]);
    let shock = gas.x[a] + f * (gas.x[b] - gas.x[a]);
    eprintln!(
        "{shape:?}, {} particles: L1 {l1:.4}, shock at {shock:.4} (exact 0.8504), h there {:.4}",
        gas.x.len(),
        gas.h[a]
    );
    Outcome { l1, shock, h_at_shock: gas.h[a] }
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
