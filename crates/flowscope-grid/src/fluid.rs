//! Pressure projection: makes the velocity divergence-free.

use crate::grid::{apply_boundaries, Grid, Velocity};
use crate::pressure::{PressureSolver, SolveStats};

/// Projects `velocity` onto divergence-free fields: solves −∇²φ = −∇·u for φ (warm-started from
/// the `phi` given), then u ← u − ∇φ on every face that is not a wall. The physical pressure is
/// φ / dt. Returns the solver's statistics.
pub fn make_incompressible(
    grid: &Grid,
    velocity: &mut Velocity,
    phi: &mut [f64],
    solver: &mut PressureSolver,
) -> SolveStats {
    let mut rhs = velocity.divergence(grid);
    rhs.iter_mut().for_each(|d| *d = -*d);
    let stats = solver.solve(&rhs, phi);
    let (nx, ny, dx, dy) = (grid.nx, grid.ny, grid.dx(), grid.dy());
    let periodic_x = grid.sides.periodic_x();
    let periodic_y = grid.sides.periodic_y();
    for j in 0..ny {
        let first = if periodic_x { 0 } else { 1 };
        for i in first..nx {
            let west = if i == 0 { phi[j * nx + nx - 1] } else { phi[j * nx + i - 1] };
            velocity.u[j * (nx + 1) + i] -= (phi[j * nx + i] - west) / dx;
        }
    }
    let first = if periodic_y { 0 } else { 1 };
    for j in first..ny {
        for i in 0..nx {
            let south = if j == 0 { phi[(ny - 1) * nx + i] } else { phi[(j - 1) * nx + i] };
            velocity.v[j * nx + i] -= (phi[j * nx + i] - south) / dy;
        }
    }
    apply_boundaries(grid, velocity);
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{Side, Sides};

    #[test]
    fn projection_leaves_no_divergence_and_keeps_divergence_free_fields() {
        let wall = Side::NoSlip { tangential: 0.0 };
        for sides in [Sides { left: wall, right: wall, bottom: wall, top: wall }, Sides::periodic()]
        {
            let grid = Grid::new(48, 32, 1.5, 1.0, sides).unwrap();
            let mut solver = PressureSolver::new(&grid, 1e-10);
            let mut velocity = Velocity::from_fn(
                &grid,
                |x, y| (3.0 * x).sin() + y * y,
                |x, y| (2.0 * y).cos() * x,
            );
            let mut phi = vec![0.0; grid.cells()];
            make_incompressible(&grid, &mut velocity, &mut phi, &mut solver);
            let max_div = velocity.divergence(&grid).iter().fold(0.0f64, |m, d| m.max(d.abs()));
            assert!(max_div < 1e-7, "{sides:?}: max divergence {max_div}");
            // Projecting again changes nothing: the projection is idempotent.
            let before = velocity.clone();
            phi.iter_mut().for_each(|p| *p = 0.0);
            make_incompressible(&grid, &mut velocity, &mut phi, &mut solver);
            let change =
                velocity.u.iter().zip(&before.u).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(change < 1e-7, "second projection changed u by {change}");
        }
    }
}
