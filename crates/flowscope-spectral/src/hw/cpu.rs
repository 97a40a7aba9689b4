//! The CPU reference of the Hasegawa–Wakatani solver: rows in parallel (flowscope-parallel),
//! the Poisson solve by rustfft.

use super::{HwConfig, HwStats};
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// RK4: the stage offsets (y0 + a·dt·k) and the weights of the four rates.
pub(crate) const STAGE: [f32; 3] = [0.5, 0.5, 1.0];
pub(crate) const WEIGHT: [f32; 4] = [1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0];

/// A Hasegawa–Wakatani simulation on the CPU.
pub struct CpuHw {
    config: HwConfig,
    /// `[n, Ω]` per cell.
    state: Vec<[f32; 2]>,
    phi: Vec<f32>,
    poisson: Poisson,
    stage: Vec<[f32; 2]>,
    stage_phi: Vec<f32>,
    next: Vec<[f32; 2]>,
    rate: Vec<[f32; 2]>,
    laplacians: [Vec<[f32; 2]>; 2],
}

impl CpuHw {
    /// A simulation from `state` (`[n, Ω]` per cell); φ is solved from Ω.
    pub fn new(config: HwConfig, state: Vec<[f32; 2]>) -> Self {
        let cells = config.n * config.n;
        assert_eq!(state.len(), cells, "the state has one [n, Ω] pair per cell");
        let zeros = vec![[0.0f32; 2]; cells];
        let mut hw = Self {
            config,
            state,
            phi: vec![0.0; cells],
            poisson: Poisson::new(&config),
            stage: zeros.clone(),
            stage_phi: vec![0.0; cells],
            next: zeros.clone(),
            rate: zeros.clone(),
            laplacians: [zeros.clone(), zeros],
        };
        hw.solve_phi(Target::Current);
        hw
    }

    pub fn config(&self) -> &HwConfig {
        &self.config
    }

    /// Live coefficients (c1, κ, ν, dt); the grid stays.
    pub fn reconfigure(&mut self, config: HwConfig) {
        assert_eq!(config.n, self.config.n, "the grid is fixed for a simulation");
        self.config = config;
    }

    /// `[n, Ω]` per cell.
    pub fn state(&self) -> &[[f32; 2]] {
        &self.state
    }

    pub fn phi(&self) -> &[f32] {
        &self.phi
    }

    pub fn stats(&self) -> HwStats {
        HwStats::of(&self.config, &self.state, &self.phi)
    }

    /// Replaces the state (a stir, an import); φ follows.
    pub fn set_state(&mut self, state: Vec<[f32; 2]>) {
        assert_eq!(state.len(), self.state.len(), "the state keeps its size");
        self.state = state;
        self.solve_phi(Target::Current);
    }

    /// Advances `steps` RK4 steps.
    pub fn step(&mut self, steps: u32) {
        for _ in 0..steps {
            self.rk4();
        }
    }

    fn rk4(&mut self) {
        let dt = self.config.dt as f32;
        self.next.copy_from_slice(&self.state);
        for s in 0..4 {
            let (state, phi) =
                if s == 0 { (&self.state, &self.phi) } else { (&self.stage, &self.stage_phi) };
            let [first, second] = &mut self.laplacians;
            laplacian(&self.config, state, first);
            laplacian(&self.config, first, second);
            rates(&self.config, state, phi, second, &mut self.rate);
            let n = self.config.n;
            let rate = &self.rate;
            let weight = dt * WEIGHT[s];
            flowscope_parallel::for_each_chunk_mut(&mut self.next, n, |j, row| {
                for (next, rate) in row.iter_mut().zip(&rate[j * n..(j + 1) * n]) {
                    next[0] += weight * rate[0];
                    next[1] += weight * rate[1];
                }
            });
            if s < 3 {
                let (offset, start) = (dt * STAGE[s], &self.state);
                flowscope_parallel::for_each_chunk_mut(&mut self.stage, n, |j, row| {
                    let cells = j * n..(j + 1) * n;
                    for ((stage, y), rate) in
                        row.iter_mut().zip(&start[cells.clone()]).zip(&rate[cells])
                    {
                        *stage = [y[0] + offset * rate[0], y[1] + offset * rate[1]];
                    }
                });
                self.solve_phi(Target::Stage);
            }
        }
        std::mem::swap(&mut self.state, &mut self.next);
        self.solve_phi(Target::Current);
    }

    /// φ with ∇²φ = Ω (spectral Laplacian, mean zero), of the state or of the RK stage.
    fn solve_phi(&mut self, target: Target) {
        match target {
            Target::Current => self.poisson.solve(&self.state, &mut self.phi),
            Target::Stage => self.poisson.solve(&self.stage, &mut self.stage_phi),
        }
    }
}

