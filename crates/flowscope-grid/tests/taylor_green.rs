//! Taylor–Green vortex on the periodic box [0, 2π]²: u = U cos x sin y F, v = −U sin x cos y F,
//! F = exp(−2νt), an exact solution of the Navier–Stokes equations.

use flowscope_grid::{Advection, Grid, IncompressibleFlow, Sides, Velocity};
use std::f64::consts::TAU;

fn taylor_green(n: usize, u0: f64) -> (Grid, Velocity) {
    let grid = Grid::new(n, n, TAU, TAU, Sides::periodic()).unwrap();
    let velocity =
        Velocity::from_fn(&grid, |x, y| u0 * x.cos() * y.sin(), |x, y| -u0 * x.sin() * y.cos());
    (grid, velocity)
}

/// The amplitude of the initial shape in `velocity`, by projection.
fn amplitude(velocity: &Velocity, shape: &Velocity) -> f64 {
    let dot = |a: &Velocity, b: &Velocity| {
        a.u.iter().zip(&b.u).map(|(x, y)| x * y).sum::<f64>()
            + a.v.iter().zip(&b.v).map(|(x, y)| x * y).sum::<f64>()
    };
    dot(velocity, shape) / dot(shape, shape)
}

/// Relative error of the decay factor at `t_end`, stepping at CFL 0.25 (the splitting error
/// of advect-then-project is first order in dt and dominates at larger steps).
fn decay_error(n: usize, nu: f64, t_end: f64) -> f64 {
    let (grid, shape) = taylor_green(n, 1.0);
    let mut flow = IncompressibleFlow::new(grid, shape.clone(), nu, Advection::MacCormack, 1e-8);
    while flow.time < t_end - 1e-12 {
        let dt = flow.cfl_dt(0.25, 1.0).min(t_end - flow.time);
        flow.step(dt).unwrap();
    }
    let exact = (-2.0 * nu * flow.time).exp();
    (amplitude(&flow.velocity, &shape) - exact).abs() / exact
}

#[test]
fn decays_within_one_percent_of_exact_at_t1() {
    let error = decay_error(64, 0.1, 1.0);
    assert!(error < 0.01, "relative error of the amplitude at t = 1: {error}");
}

#[test]
fn error_shrinks_with_resolution() {
    let (coarse, fine) = (decay_error(32, 0.1, 1.0), decay_error(64, 0.1, 1.0));
    let order = (coarse / fine).log2();
    eprintln!(
        "Taylor–Green amplitude error: 32² {coarse:.2e}, 64² {fine:.2e}, observed order {order:.2}"
    );
    // dt shrinks with dx at fixed CFL, so this is the combined space-time order: first order,
    // set by the operator splitting.
    assert!(order > 0.8, "observed order {order}");
}
