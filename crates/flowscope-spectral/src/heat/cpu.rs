//! CPU reference of the heat solver. The arithmetic order matches `shaders/spectral/heat.wgsl`.

use super::exact::ExactStep;
use super::{HeatConfig, PaintBlob, Scheme};

/// Applies `update(centre, west + east, south + north, k)` to every cell of a periodic grid,
/// writing `dst`. Rows are sliced once so the interior loop has no wrap-around arithmetic.
#[inline(always)]
fn for_each_stencil(
    src: &[f32],
    dst: &mut [f32],
    nx: usize,
    ny: usize,
    update: impl Fn(f32, f32, f32, usize) -> f32,
) {
    for j in 0..ny {
        let row = &src[j * nx..(j + 1) * nx];
        let south = &src[((j + ny - 1) % ny) * nx..][..nx];
        let north = &src[((j + 1) % ny) * nx..][..nx];
        let out = &mut dst[j * nx..(j + 1) * nx];
        let base = j * nx;
        out[0] = update(row[0], row[nx - 1] + row[1 % nx], south[0] + north[0], base);
        for i in 1..nx - 1 {
            out[i] = update(row[i], row[i - 1] + row[i + 1], south[i] + north[i], base + i);
        }
        if nx > 1 {
            let i = nx - 1;
            out[i] = update(row[i], row[i - 1] + row[0], south[i] + north[i], base + i);
        }
    }
}

/// One forward-Euler step: `dst = src + rx (Tw + Te − 2T) + ry (Ts + Tn − 2T)`, periodic.
pub fn diffuse_explicit(src: &[f32], dst: &mut [f32], nx: usize, ny: usize, rx: f32, ry: f32) {
    for_each_stencil(src, dst, nx, ny, |c, sx, sy, _| {
        c + rx * (sx - 2.0 * c) + ry * (sy - 2.0 * c)
    });
}

/// One Jacobi sweep of backward Euler: `dst = (rhs + rx (Tw + Te) + ry (Ts + Tn)) / (1 + 2rx + 2ry)`.
pub fn jacobi_sweep(
    src: &[f32],
    rhs: &[f32],
    dst: &mut [f32],
    nx: usize,
    ny: usize,
    rx: f32,
    ry: f32,
) {
    let diagonal = 1.0 + 2.0 * rx + 2.0 * ry;
    for_each_stencil(src, dst, nx, ny, |_, sx, sy, k| (rhs[k] + rx * sx + ry * sy) / diagonal);
}

/// Shortest signed distance on a periodic axis of length `l` (as `periodic_delta` in WGSL).
fn periodic_delta(a: f32, b: f32, l: f32) -> f32 {
    let d = a - b;
    d - l * (d / l).round_ties_even()
}

/// `T = max(T, value · exp(−d²/r²))` around the blob centre, periodic.
pub fn paint(field: &mut [f32], nx: usize, ny: usize, blob: &PaintBlob) {
    for j in 0..ny {
        let dy = periodic_delta(j as f32 + 0.5, blob.cy, ny as f32);
        for i in 0..nx {
            let dx = periodic_delta(i as f32 + 0.5, blob.cx, nx as f32);
            let w = (-(dx * dx + dy * dy) / (blob.radius * blob.radius)).exp();
            let t = &mut field[j * nx + i];
            *t = t.max(blob.value * w);
        }
    }
}

/// A heat simulation on the CPU.
pub struct CpuHeat {
    config: HeatConfig,
    state: Vec<f32>,
    scratch: Vec<f32>,
    rhs: Vec<f32>,
    /// The spectral scheme's step, made on first use for the current coefficients.
    exact: Option<ExactStep>,
}

impl CpuHeat {
    pub fn new(config: HeatConfig, initial: Vec<f32>) -> Self {
        assert_eq!(initial.len(), config.nx * config.ny, "initial field has the wrong size");
        let scratch = initial.clone();
        let rhs = initial.clone();
        Self { config, state: initial, scratch, rhs, exact: None }
    }

    pub fn config(&self) -> &HeatConfig {
        &self.config
    }

    /// Changes coefficients that need no new grid (diffusivity, dt, scheme).
    pub fn reconfigure(&mut self, config: HeatConfig) {
        assert_eq!((config.nx, config.ny), (self.config.nx, self.config.ny));
        self.config = config;
        self.exact = None;
    }

    pub fn step(&mut self, n: u32) {
        let HeatConfig { nx, ny, .. } = self.config;
        let (rx, ry) = self.config.ratios();
        for _ in 0..n {
            match self.config.scheme {
                Scheme::Explicit => {
                    diffuse_explicit(&self.state, &mut self.scratch, nx, ny, rx, ry);
                    std::mem::swap(&mut self.state, &mut self.scratch);
                }
                Scheme::Implicit { iterations } => {
                    self.rhs.copy_from_slice(&self.state);
                    for _ in 0..iterations {
                        jacobi_sweep(&self.state, &self.rhs, &mut self.scratch, nx, ny, rx, ry);
                        std::mem::swap(&mut self.state, &mut self.scratch);
                    }
                }
                Scheme::Spectral => {
                    let spec = self.config.exact_spec();
                    let step = self.exact.get_or_insert_with(|| ExactStep::from_spec(spec));
                    step.apply(&mut self.state);
                }
            }
        }
    }

    pub fn paint(&mut self, blob: &PaintBlob) {
        paint(&mut self.state, self.config.nx, self.config.ny, blob);
    }

