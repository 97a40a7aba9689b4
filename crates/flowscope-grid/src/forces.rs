//! Force of the fluid on the obstacles, from the stresses on the faces between fluid and solid
//! cells: pressure p pushing along each face's normal, and viscous shear ν ∂u_t/∂n with the
//! obstacle at rest (density 1).

use crate::grid::{Grid, Velocity};

/// `(Fx, Fy)` on all obstacles, per unit depth. `pressure` is the physical pressure per cell.
pub fn obstacle_force(grid: &Grid, velocity: &Velocity, pressure: &[f64], nu: f64) -> (f64, f64) {
    if grid.solid.is_empty() {
        return (0.0, 0.0);
    }
    let (nx, ny, dx, dy) = (grid.nx, grid.ny, grid.dx(), grid.dy());
    let (ux, uy) = velocity.centred(grid);
    let (mut fx, mut fy) = (0.0, 0.0);
    for j in 0..ny {
        for i in 0..nx {
            if grid.is_solid(i, j) {
                continue;
            }
            let k = j * nx + i;
            // (neighbour, direction from this fluid cell into it)
            let neighbours = [
                (i > 0 && grid.is_solid(i - 1, j), (-1.0, 0.0)),
                (i + 1 < nx && grid.is_solid(i + 1, j), (1.0, 0.0)),
                (j > 0 && grid.is_solid(i, j - 1), (0.0, -1.0)),
                (j + 1 < ny && grid.is_solid(i, j + 1), (0.0, 1.0)),
            ];
            for (solid, (nxd, nyd)) in neighbours {
                if !solid {
                    continue;
                }
                // Pressure pushes the body along the normal pointing into it.
                let area = if nxd != 0.0 { dy } else { dx };
                fx += pressure[k] * nxd * area;
                fy += pressure[k] * nyd * area;
                // Shear: the tangential velocity drops to zero over half a cell.
                let gap = if nxd != 0.0 { 0.5 * dx } else { 0.5 * dy };
                if nxd != 0.0 {
                    fy += nu * uy[k] / gap * area;
                } else {
                    fx += nu * ux[k] / gap * area;
                }
            }
        }
    }
    (fx, fy)
}
