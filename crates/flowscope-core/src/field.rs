//! Scalar fields on cell-centred grids, in the layout every export uses.
//!
//! Data is row-major `[j][i]`: `j` runs along y from the bottom (y = 0) upwards, `i` along x;
//! sample `(i, j)` sits at the cell centre `((i + 0.5) dx, (j + 0.5) dy)` from the domain origin.

/// `[[xmin, xmax], [ymin, ymax]]`.
pub type Domain = [[f64; 2]; 2];

#[derive(Clone, Debug, PartialEq)]
pub struct Field2 {
    pub nx: usize,
    pub ny: usize,
    pub data: Vec<f32>,
}

impl Field2 {
    pub fn zeros(nx: usize, ny: usize) -> Self {
        Self { nx, ny, data: vec![0.0; nx * ny] }
    }

    #[inline]
    pub fn index(&self, i: usize, j: usize) -> usize {
        j * self.nx + i
    }

    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f32 {
        self.data[self.index(i, j)]
    }

    /// Smallest and largest finite values, or `None` if there are none.
    pub fn finite_range(&self) -> Option<(f32, f32)> {
        self.data.iter().filter(|v| v.is_finite()).fold(None, |acc, &v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
    }

    pub fn all_finite(&self) -> bool {
        self.data.iter().all(|v| v.is_finite())
    }
}
