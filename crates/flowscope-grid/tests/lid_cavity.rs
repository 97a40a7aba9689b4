//! Lid-driven cavity against Ghia, Ghia & Shin (1982): centreline velocities at steady state.
//! The quick version (Re = 100, 64²) runs in the test suite; the full one (128², Re 100 and
//! 400) in `cargo xtask validate`.

use flowscope_grid::flow::interpolate;
use flowscope_grid::{Advection, Grid, IncompressibleFlow, Side, Sides, Velocity, Viscosity};
use std::path::Path;

/// Reads one Ghia table: `(position, value)` pairs for the given Reynolds-number column.
fn ghia(file: &str, column: usize) -> Vec<(f64, f64)> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ghia1982").join(file);
    let text = std::fs::read_to_string(&path).expect("Ghia table");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let value = cells[column].trim();
            (!value.is_empty()).then(|| (cells[0].parse().unwrap(), value.parse().unwrap()))
        })
        .collect()
}

/// Runs the cavity to steady state; returns the largest deviation from Ghia in u and in v.
fn cavity_errors(re: f64, n: usize, advection: Advection, viscosity: Viscosity) -> (f64, f64) {
    let wall = Side::NoSlip { tangential: 0.0 };
    let sides =
        Sides { left: wall, right: wall, bottom: wall, top: Side::NoSlip { tangential: 1.0 } };
    let grid = Grid::new(n, n, 1.0, 1.0, sides).unwrap();
    let mut flow =
        IncompressibleFlow::new(grid.clone(), Velocity::zeros(&grid), 1.0 / re, advection, 1e-6);
    flow.viscosity = viscosity;
    let mut energy = 0.0;
    for step in 0.. {
        let dt = flow.cfl_dt(0.5, 1.0);
        flow.step(dt).unwrap();
        if step % 200 == 199 {
            let now = flow.kinetic_energy();
            if (now - energy).abs() < 1e-6 * now || flow.time > 60.0 {
                break;
            }
            energy = now;
        }
    }
    let column = if re == 100.0 { 1 } else { 2 };
    let u = flow.u_profile_at_x(0.5);
    let v = flow.v_profile_at_y(0.5);
    let u_error = ghia("u_vertical_centreline.csv", column)
        .iter()
        .map(|&(y, reference)| (interpolate(&u, y, 1.0, (0.0, 1.0)) - reference).abs())
        .fold(0.0, f64::max);
    let v_error = ghia("v_horizontal_centreline.csv", column)
        .iter()
        .map(|&(x, reference)| (interpolate(&v, x, 1.0, (0.0, 0.0)) - reference).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "Re {re}, {n}², {advection:?}, {viscosity:?}: t = {:.1}, max |Δu| = {u_error:.4}, max |Δv| = {v_error:.4}",
        flow.time
    );
    (u_error, v_error)
}

#[test]
fn re100_on_64_cells_matches_ghia() {
    let (u, v) = cavity_errors(100.0, 64, Advection::MacCormack, Viscosity::Explicit);
    assert!(u <= 0.02 && v <= 0.02, "u error {u}, v error {v}");
}

#[test]
fn re100_with_implicit_viscosity_matches_ghia() {
    let (u, v) = cavity_errors(100.0, 64, Advection::MacCormack, Viscosity::Implicit);
    assert!(u <= 0.02 && v <= 0.02, "u error {u}, v error {v}");
}
