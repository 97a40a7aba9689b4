//! Pressure projection: makes the velocity divergence-free.

use crate::grid::{apply_walls, Grid, Side, Velocity};
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
    for (k, d) in rhs.iter_mut().enumerate() {
        *d = if grid.is_solid(k % grid.nx, k / grid.nx) { 0.0 } else { -*d };
    }
    let stats = solver.solve(&rhs, phi);
    let (nx, ny, dx, dy) = (grid.nx, grid.ny, grid.dx(), grid.dy());
    let sides = grid.sides;
    // φ beyond a side: the wrapped cell, the ghost −φ of a p = 0 side, or nothing (a wall).
    let fluid = |i: usize, j: usize| !grid.is_solid(i, j);
    for j in 0..ny {
        for i in 0..=nx {
            let west = if i > 0 {
                fluid(i - 1, j).then(|| phi[j * nx + i - 1])
            } else if sides.periodic_x() {
                Some(phi[j * nx + nx - 1])
            } else {
                matches!(sides.left, Side::Outflow { .. }).then(|| -phi[j * nx])
            };
            let east = if i < nx {
                fluid(i, j).then(|| phi[j * nx + i])
            } else if sides.periodic_x() {
                None
            } else {
                matches!(sides.right, Side::Outflow { .. }).then(|| -phi[j * nx + nx - 1])
            };
            if let (Some(w), Some(e)) = (west, east) {
                velocity.u[j * (nx + 1) + i] -= (e - w) / dx;
            }
        }
    }
    for j in 0..=ny {
        for i in 0..nx {
            let south = if j > 0 {
                fluid(i, j - 1).then(|| phi[(j - 1) * nx + i])
            } else if sides.periodic_y() {
                Some(phi[(ny - 1) * nx + i])
            } else {
                None
            };
            let north = if j < ny { fluid(i, j).then(|| phi[j * nx + i]) } else { None };
            if let (Some(s), Some(n)) = (south, north) {
                velocity.v[j * nx + i] -= (n - s) / dy;
            }
        }
    }
    apply_walls(grid, velocity);
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Sides;

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

#[cfg(test)]
mod open_boundary_tests {
    use super::*;
    use crate::grid::Sides;

    #[test]
    fn a_channel_with_an_obstacle_projects_to_zero_divergence_and_conserves_flux() {
        let wall = Side::NoSlip { tangential: 0.0 };
        let sides = Sides {
            left: Side::Inflow { speed: 1.5, parabolic: true },
            right: Side::Outflow { convective: false },
            bottom: wall,
            top: wall,
        };
        let grid = Grid::new(64, 16, 2.2, 0.41, sides)
            .unwrap()
            .with_obstacle(|x, y| (x - 0.4).hypot(y - 0.2) < 0.06);
        assert!(grid.solid.iter().filter(|s| **s).count() > 4);
        let mut solver = PressureSolver::new(&grid, 1e-10);
        let mut velocity = Velocity::from_fn(&grid, |_, _| 0.3, |x, _| 0.1 * x.sin());
        let mut phi = vec![0.0; grid.cells()];
        let stats = make_incompressible(&grid, &mut velocity, &mut phi, &mut solver);
        assert!(stats.residual <= 1e-10, "{stats:?}");
        let max_div = velocity.divergence(&grid).iter().fold(0.0f64, |m, d| m.max(d.abs()));
        assert!(max_div < 1e-7, "max divergence {max_div}");
        // What enters on the left leaves on the right.
        let column =
            |i: usize| (0..grid.ny).map(|j| velocity.u[j * 65 + i]).sum::<f64>() * grid.dy();
        assert!((column(0) - column(64)).abs() < 1e-9, "in {} out {}", column(0), column(64));
        assert!(column(0) > 0.3, "the parabolic inflow carries ≈ 1.5·⅔·0.41 = 0.41");
    }
}
