//! Smoothing kernels W(r, h) with compact support 2h, in 1D and 2D, and their radial
//! derivatives ∂W/∂r. Both integrate to one over their support.

/// The kernel's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Monaghan's cubic B-spline (M4).
    CubicSpline,
    /// Wendland's C2 kernel: no pairing instability, smoother densities.
    WendlandC2,
}

/// A kernel of a given shape in `dim` dimensions (1 or 2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Kernel {
    pub shape: Shape,
    pub dim: u32,
}

impl Kernel {
    pub fn new(shape: Shape, dim: u32) -> Self {
        assert!(dim == 1 || dim == 2, "kernels are defined in 1D and 2D");
        Self { shape, dim }
    }

    /// The support radius for smoothing length `h`: W vanishes beyond it.
    pub fn support(&self, h: f64) -> f64 {
        2.0 * h
    }

    /// Normalisation σ / h^dim.
    fn sigma(&self, h: f64) -> f64 {
        let sigma = match (self.shape, self.dim) {
            (Shape::CubicSpline, 1) => 2.0 / 3.0,
            (Shape::CubicSpline, _) => 10.0 / (7.0 * std::f64::consts::PI),
            (Shape::WendlandC2, 1) => 5.0 / 8.0,
            (Shape::WendlandC2, _) => 7.0 / (4.0 * std::f64::consts::PI),
        };
        sigma / if self.dim == 1 { h } else { h * h }
    }

    /// W(r, h).
    pub fn w(&self, r: f64, h: f64) -> f64 {
        let q = r / h;
        if q >= 2.0 {
            return 0.0;
        }
        let f = match (self.shape, self.dim) {
            (Shape::CubicSpline, _) if q < 1.0 => 1.0 - 1.5 * q * q + 0.75 * q * q * q,
            (Shape::CubicSpline, _) => 0.25 * (2.0 - q).powi(3),
            (Shape::WendlandC2, 1) => (1.0 - 0.5 * q).powi(3) * (1.5 * q + 1.0),
            (Shape::WendlandC2, _) => (1.0 - 0.5 * q).powi(4) * (2.0 * q + 1.0),
        };
        self.sigma(h) * f
    }

    /// ∂W/∂r at distance `r` (≤ 0); the gradient with respect to particle i of W(|x_i − x_j|)
    /// is this times (x_i − x_j) / r.
    pub fn dw_dr(&self, r: f64, h: f64) -> f64 {
        let q = r / h;
        if q >= 2.0 {
            return 0.0;
        }
        let df = match (self.shape, self.dim) {
            (Shape::CubicSpline, _) if q < 1.0 => -3.0 * q + 2.25 * q * q,
            (Shape::CubicSpline, _) => -0.75 * (2.0 - q).powi(2),
            (Shape::WendlandC2, 1) => -3.0 * q * (1.0 - 0.5 * q).powi(2),
            (Shape::WendlandC2, _) => -5.0 * q * (1.0 - 0.5 * q).powi(3),
        };
        self.sigma(h) * df / h
    }

    /// The kernel at one smoothing length, its constants worked out once: the solvers evaluate
    /// it for every pair of neighbours, where the divisions of [`Kernel::w`] and
    /// [`Kernel::dw_dr`] by h and r dominated.
    pub fn at(&self, h: f64) -> KernelAt {
        let sigma = self.sigma(h);
        KernelAt { shape: self.shape, dim: self.dim, inv_h: 1.0 / h, sigma, grad: sigma / (h * h) }
    }
}

/// [`Kernel`] at a fixed smoothing length (see [`Kernel::at`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KernelAt {
    shape: Shape,
    dim: u32,
    inv_h: f64,
    /// σ / h^dim and σ / h^(dim + 2).
    sigma: f64,
    grad: f64,
}

impl KernelAt {
    /// W(r).
    #[inline]
    pub fn w(&self, r: f64) -> f64 {
        let q = r * self.inv_h;
        if q >= 2.0 {
            return 0.0;
        }
        let t = 1.0 - 0.5 * q;
        let f = match (self.shape, self.dim) {
            (Shape::CubicSpline, _) if q < 1.0 => 1.0 - 1.5 * q * q + 0.75 * q * q * q,
            (Shape::CubicSpline, _) => 2.0 * t * t * t,
            (Shape::WendlandC2, 1) => t * t * t * (1.5 * q + 1.0),
            (Shape::WendlandC2, _) => t * t * t * t * (2.0 * q + 1.0),
        };
        self.sigma * f
    }

    /// (∂W/∂r) / r, so that ∇_i W(|x_i − x_j|) is this times x_i − x_j (finite at r = 0 for
    /// the Wendland kernels).
    #[inline]
    pub fn grad_over_r(&self, r: f64) -> f64 {
        let q = r * self.inv_h;
        if q >= 2.0 {
            return 0.0;
        }
        let t = 1.0 - 0.5 * q;
        let g = match (self.shape, self.dim) {
            (Shape::CubicSpline, _) if q < 1.0 => -3.0 + 2.25 * q,
            (Shape::CubicSpline, _) => -3.0 * t * t / q,
            (Shape::WendlandC2, 1) => -3.0 * t * t,
            (Shape::WendlandC2, _) => -5.0 * t * t * t,
        };
        self.grad * g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPES: [Shape; 2] = [Shape::CubicSpline, Shape::WendlandC2];

    #[test]
    fn kernels_integrate_to_one() {
        let h = 0.37;
        let n = 20_000;
        let dr = 2.0 * h / n as f64;
        for shape in SHAPES {
            let line = Kernel::new(shape, 1);
            let plane = Kernel::new(shape, 2);
            let (mut one_d, mut two_d) = (0.0, 0.0);
            for k in 0..n {
                let r = (k as f64 + 0.5) * dr;
                one_d += 2.0 * line.w(r, h) * dr;
                two_d += std::f64::consts::TAU * r * plane.w(r, h) * dr;
            }
            assert!((one_d - 1.0).abs() < 1e-6, "{shape:?} 1D: {one_d}");
            assert!((two_d - 1.0).abs() < 1e-6, "{shape:?} 2D: {two_d}");
        }
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let h = 0.8;
        for shape in SHAPES {
            for dim in [1, 2] {
                let kernel = Kernel::new(shape, dim);
                for k in 1..40 {
                    let r = k as f64 * 0.04;
                    let e = 1e-6;
                    let fd = (kernel.w(r + e, h) - kernel.w(r - e, h)) / (2.0 * e);
                    let exact = kernel.dw_dr(r, h);
                    assert!((fd - exact).abs() < 1e-6, "{shape:?} {dim}D r {r}: {fd} vs {exact}");
                }
                assert_eq!(kernel.w(kernel.support(h), h), 0.0);
            }
        }
    }

    #[test]
    fn a_kernel_at_one_length_agrees_with_the_general_one() {
        let h = 0.013;
        for shape in SHAPES {
            for dim in [1, 2] {
                let kernel = Kernel::new(shape, dim);
                let at = kernel.at(h);
                for k in 1..=45 {
                    let r = k as f64 * 0.05 * h;
                    let (w, g) = (kernel.w(r, h), kernel.dw_dr(r, h) / r);
                    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
                    assert!(close(at.w(r), w), "{shape:?} {dim}D W at r {r}");
                    assert!(close(at.grad_over_r(r), g), "{shape:?} {dim}D ∇W/r at r {r}");
                }
            }
        }
    }
}