    pub fn field(&self) -> &[f32] {
        &self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn fourier_mode(config: &HeatConfig, kx: f64, ky: f64) -> Vec<f32> {
        let mut field = Vec::with_capacity(config.nx * config.ny);
        for j in 0..config.ny {
            for i in 0..config.nx {
                let (x, y) = config.cell_centre(i, j);
                field.push((kx * x).sin() as f32 * (ky * y).cos() as f32);
            }
        }
        field
    }

    /// Amplitude of the mode, by projection onto the initial shape.
    fn amplitude(field: &[f32], shape: &[f32]) -> f64 {
        let dot: f64 = field.iter().zip(shape).map(|(&a, &b)| a as f64 * b as f64).sum();
        let norm: f64 = shape.iter().map(|&b| b as f64 * b as f64).sum();
        dot / norm
    }

    #[test]
    fn explicit_scheme_decays_a_fourier_mode_like_the_analytic_solution() {
        // T = sin(kx x) cos(ky y) decays as exp(−D (kx² + ky²) t).
        let mut config = HeatConfig {
            nx: 128,
            ny: 96,
            lx: 1.0,
            ly: 0.75,
            diffusivity: 1e-3,
            dt: 0.0,
            scheme: Scheme::Explicit,
        };
        config.dt = 0.2 * config.explicit_dt_limit();
        let (kx, ky) = (2.0 * PI / config.lx, 2.0 * PI / config.ly);
        let shape = fourier_mode(&config, kx, ky);
        let mut heat = CpuHeat::new(config, shape.clone());
        let steps = 2000;
        heat.step(steps);
        let t = steps as f64 * config.dt;
        let exact = (-config.diffusivity * (kx * kx + ky * ky) * t).exp();
        let got = amplitude(heat.field(), &shape);
        assert!(exact < 0.8, "the test must decay the mode noticeably (exact {exact})");
        let relative = (got - exact).abs() / exact;
        assert!(relative < 1e-3, "amplitude {got} vs exact {exact}: relative error {relative}");
    }

    #[test]
    fn explicit_scheme_beyond_its_limit_blows_up() {
        // Guards the limit itself: a checkerboard grows once dt exceeds it.
        let mut config = HeatConfig {
            nx: 32,
            ny: 32,
            lx: 1.0,
            ly: 1.0,
            diffusivity: 1e-2,
            dt: 0.0,
            scheme: Scheme::Explicit,
        };
        config.dt = 1.1 * config.explicit_dt_limit();
        let checkerboard: Vec<f32> =
            (0..32 * 32).map(|k| if (k % 32 + k / 32) % 2 == 0 { 1e-3 } else { -1e-3 }).collect();
        let mut heat = CpuHeat::new(config, checkerboard);
        heat.step(200);
        let max = heat.field().iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(max > 1.0, "expected growth beyond the limit, max {max}");
    }

    #[test]
    fn implicit_scheme_matches_the_backward_euler_amplification() {
        // Converged backward Euler multiplies the mode by 1 / (1 + dt λ), λ the discrete eigenvalue.
        let config = HeatConfig {
            nx: 64,
            ny: 64,
            lx: 1.0,
            ly: 1.0,
            diffusivity: 1e-2,
            dt: 0.01,
            scheme: Scheme::Implicit { iterations: 200 },
        };
        let k = 2.0 * PI;
        let shape = fourier_mode(&config, k, k);
        let mut heat = CpuHeat::new(config, shape.clone());
        heat.step(10);
        let lambda = |h: f64| 4.0 / (h * h) * (k * h / 2.0).sin().powi(2);
        let eigen = config.diffusivity * (lambda(config.dx()) + lambda(config.dy()));
        let expected = (1.0 / (1.0 + config.dt * eigen)).powi(10);
        let got = amplitude(heat.field(), &shape);
        assert!((got - expected).abs() < 1e-4, "amplitude {got}, expected {expected}");
    }

    #[test]
    fn both_schemes_conserve_total_heat_and_the_maximum_principle() {
        for scheme in [Scheme::Explicit, Scheme::Implicit { iterations: 20 }] {
            let config = HeatConfig {
                nx: 48,
                ny: 40,
                lx: 1.0,
                ly: 1.0,
                diffusivity: 1e-3,
                dt: 0.05,
                scheme,
            };
            let mut heat = CpuHeat::new(config, vec![0.0; 48 * 40]);
            heat.paint(&PaintBlob::at(&config, 0.02, 0.5, 0.1, 1.0));
            let before: f64 = heat.field().iter().map(|&v| v as f64).sum();
            heat.step(100);
            let after: f64 = heat.field().iter().map(|&v| v as f64).sum();
            assert!((after - before).abs() / before < 1e-4, "{scheme:?}: {before} -> {after}");
            assert!(heat.field().iter().all(|&v| (0.0..=1.0).contains(&v)), "{scheme:?}");
        }
    }

    #[test]
    fn painting_wraps_around_the_periodic_edges() {
        let config = HeatConfig {
            nx: 32,
            ny: 32,
            lx: 1.0,
            ly: 1.0,
            diffusivity: 1e-3,
            dt: 0.01,
            scheme: Scheme::Explicit,
        };
        let mut field = vec![0.0; 32 * 32];
        paint(&mut field, 32, 32, &PaintBlob::at(&config, 0.0, 0.0, 0.05, 1.0));
        assert_eq!(field[0], field[31], "symmetric across the x edge");
        assert_eq!(field[0], field[31 * 32], "symmetric across the y edge");
        assert!(field[0] > 0.5 && field[16 * 32 + 16] == 0.0);
    }
}
