//! Neighbour search on a uniform grid of cells at least one support radius wide: each particle
//! looks only into its own cell and the adjacent ones. Particles are sorted by cell with a
//! counting sort (count, prefix sum, scatter), the same algorithm the GPU twin runs, and their
//! positions copied in that order, so that a cell's candidates are read from one run of memory.

/// Particles sorted into the cells of a box, 1D (one row of cells) or 2D.
#[derive(Clone, Debug)]
pub struct CellList {
    lo: [f64; 2],
    extent: [f64; 2],
    cell: [f64; 2],
    dims: [usize; 2],
    periodic: [bool; 2],
    /// Particles of cell c: `order[start[c]..start[c + 1]]`, at `sorted[start[c]..start[c + 1]]`.
    start: Vec<usize>,
    order: Vec<usize>,
    sorted: Vec<[f64; 2]>,
}

impl CellList {
    /// Cells at least `radius` wide over `[lo, hi]` (a 1D box has `lo[1] == hi[1]`).
    pub fn new(lo: [f64; 2], hi: [f64; 2], radius: f64, periodic: [bool; 2]) -> Self {
        assert!(radius > 0.0, "the search radius must be positive");
        let extent = [hi[0] - lo[0], hi[1] - lo[1]];
        let dims = extent.map(|e| ((e / radius).floor() as usize).max(1));
        let cell = [extent[0] / dims[0] as f64, (extent[1] / dims[1] as f64).max(radius)];
        let (start, order, sorted) = (Vec::new(), Vec::new(), Vec::new());
        Self { lo, extent, cell, dims, periodic, start, order, sorted }
    }

    /// The grid: lower corner, cell size and cells per axis (what the GPU twin rebuilds).
    pub fn geometry(&self) -> ([f64; 2], [f64; 2], [usize; 2]) {
        (self.lo, self.cell, self.dims)
    }

    /// The cell of a position; positions outside a non-periodic box go to its edge cells.
    #[inline]
    fn cell_of(&self, x: [f64; 2]) -> [usize; 2] {
        let mut c = [0; 2];
        for a in 0..2 {
            let at = (x[a] - self.lo[a]) / self.cell[a];
            let n = self.dims[a] as isize;
            // Truncating agrees with flooring once clamped at zero (and skips a libm call).
            let k = if self.periodic[a] {
                (at.floor() as isize).rem_euclid(n)
            } else {
                (at as isize).clamp(0, n - 1)
            };
            c[a] = k as usize;
        }
        c
    }

    /// Sorts `positions` into the cells.
    pub fn build(&mut self, positions: &[[f64; 2]]) {
        let cells = self.dims[0] * self.dims[1];
        let index = |c: [usize; 2]| c[1] * self.dims[0] + c[0];
        let mut count = vec![0usize; cells + 1];
        let keys: Vec<usize> = positions.iter().map(|&x| index(self.cell_of(x))).collect();
        for &k in &keys {
            count[k + 1] += 1;
        }
        for c in 0..cells {
            count[c + 1] += count[c];
        }
        self.start = count.clone();
        self.order = vec![0; positions.len()];
        for (i, &k) in keys.iter().enumerate() {
            self.order[count[k]] = i;
            count[k] += 1;
        }
        self.sorted = self.order.iter().map(|&i| positions[i]).collect();
    }

    /// The displacement `a − b`, by the nearest image across periodic sides.
    pub fn displacement(&self, a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
        let mut d = [a[0] - b[0], a[1] - b[1]];
        for (axis, d) in d.iter_mut().enumerate() {
            if self.periodic[axis] {
                let l = self.extent[axis];
                *d -= l * (*d / l).round();
            }
        }
        d
    }

    /// The distinct neighbouring cell indices along one axis.
    #[inline]
    fn around(&self, axis: usize, c: usize) -> ([usize; 3], usize) {
        let n = self.dims[axis];
        let mut out = [0; 3];
        let mut len = 0;
        for offset in [-1isize, 0, 1] {
            let k = c as isize + offset;
            let k = if self.periodic[axis] {
                k.rem_euclid(n as isize) as usize
            } else if (0..n as isize).contains(&k) {
                k as usize
            } else {
                continue;
            };
            if !out[..len].contains(&k) {
                out[len] = k;
                len += 1;
            }
        }
        (out, len)
    }

