//! Fluid blocks and the walls around them, as particles on a square lattice of spacing `dx`:
//! the initial states of the 2D cases.

/// A rectangular tank `[0, width] × [0, height]`, open at the top, walled by `layers` rows of
/// particles on the left, right and bottom (enough to fill a kernel's support).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tank {
    pub width: f64,
    pub height: f64,
    pub dx: f64,
    pub layers: usize,
}

impl Tank {
    /// The wall particles, outside the fluid region, corners included.
    pub fn walls(&self) -> Vec<[f64; 2]> {
        let (nx, ny) = self.cells();
        let l = self.layers as isize;
        let mut out = Vec::new();
        for j in -l..ny as isize {
            for i in -l..nx as isize + l {
                let inside = i >= 0 && i < nx as isize && j >= 0;
                if !inside {
                    out.push([(i as f64 + 0.5) * self.dx, (j as f64 + 0.5) * self.dx]);
                }
            }
        }
        out
    }

    /// How many particles [`Tank::walls`] makes, without making them.
    pub fn wall_count(&self) -> usize {
        let (nx, ny) = self.cells();
        (nx + 2 * self.layers) * (ny + self.layers) - nx * ny
    }

    /// About how many particles [`Tank::block`] makes for a `width × height` block.
    pub fn block_count(&self, width: f64, height: f64) -> usize {
        ((width.max(0.0) / self.dx).round() * (height.max(0.0) / self.dx).round()) as usize
    }

    fn cells(&self) -> (usize, usize) {
        ((self.width / self.dx).round() as usize, (self.height / self.dx).round() as usize)
    }

    /// Fluid particles filling `[x0, x1] × [y0, y1]` (inside the tank) on the lattice.
    pub fn block(&self, x0: f64, x1: f64, y0: f64, y1: f64) -> Vec<[f64; 2]> {
        let (nx, ny) = self.cells();
        let mut out = Vec::new();
        for j in 0..ny {
            for i in 0..nx {
                let p = [(i as f64 + 0.5) * self.dx, (j as f64 + 0.5) * self.dx];
                if p[0] > x0 && p[0] < x1 && p[1] > y0 && p[1] < y1 {
                    out.push(p);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_particles_made() {
        let tank = Tank { width: 0.5, height: 0.6, dx: 0.01, layers: 3 };
        assert_eq!(tank.wall_count(), tank.walls().len());
        let block = tank.block(0.0, 0.2, 0.0, 0.4).len();
        let estimate = tank.block_count(0.2, 0.4);
        assert!(block.abs_diff(estimate) <= 40, "{block} particles, {estimate} estimated");
    }
}
