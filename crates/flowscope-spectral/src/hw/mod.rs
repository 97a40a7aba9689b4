//! The Hasegawa–Wakatani model of drift-wave turbulence in a magnetised plasma edge, on a
//! periodic square, discretised as the reference code hw2d does it:
//!
//! ∂t n = c1 (φ − n) − [φ, n] − κ ∂y φ + ν ∇⁶ n,
//! ∂t Ω = c1 (φ − n) − [φ, Ω] + ν ∇⁶ Ω,   ∇²φ = Ω,
//!
//! with the Arakawa bracket, central ∂y, ∇⁶ as the 5-point Laplacian applied three times (the
//! hyperdiffusion of order N = 3, dissipative with a positive ν), the Poisson solve by FFT with
//! the spectral Laplacian (−|k|², the mean of φ zero), and classic RK4, φ solved at every stage.
//! The CPU reference ([`cpu`], f32 fields, rustfft) and its WGSL twin ([`gpu`],
//! `shaders/spectral/hw.wgsl`) keep the state as `[n, Ω]` pairs per cell, row-major `[j][i]`
//! with y along j.

pub mod cpu;
pub mod gpu;

pub use cpu::CpuHw;
pub use gpu::GpuHw;

use rand::{Rng, SeedableRng};

/// The model's coefficients and grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HwConfig {
    /// Cells along each side (a power of two: the FFTs).
    pub n: usize,
    /// Adiabaticity: the parallel coupling of density and potential.
    pub c1: f64,
    /// The background density gradient's drive.
    pub kappa: f64,
    /// Hyperdiffusion coefficient of ∇⁶.
    pub nu: f64,
    pub dt: f64,
    /// The box's fundamental wavenumber: the side is L = 2π / k0.
    pub k0: f64,
}

impl HwConfig {
    /// hw2d's defaults at `n` cells per side: c1 = 1, κ = 1, ν = 5·10⁻⁸, dt = 0.025, k0 = 0.15.
    pub fn reference(n: usize) -> Self {
        Self { n, c1: 1.0, kappa: 1.0, nu: 5e-8, dt: 0.025, k0: 0.15 }
    }

    /// The side of the box, 2π / k0.
    pub fn length(&self) -> f64 {
        std::f64::consts::TAU / self.k0
    }

    pub fn dx(&self) -> f64 {
        self.length() / self.n as f64
    }

    /// Per mode, the factor that turns Ω̂ into φ̂: −dx² / ((2π)² |f|²) with f in cycles per cell
    /// (numpy's `fftfreq`), zero for the mean.
    pub fn inverse_laplacian(&self) -> Vec<f32> {
        let n = self.n;
        let frequency = |k: usize| {
            let signed = if k < n.div_ceil(2) { k as f64 } else { k as f64 - n as f64 };
            signed / n as f64
        };
        let dx2 = self.dx() * self.dx();
        let tau2 = std::f64::consts::TAU.powi(2);
        (0..n * n)
            .map(|k| {
                let f2 = frequency(k % n).powi(2) + frequency(k / n).powi(2);
                if f2 == 0.0 {
                    0.0
                } else {
                    (-dx2 / (tau2 * f2)) as f32
                }
            })
            .collect()
    }
}

/// The reference's Γn against c1 (hw2d at 512², averaged over t 300–1000; SCIENCE.md).
pub const REFERENCE_GAMMA_N_BY_C1: [(f64, f64); 5] =
    [(0.1, 1.51), (0.5, 0.89), (1.0, 0.60), (2.0, 0.38), (5.0, 0.13)];
/// The reference's bands at c1 = 1, in [`HwStats`] order: (name, value, spread) of Γn, Γc, E, U.
pub const REFERENCE_BANDS: [(&str, f64, f64); 4] =
    [("Γn", 0.60, 0.01), ("Γc", 0.60, 0.01), ("E", 3.78, 0.07), ("U", 13.2, 0.91)];

/// hw2d's "normal" start: independent normal noise of standard deviation 0.01 in n and Ω, from
/// `seed` (φ follows from Ω).
pub fn initial_state(n: usize, seed: u64) -> Vec<[f32; 2]> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut normal = move || {
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random();
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    };
    (0..n * n).map(|_| [0.01 * normal(), 0.01 * normal()]).collect()
}

