//! The 2D heat equation ∂T/∂t = D ∇²T on a periodic rectangle, cell-centred grid.
//!
//! Space: the 5-point Laplacian. Time: forward Euler (stable while D dt (1/dx² + 1/dy²) ≤ 1/2)
//! or backward Euler solved with a fixed number of Jacobi sweeps warm-started from the current
//! state (unconditionally stable: every sweep is a convex average), or the exact spectral step
//! ([`exact`]: each Fourier mode times exp(−D |k|² Δt), and its clipped inverse).

pub mod cpu;
pub mod exact;
pub mod gpu;

pub use cpu::CpuHeat;
pub use gpu::GpuHeat;

/// Time integration scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Explicit,
    Implicit {
        iterations: u32,
    },
    /// The exact solution over each step: every Fourier mode times exp(−D |k|² dt) (FFTs;
    /// nx and ny powers of two).
    Spectral,
}

/// Grid, coefficients and scheme of one heat simulation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeatConfig {
    pub nx: usize,
    pub ny: usize,
    /// Domain size; the domain is `[0, lx] × [0, ly]`.
    pub lx: f64,
    pub ly: f64,
    pub diffusivity: f64,
    pub dt: f64,
    pub scheme: Scheme,
}

impl HeatConfig {
    /// The exact spectral step of this configuration (forward in time).
    pub fn exact_spec(&self) -> exact::StepSpec {
        exact::StepSpec {
            nx: self.nx,
            ny: self.ny,
            lx: self.lx,
            ly: self.ly,
            d: self.diffusivity,
            dt: self.dt,
            inverse: None,
        }
    }

    pub fn dx(&self) -> f64 {
        self.lx / self.nx as f64
    }

    pub fn dy(&self) -> f64 {
        self.ly / self.ny as f64
    }

    /// `(D dt / dx², D dt / dy²)`, the coefficients both kernels use.
    pub fn ratios(&self) -> (f32, f32) {
        let rx = self.diffusivity * self.dt / (self.dx() * self.dx());
        let ry = self.diffusivity * self.dt / (self.dy() * self.dy());
        (rx as f32, ry as f32)
    }

    /// The largest stable forward-Euler step: dt ≤ 1 / (2 D (1/dx² + 1/dy²)).
    pub fn explicit_dt_limit(&self) -> f64 {
        let inv = 1.0 / (self.dx() * self.dx()) + 1.0 / (self.dy() * self.dy());
        1.0 / (2.0 * self.diffusivity * inv)
    }

    /// Cell-centre coordinates of cell `(i, j)`.
    pub fn cell_centre(&self, i: usize, j: usize) -> (f64, f64) {
        ((i as f64 + 0.5) * self.dx(), (j as f64 + 0.5) * self.dy())
    }
}

/// The blob that a pointer paints, in cell units so both backends compute the same weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PaintBlob {
    /// Centre, in cells (x / dx, y / dy).
    pub cx: f32,
    pub cy: f32,
    /// Radius, in cells.
    pub radius: f32,
    pub value: f32,
}

impl PaintBlob {
    /// A blob at domain point `(x, y)` with a domain-unit radius.
    pub fn at(config: &HeatConfig, x: f64, y: f64, radius: f64, value: f32) -> Self {
        Self {
            cx: (x / config.dx()) as f32,
            cy: (y / config.dy()) as f32,
            radius: (radius / config.dx()).max(0.5) as f32,
            value,
        }
    }
}
