//! The exact step of the heat equation on a periodic box: each Fourier mode decays by
//! exp(−D |k|² Δt) (SMDP's heat set-up). Wavenumbers are 2π m / L for the FFT's integer
//! frequencies m ∈ {0, 1, …, n/2, −n/2 + 1, …, −1}.

use crate::fft::Fft2;
use rustfft::num_complex::Complex32;

/// |k|² of every Fourier mode of an `nx × ny` field on `[0, lx] × [0, ly]`, row-major.
pub fn wavenumbers_squared(nx: usize, ny: usize, lx: f64, ly: f64) -> Vec<f64> {
    let frequency = |m: usize, n: usize| if m <= n / 2 { m as f64 } else { m as f64 - n as f64 };
    (0..ny)
        .flat_map(|j| {
            (0..nx).map(move |i| {
                let kx = std::f64::consts::TAU * frequency(i, nx) / lx;
                let ky = std::f64::consts::TAU * frequency(j, ny) / ly;
                kx * kx + ky * ky
            })
        })
        .collect()
}

/// The exact step of a real field by `dt`, or its inverse (each mode amplified by
/// exp(D |k|² dt), clipped).
pub struct ExactStep {
    fft: Fft2,
    /// The multiplier of each mode.
    gains: Vec<f32>,
}

impl ExactStep {
    /// Forward by `dt` with diffusivity `d`; with `inverse`, the backward step instead, each
    /// mode's gain clipped to `clip` (the inverse of diffusion is unbounded).
    pub fn new(
        nx: usize,
        ny: usize,
        lx: f64,
        ly: f64,
        d: f64,
        dt: f64,
        inverse: Option<f64>,
    ) -> Self {
        let gains = wavenumbers_squared(nx, ny, lx, ly)
            .into_iter()
            .map(|k2| match inverse {
                None => (-d * k2 * dt).exp() as f32,
                Some(clip) => (d * k2 * dt).exp().min(clip) as f32,
            })
            .collect();
        Self { fft: Fft2::new(nx, ny), gains }
    }

    pub fn apply(&self, u: &mut [f32]) {
        let mut spectrum: Vec<Complex32> = u.iter().map(|&v| Complex32::new(v, 0.0)).collect();
        self.fft.forward(&mut spectrum);
        for (c, g) in spectrum.iter_mut().zip(&self.gains) {
            *c *= *g;
        }
        self.fft.inverse(&mut spectrum);
        for (v, c) in u.iter_mut().zip(spectrum) {
            *v = c.re;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mode_decays_by_its_exact_factor_and_the_inverse_undoes_it() {
        let (n, l) = (32, std::f64::consts::TAU);
        // sin(3x) cos(2y): |k|² = 13.
        let u: Vec<f32> = (0..n * n)
            .map(|c| {
                let (x, y) = ((c % n) as f64 * l / n as f64, (c / n) as f64 * l / n as f64);
                ((3.0 * x).sin() * (2.0 * y).cos()) as f32
            })
            .collect();
        let mut stepped = u.clone();
        ExactStep::new(n, n, l, l, 1.0, 0.01, None).apply(&mut stepped);
        let factor = (-13.0f64 * 0.01).exp() as f32;
        assert!(u.iter().zip(&stepped).all(|(a, b)| (a * factor - b).abs() < 1e-5));
        ExactStep::new(n, n, l, l, 1.0, 0.01, Some(1e3)).apply(&mut stepped);
        assert!(u.iter().zip(&stepped).all(|(a, b)| (a - b).abs() < 1e-5));
    }
}
