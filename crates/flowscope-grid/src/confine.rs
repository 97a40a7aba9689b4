//! Vorticity confinement (Fedkiw, Stam & Jensen 2001): puts back the small-scale rotation that
//! numerical dissipation smears out, with the force f = ε h (N × ω), N = ∇|ω| / |∇|ω||, computed
//! at cell centres and averaged onto the interior faces.

use crate::grid::{apply_boundaries, Grid, Velocity};

/// Adds `dt` times the confinement force of strength `epsilon` to the velocity.
pub fn vorticity_confinement(grid: &Grid, velocity: &mut Velocity, epsilon: f64, dt: f64) {
    if epsilon <= 0.0 {
        return;
    }
    let (fx, fy) = confinement_force(grid, velocity, epsilon);
    let (nx, ny) = (grid.nx, grid.ny);
    for j in 0..ny {
        for i in 1..nx {
            velocity.u[j * (nx + 1) + i] += dt * 0.5 * (fx[j * nx + i - 1] + fx[j * nx + i]);
        }
    }
    for j in 1..ny {
        for i in 0..nx {
            velocity.v[j * nx + i] += dt * 0.5 * (fy[(j - 1) * nx + i] + fy[j * nx + i]);
        }
    }
    apply_boundaries(grid, velocity);
}

/// The force per cell centre, `(fx, fy)`; zero on the outermost ring of cells, where the
/// gradient of |ω| would need values beyond the domain.
pub fn confinement_force(grid: &Grid, velocity: &Velocity, epsilon: f64) -> (Vec<f64>, Vec<f64>) {
    let (nx, ny, dx, dy) = (grid.nx, grid.ny, grid.dx(), grid.dy());
    let w = velocity.vorticity(grid);
    let (mut fx, mut fy) = (vec![0.0; nx * ny], vec![0.0; nx * ny]);
    let h = dx.min(dy);
    for j in 1..ny - 1 {
        for i in 1..nx - 1 {
            let k = j * nx + i;
            let gx = (w[k + 1].abs() - w[k - 1].abs()) / (2.0 * dx);
            let gy = (w[k + nx].abs() - w[k - nx].abs()) / (2.0 * dy);
            let norm = (gx * gx + gy * gy).sqrt() + 1e-20;
            let (n_x, n_y) = (gx / norm, gy / norm);
            // N × ω with ω along z: (N_y ω, −N_x ω).
            fx[k] = epsilon * h * n_y * w[k];
            fy[k] = -epsilon * h * n_x * w[k];
        }
    }
    (fx, fy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Sides;

    #[test]
    fn confinement_strengthens_a_smeared_vortex() {
        // A Gaussian vortex: confinement pushes fluid towards the core's rotation, so the peak
        // vorticity grows.
        let grid = Grid::new(48, 48, 1.0, 1.0, Sides::periodic()).unwrap();
        let swirl = |x: f64, y: f64| {
            let (dx, dy) = (x - 0.5, y - 0.5);
            let g = (-(dx * dx + dy * dy) / 0.01).exp();
            (-dy * g, dx * g)
        };
        let mut velocity = Velocity::from_fn(&grid, |x, y| swirl(x, y).0, |x, y| swirl(x, y).1);
        let peak = |v: &Velocity| v.vorticity(&grid).iter().fold(0.0f64, |m, w| m.max(w.abs()));
        let before = peak(&velocity);
        vorticity_confinement(&grid, &mut velocity, 2.0, 0.05);
        assert!(peak(&velocity) > before * 1.01, "{} vs {before}", peak(&velocity));
    }
}