    /// Calls `f(j, x_i − x_j, r)` for every particle j ≠ i within `radius` (≤ the cell size)
    /// of particle i; `positions` are those the list was built from.
    pub fn for_each_neighbour(
        &self,
        positions: &[[f64; 2]],
        i: usize,
        radius: f64,
        mut f: impl FnMut(usize, [f64; 2], f64),
    ) {
        debug_assert_eq!(
            positions.len(),
            self.sorted.len(),
            "the positions the list was built from"
        );
        let xi = positions[i];
        // Squared distances first: most candidates of the 3 × 3 cells lie outside the support,
        // and libm's overflow-safe `hypot` dominated the solvers' profiles.
        let radius_squared = radius * radius;
        let c = self.cell_of(xi);
        let (xs, nx) = self.around(0, c[0]);
        let (ys, ny) = self.around(1, c[1]);
        let wraps = self.periodic[0] || self.periodic[1];
        let mut scan = |run: std::ops::Range<usize>| {
            for (&j, &xj) in self.order[run.clone()].iter().zip(&self.sorted[run]) {
                if j == i {
                    continue;
                }
                let d =
                    if wraps { self.displacement(xi, xj) } else { [xi[0] - xj[0], xi[1] - xj[1]] };
                let r_squared = d[0] * d[0] + d[1] * d[1];
                if r_squared < radius_squared {
                    f(j, d, r_squared.sqrt());
                }
            }
        };
        for &cy in &ys[..ny] {
            let row = cy * self.dims[0];
            if self.periodic[0] {
                for &cx in &xs[..nx] {
                    scan(self.start[row + cx]..self.start[row + cx + 1]);
                }
            } else {
                // Without wrapping the row's cells are consecutive, and so are their particles.
                scan(self.start[row + xs[0]]..self.start[row + xs[nx - 1] + 1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_force(positions: &[[f64; 2]], list: &CellList, i: usize, radius: f64) -> Vec<usize> {
        let mut found: Vec<usize> = (0..positions.len())
            .filter(|&j| {
                let d = list.displacement(positions[i], positions[j]);
                j != i && d[0].hypot(d[1]) < radius
            })
            .collect();
        found.sort();
        found
    }

    #[test]
    fn finds_exactly_the_particles_a_brute_force_search_finds() {
        // A deterministic scatter, some particles outside the box.
        let positions: Vec<[f64; 2]> = (0..400)
            .map(|k| {
                let t = k as f64;
                [((t * 0.618_034).fract() * 1.1) - 0.05, (t * 0.414_213).fract() * 0.7]
            })
            .collect();
        for periodic in [[false, false], [true, true], [true, false]] {
            let radius = 0.09;
            let mut list = CellList::new([0.0, 0.0], [1.0, 0.7], radius, periodic);
            list.build(&positions);
            for i in 0..positions.len() {
                let mut found = Vec::new();
                list.for_each_neighbour(&positions, i, radius, |j, _, _| found.push(j));
                found.sort();
                assert_eq!(found, brute_force(&positions, &list, i, radius), "{periodic:?} {i}");
            }
        }
    }

    #[test]
    fn works_in_one_dimension_and_with_few_cells() {
        let positions: Vec<[f64; 2]> = (0..50).map(|k| [k as f64 * 0.02, 0.0]).collect();
        for radius in [0.05, 0.45, 0.9] {
            let mut list = CellList::new([0.0, 0.0], [1.0, 0.0], radius, [true, false]);
            list.build(&positions);
            for i in 0..positions.len() {
                let mut found = Vec::new();
                list.for_each_neighbour(&positions, i, radius, |j, _, _| found.push(j));
                found.sort();
                assert_eq!(found, brute_force(&positions, &list, i, radius), "radius {radius}");
            }
        }
    }
}