/// The Poisson solve by real-to-complex FFTs (realfft along rows, rustfft along the half
/// spectrum's columns): half the work of a complex transform of a real field, and the modes are
/// scaled while the columns are in cache.
struct Poisson {
    n: usize,
    rows: Arc<dyn RealToComplex<f32>>,
    rows_back: Arc<dyn ComplexToReal<f32>>,
    columns: [Arc<dyn Fft<f32>>; 2],
    /// The inverse Laplacian over n², per column line: `[kx][ky]`, kx ≤ n/2.
    factor: Vec<f32>,
    /// The half spectrum by rows (`[j][kx]`) and by columns (`[kx][j]`).
    by_rows: Vec<Complex32>,
    by_columns: Vec<Complex32>,
}

impl Poisson {
    fn new(config: &HwConfig) -> Self {
        let n = config.n;
        let half = n / 2 + 1;
        let full = config.inverse_laplacian();
        let scale = 1.0 / (n * n) as f32;
        let factor = (0..half * n).map(|k| full[(k % n) * n + k / n] * scale).collect();
        let mut real = RealFftPlanner::<f32>::new();
        let mut complex = FftPlanner::<f32>::new();
        Self {
            n,
            rows: real.plan_fft_forward(n),
            rows_back: real.plan_fft_inverse(n),
            columns: [complex.plan_fft_forward(n), complex.plan_fft_inverse(n)],
            factor,
            by_rows: vec![Complex32::default(); half * n],
            by_columns: vec![Complex32::default(); half * n],
        }
    }

    /// φ of the Ω in `state` (its second components).
    fn solve(&mut self, state: &[[f32; 2]], phi: &mut [f32]) {
        let n = self.n;
        let half = n / 2 + 1;
        let per_block = n.div_ceil(flowscope_parallel::threads()).max(1);
        let forward = &self.rows;
        flowscope_parallel::for_each_chunk_mut(&mut self.by_rows, per_block * half, |b, block| {
            let mut input = forward.make_input_vec();
            let mut scratch = forward.make_scratch_vec();
            for (r, out) in block.chunks_mut(half).enumerate() {
                let j = b * per_block + r;
                for (value, cell) in input.iter_mut().zip(&state[j * n..(j + 1) * n]) {
                    *value = cell[1];
                }
                forward
                    .process_with_scratch(&mut input, out, &mut scratch)
                    .expect("buffers sized by the plan");
            }
        });
        let by_rows = &self.by_rows;
        let (columns, factor) = (&self.columns, &self.factor);
        let per_line = half.div_ceil(flowscope_parallel::threads()).max(1);
        flowscope_parallel::for_each_chunk_mut(&mut self.by_columns, per_line * n, |b, block| {
            for (l, line) in block.chunks_mut(n).enumerate() {
                let kx = b * per_line + l;
                for (j, value) in line.iter_mut().enumerate() {
                    *value = by_rows[j * half + kx];
                }
                columns[0].process(line);
                for (value, g) in line.iter_mut().zip(&factor[kx * n..(kx + 1) * n]) {
                    *value *= *g;
                }
                columns[1].process(line);
            }
        });
        let by_columns = &self.by_columns;
        let back = &self.rows_back;
        flowscope_parallel::for_each_chunk_mut(phi, per_block * n, |b, block| {
            let mut spectrum = back.make_input_vec();
            let mut scratch = back.make_scratch_vec();
            for (r, out) in block.chunks_mut(n).enumerate() {
                let j = b * per_block + r;
                for (kx, value) in spectrum.iter_mut().enumerate() {
                    *value = by_columns[kx * n + j];
                }
                // φ is real: the rounding residue of the mean and the Nyquist mode goes.
                spectrum[0].im = 0.0;
                spectrum[half - 1].im = 0.0;
                back.process_with_scratch(&mut spectrum, out, &mut scratch)
                    .expect("buffers sized by the plan");
            }
        });
    }
}

#[derive(Clone, Copy)]
enum Target {
    Current,
    Stage,
}

/// The periodic 5-point Laplacian of both components, divided by dx².
pub(crate) fn laplacian(config: &HwConfig, src: &[[f32; 2]], dst: &mut [[f32; 2]]) {
    let n = config.n;
    let inv_dx2 = (1.0 / (config.dx() * config.dx())) as f32;
    flowscope_parallel::for_each_chunk_mut(dst, n, |j, row| {
        let (up, down) = ((j + 1) % n * n, (j + n - 1) % n * n);
        for (i, out) in row.iter_mut().enumerate() {
            let (east, west) = ((i + 1) % n, (i + n - 1) % n);
            let centre = src[j * n + i];
            *out = std::array::from_fn(|c| {
                (src[j * n + east][c] + src[j * n + west][c] + src[up + i][c] + src[down + i][c]
                    - 4.0 * centre[c])
                    * inv_dx2
            });
        }
    });
}