/// The domain means hw2d reports, from the state `[n, Ω]` and φ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HwStats {
    /// Particle flux Γn = −⟨n ∂y φ⟩.
    pub gamma_n: f64,
    /// Resistive flux Γc = c1 ⟨(n − φ)²⟩.
    pub gamma_c: f64,
    /// Energy E = ½ ⟨n² + |∇φ|²⟩.
    pub energy: f64,
    /// Enstrophy U = ½ ⟨(n − Ω)²⟩.
    pub enstrophy: f64,
}

impl HwStats {
    /// Central differences for ∇φ, as hw2d's `periodic_gradient`.
    pub fn of(config: &HwConfig, state: &[[f32; 2]], phi: &[f32]) -> Self {
        let n = config.n;
        let inv2dx = 1.0 / (2.0 * config.dx());
        let rows = flowscope_parallel::map(n, |j| {
            let (up, down) = ((j + 1) % n * n, (j + n - 1) % n * n);
            let mut sums = [0.0f64; 4];
            for i in 0..n {
                let k = j * n + i;
                let [density, omega] = state[k].map(f64::from);
                let p = phi[k] as f64;
                let dy = (phi[up + i] - phi[down + i]) as f64 * inv2dx;
                let dx = (phi[j * n + (i + 1) % n] - phi[j * n + (i + n - 1) % n]) as f64 * inv2dx;
                sums[0] -= density * dy;
                sums[1] += (density - p).powi(2);
                sums[2] += density * density + dx * dx + dy * dy;
                sums[3] += (density - omega).powi(2);
            }
            sums
        });
        let cells = (n * n) as f64;
        let sum = |k: usize| rows.iter().map(|r| r[k]).sum::<f64>() / cells;
        Self {
            gamma_n: sum(0),
            gamma_c: config.c1 * sum(1),
            energy: 0.5 * sum(2),
            enstrophy: 0.5 * sum(3),
        }
    }

    pub fn is_finite(&self) -> bool {
        [self.gamma_n, self.gamma_c, self.energy, self.enstrophy].iter().all(|v| v.is_finite())
    }
}

/// The vorticity a stir adds: a Gaussian of radius `radius` (domain units) at `(x, y)`,
/// `amplitude` at its centre, on the periodic box (nearest image).
pub fn stir(
    config: &HwConfig,
    state: &mut [[f32; 2]],
    x: f64,
    y: f64,
    radius: f64,
    amplitude: f64,
) {
    let (n, dx, length) = (config.n, config.dx(), config.length());
    let wrap = |d: f64| d - length * (d / length).round();
    for j in 0..n {
        for i in 0..n {
            let rx = wrap((i as f64 + 0.5) * dx - x);
            let ry = wrap((j as f64 + 0.5) * dx - y);
            let weight = (-(rx * rx + ry * ry) / (radius * radius)).exp();
            if weight > 1e-4 {
                state[j * n + i][1] += (amplitude * weight) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inverse_laplacian_undoes_the_spectral_laplacian() {
        let config = HwConfig::reference(8);
        let g = config.inverse_laplacian();
        assert_eq!(g[0], 0.0, "the mean of φ is zero");
        // Mode (kx, ky) = (1, 0): |k|² = (2π/L)² = k0², so the factor is −1/k0².
        let expected = -1.0 / (config.k0 * config.k0);
        assert!((g[1] as f64 - expected).abs() < 1e-4 * expected.abs(), "{} vs {expected}", g[1]);
        // Negative frequencies mirror positive ones.
        assert_eq!(g[7], g[1]);
        assert_eq!(g[8 * 7], g[8]);
    }

    #[test]
    fn the_stats_of_a_known_state() {
        let config = HwConfig::reference(16);
        // n = 1, Ω = 3, φ = 2 everywhere: no gradients.
        let state = vec![[1.0, 3.0]; 256];
        let stats = HwStats::of(&config, &state, &[2.0; 256]);
        assert_eq!(stats.gamma_n, 0.0);
        assert!((stats.gamma_c - 1.0).abs() < 1e-12);
        assert!((stats.energy - 0.5).abs() < 1e-12);
        assert!((stats.enstrophy - 2.0).abs() < 1e-12);
    }
}
