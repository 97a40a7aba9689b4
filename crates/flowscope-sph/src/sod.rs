//! Sod's shock tube: its exact solution and the two measures the tests, the case and the
//! validation report compare a run with.

use crate::gas1d::Gas1d;
use crate::riemann::{Riemann, State};

/// The exact solution: (ρ, u, p) = (1, 0, 1) | (0.125, 0, 0.1), γ = 1.4, diaphragm at x = 0.5.
pub fn exact() -> Riemann {
    Riemann::solve(State { rho: 1.0, u: 0.0, p: 1.0 }, State { rho: 0.125, u: 0.0, p: 0.1 }, 1.4)
        .expect("Sod's states are physical")
}

/// ∫ |ρ − ρ_exact| dx at the gas's time, each particle standing for its volume m / ρ.
pub fn l1_density_error(gas: &Gas1d, exact: &Riemann) -> f64 {
    (0..gas.x.len())
        .map(|i| {
            let reference = if gas.time > 0.0 {
                exact.sample((gas.x[i] - 0.5) / gas.time).rho
            } else if gas.x[i] < 0.5 {
                exact.left.rho
            } else {
                exact.right.rho
            };
            (gas.rho[i] - reference).abs() * gas.m[i] / gas.rho[i]
        })
        .sum()
}

/// The shock: where the density falls through the middle of its jump, scanning from the right;
/// with the smoothing length there. None before a shock has formed.
pub fn shock_position(gas: &Gas1d, exact: &Riemann) -> Option<(f64, f64)> {
    let middle = 0.5 * (exact.rho_star_right + exact.right.rho);
    let mut order: Vec<usize> = (0..gas.x.len()).collect();
    order.sort_by(|&a, &b| gas.x[a].total_cmp(&gas.x[b]));
    let k = order.windows(2).rposition(|w| gas.rho[w[0]] >= middle && gas.rho[w[1]] < middle)?;
    let (a, b) = (order[k], order[k + 1]);
    let f = (gas.rho[a] - middle) / (gas.rho[a] - gas.rho[b]);
    Some((gas.x[a] + f * (gas.x[b] - gas.x[a]), gas.h[a]))
}