/// ∂t [n, Ω] of `state` with potential `phi`, given ∇⁴ of the state (`second`): the third
/// Laplacian of the hyperdiffusion is taken here.
pub(crate) fn rates(
    config: &HwConfig,
    state: &[[f32; 2]],
    phi: &[f32],
    second: &[[f32; 2]],
    out: &mut [[f32; 2]],
) {
    let n = config.n;
    let dx = config.dx();
    let inv_dx2 = (1.0 / (dx * dx)) as f32;
    let bracket_scale = (1.0 / (12.0 * dx * dx)) as f32;
    let inv_2dx = (1.0 / (2.0 * dx)) as f32;
    let (c1, kappa, nu) = (config.c1 as f32, config.kappa as f32, config.nu as f32);
    flowscope_parallel::for_each_chunk_mut(out, n, |j, row| {
        let (jn, js) = ((j + 1) % n * n, (j + n - 1) % n * n);
        let jc = j * n;
        for (i, out) in row.iter_mut().enumerate() {
            let (ie, iw) = ((i + 1) % n, (i + n - 1) % n);
            let p = |k: usize| phi[k];
            let (pe, pw, pn, ps) = (p(jc + ie), p(jc + iw), p(jn + i), p(js + i));
            let (pne, pnw, pse, psw) = (p(jn + ie), p(jn + iw), p(js + ie), p(js + iw));
            let diff = c1 * (p(jc + i) - state[jc + i][0]);
            *out = std::array::from_fn(|c| {
                let f = |k: usize| state[k][c];
                let (fe, fw, f_n, fs) = (f(jc + ie), f(jc + iw), f(jn + i), f(js + i));
                let (fne, fnw, fse, fsw) = (f(jn + ie), f(jn + iw), f(js + ie), f(js + iw));
                // Arakawa's energy- and enstrophy-conserving [φ, f], as hw2d writes it.
                let bracket = (pe * (f_n - fs + fne - fse)
                    - pw * (f_n - fs + fnw - fsw)
                    - pn * (fe - fw + fne - fnw)
                    + ps * (fe - fw + fse - fsw)
                    + pse * (fe - fs)
                    + pne * (f_n - fe)
                    - pnw * (f_n - fw)
                    - psw * (fw - fs))
                    * bracket_scale;
                let l = |k: usize| second[k][c];
                let third =
                    (l(jc + ie) + l(jc + iw) + l(jn + i) + l(js + i) - 4.0 * l(jc + i)) * inv_dx2;
                let drive = if c == 0 { -kappa * (pn - ps) * inv_2dx } else { 0.0 };
                diff - bracket + drive + nu * third
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::initial_state;
    use super::*;

    /// The discretisation is hw2d's: from the same order-one start at 32², 20 RK4 steps land
    /// where the reference code's (f64, tests/fixtures/hw2d/make_fixture.py) do, to f32 rounding.
    #[test]
    fn twenty_steps_match_the_reference_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/hw2d/hw2d_32.json");
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let field = |v: &serde_json::Value| -> Vec<f32> {
            v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
        };
        let (density, omega) = (field(&fixture["density"]), field(&fixture["omega"]));
        let state = density.iter().zip(&omega).map(|(&n, &o)| [n, o]).collect();
        let mut hw = CpuHw::new(HwConfig::reference(32), state);
        hw.step(fixture["steps"].as_u64().unwrap() as u32);
        let after = &fixture["after"];
        let ours = [
            hw.state().iter().map(|c| c[0]).collect::<Vec<f32>>(),
            hw.state().iter().map(|c| c[1]).collect(),
            hw.phi().to_vec(),
        ];
        for (name, ours) in ["density", "omega", "phi"].iter().zip(ours) {
            let theirs = field(&after[*name]);
            let scale = theirs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let start = field(&fixture[if *name == "phi" { "omega" } else { name }]);
            let moved = start.iter().zip(&theirs).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            let error = ours.iter().zip(&theirs).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(error < 1e-5 * scale.max(1.0), "{name}: off by {error} (scale {scale})");
            if *name != "phi" {
                assert!(moved > 0.05 * scale, "{name} changed by {moved}: a test that could fail");
            }
        }
    }

    /// A smooth periodic test field on the box: sin(k0 x) cos(2 k0 y) and friends.
    fn smooth(config: &HwConfig, a: f64, b: f64) -> Vec<f32> {
        let (n, dx, k0) = (config.n, config.dx(), config.k0);
        (0..n * n)
            .map(|k| {
                let (x, y) = ((k % n) as f64 * dx, (k / n) as f64 * dx);
                ((a * k0 * x).sin() * (b * k0 * y).cos() + 0.3 * (k0 * (x + y)).cos()) as f32
            })
            .collect()
    }

    /// The Poisson solve inverts the Laplacian of a smooth field to the order of the grid.
    #[test]
    fn phi_solves_the_poisson_equation() {
        let config = HwConfig::reference(64);
        let phi = smooth(&config, 1.0, 2.0);
        let mut lap = vec![[0.0f32; 2]; 64 * 64];
        let pairs: Vec<[f32; 2]> = phi.iter().map(|&p| [p, p]).collect();
        laplacian(&config, &pairs, &mut lap);
        let state: Vec<[f32; 2]> = lap.iter().map(|l| [0.0, l[0]]).collect();
        let hw = CpuHw::new(config, state);
        let error = hw.phi().iter().zip(&phi).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        // The 5-point Laplacian against the spectral one: relative error ~ (k dx)² / 12.
        assert!(error < 5e-3, "φ off by {error}");
    }

    /// Arakawa's bracket conserves ∑ f [φ, f] = 0 and ∑ φ [φ, f] = 0 to rounding, and [φ, φ] = 0.
    #[test]
    fn the_bracket_conserves_energy_and_enstrophy() {
        let config = HwConfig { c1: 0.0, kappa: 0.0, nu: 0.0, ..HwConfig::reference(32) };
        let state = initial_state(32, 3);
        let phi: Vec<f32> = state.iter().map(|s| s[1] * 7.0 + s[0]).collect();
        let zeros = vec![[0.0f32; 2]; 32 * 32];
        let mut out = zeros.clone();
        rates(&config, &state, &phi, &zeros, &mut out);
        let scale: f64 = out.iter().map(|r| (r[0] as f64).abs()).sum();
        let f_dot: f64 = out.iter().zip(&state).map(|(r, s)| (r[0] * s[0]) as f64).sum();
        let phi_dot: f64 = out.iter().zip(&phi).map(|(r, p)| (r[0] * p) as f64).sum();
        assert!(scale > 0.0);
        assert!(f_dot.abs() < 1e-5 * scale * 0.01, "∑ n [φ, n] = {f_dot}");
        assert!(phi_dot.abs() < 1e-5 * scale * 0.1, "∑ φ [φ, n] = {phi_dot}");
        let same: Vec<[f32; 2]> = phi.iter().map(|&p| [p, p]).collect();
        rates(&config, &same, &phi, &zeros, &mut out);
        assert!(out.iter().all(|r| r[0].abs() < 1e-3), "[φ, φ] = 0");
    }

    /// Hyperdiffusion alone damps a Fourier mode as exp(−ν λ³ t), λ the 5-point Laplacian's
    /// eigenvalue (RK4 error aside).
    #[test]
    fn hyperdiffusion_damps_a_mode_at_its_rate() {
        let config =
            HwConfig { c1: 0.0, kappa: 0.0, nu: 1e-3, dt: 0.05, ..HwConfig::reference(32) };
        let (n, dx) = (config.n, config.dx());
        let m = 4.0;
        let mode: Vec<[f32; 2]> = (0..n * n)
            .map(|k| {
                let v = (std::f64::consts::TAU * m * (k % n) as f64 / n as f64).cos() as f32;
                [v, 0.0]
            })
            .collect();
        let mut hw = CpuHw::new(config, mode);
        hw.step(40);
        let lambda = -(4.0 / (dx * dx)) * (std::f64::consts::PI * m / n as f64).sin().powi(2);
        let expected = (config.nu * lambda.powi(3) * 40.0 * config.dt).exp();
        let got = hw.state()[0][0] as f64;
        assert!((got - expected).abs() < 1e-4, "amplitude {got}, expected {expected}");
    }

    /// From hw2d's start at 32², once the grid-scale noise has decayed (t = 10) the model is
    /// linearly unstable: the drift waves grow, their flux runs down the gradient; the state
    /// stays finite, and a seed reproduces it exactly.
    #[test]
    fn drift_waves_grow_and_runs_repeat() {
        let config = HwConfig::reference(32);
        let run = || {
            let mut hw = CpuHw::new(config, initial_state(32, 5));
            hw.step(400);
            let before = hw.stats();
            hw.step(800);
            (before, hw.stats(), hw.state().to_vec())
        };
        let (before, after, state) = run();
        assert!(after.is_finite());
        assert!(after.energy > 3.0 * before.energy, "{before:?} → {after:?}");
        assert!(after.gamma_n > 0.0, "the flux runs down the gradient: {after:?}");
        assert_eq!(state, run().2, "same seed, same state");
    }
}
