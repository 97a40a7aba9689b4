//! Viscosity: ∂u/∂t = ν ∇²u on the staggered velocity, walls entering through ghost values
//! (no-slip: the wall's tangential velocity sits on the wall; free-slip: zero gradient).

use crate::grid::{apply_boundaries, Grid, Velocity};

/// Largest stable forward-Euler step: ν dt (2/dx² + 2/dy²) ≤ 1.
pub fn explicit_limit(grid: &Grid, nu: f64) -> f64 {
    1.0 / (nu * (2.0 / (grid.dx() * grid.dx()) + 2.0 / (grid.dy() * grid.dy())))
}

/// Equal sub-steps that keep a viscosity step of `dt` within 90% of the stability limit (none
/// without viscosity).
pub fn substeps(grid: &Grid, nu: f64, dt: f64) -> usize {
    if nu <= 0.0 || dt <= 0.0 {
        return 0;
    }
    (dt / (0.9 * explicit_limit(grid, nu))).ceil().max(1.0) as usize
}

/// One forward-Euler viscosity step of `dt`, split into as many equal sub-steps as the
/// stability limit needs. Returns the number of sub-steps.
pub fn explicit(grid: &Grid, velocity: &mut Velocity, nu: f64, dt: f64) -> usize {
    let substeps = substeps(grid, nu, dt);
    if substeps == 0 {
        return 0;
    }
    let h = dt / substeps as f64;
    for _ in 0..substeps {
        step(grid, velocity, nu, h);
    }
    substeps
}

fn step(grid: &Grid, velocity: &mut Velocity, nu: f64, dt: f64) {
    let (nx, ny) = (grid.nx, grid.ny);
    let (cx, cy) = (nu * dt / (grid.dx() * grid.dx()), nu * dt / (grid.dy() * grid.dy()));
    let sides = grid.sides;
    let periodic_x = sides.periodic_x();
    let periodic_y = sides.periodic_y();

    let u = &velocity.u;
    let w = nx + 1;
    let mut new_u = u.clone();
    let i_range = if periodic_x { 0..nx } else { 1..nx };
    for j in 0..ny {
        for i in i_range.clone() {
            let c = u[j * w + i];
            let west = if i == 0 { u[j * w + nx - 1] } else { u[j * w + i - 1] };
            let east = u[j * w + i + 1];
            let south = match (j, periodic_y) {
                (0, true) => u[(ny - 1) * w + i],
                (0, false) => sides.bottom.tangential_ghost(c),
                _ => u[(j - 1) * w + i],
            };
            let north = match (j + 1 == ny, periodic_y) {
                (true, true) => u[i],
                (true, false) => sides.top.tangential_ghost(c),
                _ => u[(j + 1) * w + i],
            };
            new_u[j * w + i] = c + cx * (west + east - 2.0 * c) + cy * (south + north - 2.0 * c);
        }
    }

    let v = &velocity.v;
    let mut new_v = v.clone();
    let j_range = if periodic_y { 0..ny } else { 1..ny };
    for j in j_range {
        for i in 0..nx {
            let c = v[j * nx + i];
            let south = if j == 0 { v[(ny - 1) * nx + i] } else { v[(j - 1) * nx + i] };
            let north = v[(j + 1) * nx + i];
            let west = match (i, periodic_x) {
                (0, true) => v[j * nx + nx - 1],
                (0, false) => sides.left.tangential_ghost(c),
                _ => v[j * nx + i - 1],
            };
            let east = match (i + 1 == nx, periodic_x) {
                (true, true) => v[j * nx],
                (true, false) => sides.right.tangential_ghost(c),
                _ => v[j * nx + i + 1],
            };
            new_v[j * nx + i] = c + cx * (west + east - 2.0 * c) + cy * (south + north - 2.0 * c);
        }
    }
    velocity.u = new_u;
    velocity.v = new_v;
    apply_boundaries(grid, velocity);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{Side, Sides};
    use std::f64::consts::TAU;

    #[test]
    fn a_shear_wave_decays_at_the_viscous_rate() {
        // u = sin(2πy) decays as exp(−4π²νt) on a periodic box.
        let grid = Grid::new(8, 64, 1.0, 1.0, Sides::periodic()).unwrap();
        let mut velocity = Velocity::from_fn(&grid, |_, y| (TAU * y).sin(), |_, _| 0.0);
        let initial = velocity.clone();
        let (nu, t) = (0.01, 2.0);
        explicit(&grid, &mut velocity, nu, t);
        let ratio: f64 = velocity.u.iter().zip(&initial.u).map(|(a, b)| a * b).sum::<f64>()
            / initial.u.iter().map(|b| b * b).sum::<f64>();
        let exact = (-TAU * TAU * nu * t).exp();
        assert!((ratio - exact).abs() / exact < 2e-3, "ratio {ratio} vs {exact}");
    }

    #[test]
    fn a_moving_lid_drags_the_fluid_below_it() {
        let sides = Sides {
            left: Side::NoSlip { tangential: 0.0 },
            right: Side::NoSlip { tangential: 0.0 },
            bottom: Side::NoSlip { tangential: 0.0 },
            top: Side::NoSlip { tangential: 1.0 },
        };
        let grid = Grid::new(16, 16, 1.0, 1.0, sides).unwrap();
        let mut velocity = Velocity::zeros(&grid);
        explicit(&grid, &mut velocity, 0.1, 0.05);
        let top_row = &velocity.u[15 * 17..16 * 17];
        assert!(top_row[8] > 0.1 && velocity.u[8] < top_row[8]);
        assert_eq!((top_row[0], top_row[16]), (0.0, 0.0), "walls keep zero normal velocity");
    }
}
