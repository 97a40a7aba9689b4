//! Compressible SPH in one dimension (Monaghan 1992; Price 2012): summation density,
//! pressure forces symmetrised so that momentum is conserved pair by pair, the matching
//! thermal-energy equation, Monaghan's artificial viscosity, and RK4 in time.
//!
//! Equations of state: an ideal gas p = (γ − 1) ρ e, or the barotropic p = κ (ρ − ρ0) of the
//! learned 1D solvers (no energy equation). Ends: periodic, or reflective (mirror particles
//! beyond each end, with opposite velocity).

use crate::kernel::Kernel;
use crate::neighbours::CellList;
use crate::riemann::State;
use rand::{Rng, SeedableRng};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Eos {
    IdealGas {
        gamma: f64,
    },
    /// p = κ (ρ − ρ0); `c0` is the sound speed the artificial viscosity uses.
    Barotropic {
        kappa: f64,
        rho0: f64,
        c0: f64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ends {
    Periodic,
    Reflective,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GasError {
    #[error("a particle's {0} became {1} at t = {2:.4}; reset with a smaller time step")]
    Diverged(&'static str, f64, f64),
    #[error("a particle left the domain at t = {0:.4}")]
    Escaped(f64),
    #[error("{0}")]
    Setup(String),
}

/// The evolving state of a 1D particle gas.
#[derive(Clone, Debug)]
pub struct Gas1d {
    pub x: Vec<f64>,
    pub v: Vec<f64>,
    /// Specific internal energy (ideal gas only).
    pub e: Vec<f64>,
    pub m: Vec<f64>,
    /// Smoothing length, density and pressure from the last evaluation.
    pub h: Vec<f64>,
    pub rho: Vec<f64>,
    pub p: Vec<f64>,
    pub domain: (f64, f64),
    pub ends: Ends,
    pub eos: Eos,
    pub kernel: Kernel,
    /// Artificial viscosity α (linear) and β (quadratic).
    pub alpha: f64,
    pub beta: f64,
    /// Variable smoothing length h = η m / ρ when set; fixed h otherwise.
    pub eta: Option<f64>,
    pub time: f64,
}

/// Time derivatives of (x, v, e).
struct Rates {
    dx: Vec<f64>,
    dv: Vec<f64>,
    de: Vec<f64>,
}

/// Real particles and their mirror images.
struct Extended {
    x: Vec<[f64; 2]>,
    v: Vec<f64>,
    /// The real particle each entry is (or mirrors).
    origin: Vec<usize>,
}

impl Gas1d {
    fn length(&self) -> f64 {
        self.domain.1 - self.domain.0
    }

    pub(crate) fn sound_speed(&self, rho: f64, p: f64) -> f64 {
        match self.eos {
            Eos::IdealGas { gamma } => (gamma * p.max(0.0) / rho).sqrt(),
            Eos::Barotropic { c0, .. } => c0,
        }
    }

    fn pressure(&self, rho: f64, e: f64) -> f64 {
        match self.eos {
            Eos::IdealGas { gamma } => (gamma - 1.0) * rho * e,
            Eos::Barotropic { kappa, rho0, .. } => kappa * (rho - rho0),
        }
    }

    /// Real particles plus, at reflective ends, mirror particles within `reach` of an end.
    fn extend(&self, x: &[f64], v: &[f64], reach: f64) -> Extended {
        let mut out = Extended {
            x: x.iter().map(|&x| [x, 0.0]).collect(),
            v: v.to_vec(),
            origin: (0..x.len()).collect(),
        };
        if self.ends == Ends::Reflective {
            let (a, b) = self.domain;
            for (i, &xi) in x.iter().enumerate() {
                if xi - a < reach {
                    out.x.push([2.0 * a - xi, 0.0]);
                    out.v.push(-v[i]);
                    out.origin.push(i);
                }
                if b - xi < reach {
                    out.x.push([2.0 * b - xi, 0.0]);
                    out.v.push(-v[i]);
                    out.origin.push(i);
                }
            }
        }
        out
    }

    fn cell_list(&self, all: &Extended, radius: f64) -> CellList {
        let (a, b) = self.domain;
        let periodic = self.ends == Ends::Periodic;
        let (lo, hi) = if periodic { (a, b) } else { (a - radius, b + radius) };
        let mut list = CellList::new([lo, 0.0], [hi, 0.0], radius, [periodic, false]);
        list.build(&all.x);
        list
    }

    /// Summation density (and, with variable h, the smoothing length), then pressure.
    fn densities(&mut self, x: &[f64], e: &[f64]) {
        let n = x.len();
        let iterations = if self.eta.is_some() { 3 } else { 1 };
        for _ in 0..iterations {
            let h_max = self.h.iter().cloned().fold(0.0, f64::max);
            let radius = self.kernel.support(h_max);
            let all = self.extend(x, &vec![0.0; n], radius);
            let list = self.cell_list(&all, radius);
            let rho: Vec<f64> = (0..n)
                .map(|i| {
                    let hi = self.h[i];
                    let mut rho = self.m[i] * self.kernel.w(0.0, hi);
                    list.for_each_neighbour(&all.x, i, self.kernel.support(hi), |j, _, r| {
                        rho += self.m[all.origin[j]] * self.kernel.w(r, hi);
                    });
                    rho
                })
                .collect();
            if let Some(eta) = self.eta {
                self.h = (0..n).map(|i| eta * self.m[i] / rho[i]).collect();
            }
            self.rho = rho;
        }
        self.p = (0..n).map(|i| self.pressure(self.rho[i], e[i])).collect();
    }

    fn rates(&mut self, x: &[f64], v: &[f64], e: &[f64]) -> Rates {
        self.densities(x, e);
        let n = x.len();
        let h_max = self.h.iter().cloned().fold(0.0, f64::max);
        let radius = self.kernel.support(h_max);
        let all = self.extend(x, v, radius);
        let list = self.cell_list(&all, radius);
        let mut dv = vec![0.0; n];
        let mut de = vec![0.0; n];
        for i in 0..n {
            let (rho_i, p_i, h_i) = (self.rho[i], self.p[i], self.h[i]);
            let c_i = self.sound_speed(rho_i, p_i);
            let term_i = p_i / (rho_i * rho_i);
            list.for_each_neighbour(&all.x, i, radius, |j, d, r| {
                let o = all.origin[j];
                let h = 0.5 * (h_i + self.h[o]);
                if r >= self.kernel.support(h) {
                    return;
                }
                let (rho_j, p_j) = (self.rho[o], self.p[o]);
                let grad = self.kernel.dw_dr(r, h) * d[0] / r;
                let v_ij = v[i] - all.v[j];
                let approach = v_ij * d[0];
                let viscous = if approach < 0.0 {
                    let mu = h * approach / (r * r + 0.01 * h * h);
                    let c = 0.5 * (c_i + self.sound_speed(rho_j, p_j));
                    (-self.alpha * c * mu + self.beta * mu * mu) / (0.5 * (rho_i + rho_j))
                } else {
                    0.0
                };
                let pair = term_i + p_j / (rho_j * rho_j) + viscous;
                dv[i] -= self.m[o] * pair * grad;
                de[i] += 0.5 * self.m[o] * pair * v_ij * grad;
            });
        }
        if !matches!(self.eos, Eos::IdealGas { .. }) {
            de.iter_mut().for_each(|d| *d = 0.0);
        }
        Rates { dx: v.to_vec(), dv, de }
    }

    /// Moves the particles to `x` with velocities `v` (a state from elsewhere: a learned
    /// solver's) and re-evaluates density and pressure there; periodic positions are wrapped.
    pub fn set_state(&mut self, x: Vec<f64>, v: Vec<f64>) -> Result<(), GasError> {
        if x.len() != self.x.len() || v.len() != self.x.len() {
            return Err(GasError::Setup(format!(
                "a state of {} positions and {} velocities for {} particles",
                x.len(),
                v.len(),
                self.x.len()
            )));
        }
        for (name, values) in [("position", &x), ("velocity", &v)] {
            if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
                return Err(GasError::Diverged(name, *bad, self.time));
            }
        }
        let (a, l) = (self.domain.0, self.length());
        self.x = match self.ends {
            Ends::Periodic => x.into_iter().map(|x| a + (x - a).rem_euclid(l)).collect(),
            Ends::Reflective => x,
        };
        self.v = v;
        let (x, e) = (self.x.clone(), self.e.clone());
        self.densities(&x, &e);
        Ok(())
    }

    /// A stable step: a fraction `cfl` of the time a signal needs to cross a smoothing length.
    pub fn stable_dt(&mut self, cfl: f64) -> f64 {
        let (x, e) = (self.x.clone(), self.e.clone());
        self.densities(&x, &e);
        (0..self.x.len())
            .map(|i| {
                let c = self.sound_speed(self.rho[i], self.p[i]);
                self.h[i] / (c * (1.0 + 1.2 * self.alpha) + self.v[i].abs())
            })
            .fold(f64::INFINITY, f64::min)
            * cfl
    }

    /// One classical Runge–Kutta step of `dt`.
    pub fn step(&mut self, dt: f64) -> Result<(), GasError> {
        let (x0, v0, e0) = (self.x.clone(), self.v.clone(), self.e.clone());
        let along = |base: &[f64], rate: &[f64], f: f64| -> Vec<f64> {
            base.iter().zip(rate).map(|(b, r)| b + f * dt * r).collect()
        };
        let k1 = self.rates(&x0, &v0, &e0);
        let k2 = self.rates(
            &along(&x0, &k1.dx, 0.5),
            &along(&v0, &k1.dv, 0.5),
            &along(&e0, &k1.de, 0.5),
        );
        let k3 = self.rates(
            &along(&x0, &k2.dx, 0.5),
            &along(&v0, &k2.dv, 0.5),
            &along(&e0, &k2.de, 0.5),
        );
        let k4 = self.rates(
            &along(&x0, &k3.dx, 1.0),
            &along(&v0, &k3.dv, 1.0),
            &along(&e0, &k3.de, 1.0),
        );
        let combine = |base: &[f64], a: &[f64], b: &[f64], c: &[f64], d: &[f64]| -> Vec<f64> {
            (0..base.len())
                .map(|i| base[i] + dt / 6.0 * (a[i] + 2.0 * b[i] + 2.0 * c[i] + d[i]))
                .collect()
        };
        self.x = combine(&x0, &k1.dx, &k2.dx, &k3.dx, &k4.dx);
        self.v = combine(&v0, &k1.dv, &k2.dv, &k3.dv, &k4.dv);
        self.e = combine(&e0, &k1.de, &k2.de, &k3.de, &k4.de);
        self.time += dt;
        for (name, values) in [("velocity", &self.v), ("energy", &self.e), ("position", &self.x)] {
            if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
                return Err(GasError::Diverged(name, *bad, self.time));
            }
        }
        let (a, b) = self.domain;
        match self.ends {
            Ends::Periodic => {
                let l = self.length();
                self.x.iter_mut().for_each(|x| *x = a + (*x - a).rem_euclid(l));
            }
            Ends::Reflective => {
                if self.x.iter().any(|x| *x < a || *x > b) {
                    return Err(GasError::Escaped(self.time));
                }
            }
        }
        let (x, e) = (self.x.clone(), self.e.clone());
        self.densities(&x, &e);
        Ok(())
    }

    pub fn total_mass(&self) -> f64 {
        self.m.iter().sum()
    }

    pub fn momentum(&self) -> f64 {
        self.m.iter().zip(&self.v).map(|(m, v)| m * v).sum()
    }

    pub fn kinetic_energy(&self) -> f64 {
        self.m.iter().zip(&self.v).map(|(m, v)| 0.5 * m * v * v).sum()
    }

    /// Kinetic plus internal energy (ideal gas).
    pub fn total_energy(&self) -> f64 {
        self.kinetic_energy() + self.m.iter().zip(&self.e).map(|(m, e)| m * e).sum::<f64>()
    }

    /// The Sod shock tube on [0, 1]: (ρ, u, p) = (1, 0, 1) left of 0.5 and (0.125, 0, 0.1)
    /// right, γ = 1.4 ([`Gas1d::shock_tube`] with `left` particles on the left).
    pub fn sod(left: usize, kernel: Kernel) -> Result<Self, GasError> {
        let (dense, thin) =
            (State { rho: 1.0, u: 0.0, p: 1.0 }, State { rho: 0.125, u: 0.0, p: 0.1 });
        Self::shock_tube(left, kernel, dense, thin, 1.4)
    }

    /// A shock tube on [0, 1], diaphragm at 0.5, ideal gas of `gamma`: `left` particles of
    /// equal spacing on the left, as many on the right as give (nearly) the same particle mass
    /// (for Sod's 8:1 densities, an eighth as many), reflective ends, variable smoothing length
    /// h = 1.3 m/ρ, Monaghan's viscosity α = 1, β = 2.
    pub fn shock_tube(
        left: usize,
        kernel: Kernel,
        left_state: State,
        right_state: State,
        gamma: f64,
    ) -> Result<Self, GasError> {
        if left < 16 {
            return Err(GasError::Setup(format!(
                "the shock tube needs at least 16 particles on the left; got {left}"
            )));
        }
        let states = [left_state, right_state];
        if !states.iter().all(|s| s.rho > 0.0 && s.p > 0.0 && s.u.is_finite()) || gamma <= 1.0 {
            return Err(GasError::Setup(
                "shock-tube densities and pressures must be positive and γ > 1".into(),
            ));
        }
        let right =
            ((left as f64 * right_state.rho / left_state.rho).round() as usize).clamp(4, 100_000);
        let (dx_left, dx_right) = (0.5 / left as f64, 0.5 / right as f64);
        let mut x: Vec<f64> = (0..left).map(|k| (k as f64 + 0.5) * dx_left).collect();
        x.extend((0..right).map(|k| 0.5 + (k as f64 + 0.5) * dx_right));
        let side = |x: f64| if x < 0.5 { (left_state, dx_left) } else { (right_state, dx_right) };
        let eta = 1.3;
        let n = x.len();
        let mut gas = Self {
            v: x.iter().map(|&x| side(x).0.u).collect(),
            e: x.iter().map(|&x| side(x).0.p / ((gamma - 1.0) * side(x).0.rho)).collect(),
            m: x.iter().map(|&x| side(x).0.rho * side(x).1).collect(),
            h: x.iter().map(|&x| eta * side(x).1).collect(),
            rho: vec![0.0; n],
            p: vec![0.0; n],
            x,
            domain: (0.0, 1.0),
            ends: Ends::Reflective,
            eos: Eos::IdealGas { gamma },
            kernel,
            alpha: 1.0,
            beta: 2.0,
            eta: Some(eta),
            time: 0.0,
        };
        let (x, e) = (gas.x.clone(), gas.e.clone());
        gas.densities(&x, &e);
        Ok(gas)
    }

    /// The barotropic gas of the learned 1D solvers: `n` equal-mass particles on the periodic
    /// [−1, 1], placed so that the density is ρ0 (1 + `amplitude` · noise), the noise a smooth
    /// random periodic function with values in [−1, 1] drawn from `seed`; at rest plus an
    /// optional smooth random velocity of peak `speed`.
    pub fn barotropic_periodic(
        n: usize,
        amplitude: f64,
        speed: f64,
        seed: u64,
        kernel: Kernel,
    ) -> Result<Self, GasError> {
        if n < 16 {
            return Err(GasError::Setup(format!("need at least 16 particles, got {n}")));
        }
        if !(0.0..1.0).contains(&amplitude) {
            return Err(GasError::Setup(format!(
                "the density amplitude must lie in [0, 1), got {amplitude}"
            )));
        }
        let (rho0, length) = (1000.0, 2.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let density_noise = smooth_noise(&mut rng);
        let velocity_noise = smooth_noise(&mut rng);
        // Invert the cumulative mass on a fine table: particle k sits where (k + ½)/n of the mass lies.
        let table = 64 * n;
        let dx = length / table as f64;
        let mut cumulative = vec![0.0; table + 1];
        for t in 0..table {
            let x = -1.0 + (t as f64 + 0.5) * dx;
            cumulative[t + 1] = cumulative[t] + rho0 * (1.0 + amplitude * density_noise(x)) * dx;
        }
        let total = cumulative[table];
        let x: Vec<f64> = (0..n)
            .map(|k| {
                let target = (k as f64 + 0.5) / n as f64 * total;
                let t = cumulative.partition_point(|&c| c < target).clamp(1, table);
                let f = (target - cumulative[t - 1]) / (cumulative[t] - cumulative[t - 1]);
                -1.0 + (t as f64 - 1.0 + f) * dx
            })
            .collect();
        let m = total / n as f64;
        let h0 = 1.3 * length / n as f64;
        let mut gas = Self {
            v: x.iter().map(|&x| speed * velocity_noise(x)).collect(),
            e: vec![0.0; n],
            m: vec![m; n],
            h: vec![h0; n],
            rho: vec![0.0; n],
            p: vec![0.0; n],
            x,
            domain: (-1.0, 1.0),
            ends: Ends::Periodic,
            eos: Eos::Barotropic { kappa: 10.0, rho0, c0: 10.0 },
            kernel,
            alpha: 1.0,
            beta: 2.0,
            eta: None,
            time: 0.0,
        };
        let (x, e) = (gas.x.clone(), gas.e.clone());
        gas.densities(&x, &e);
        Ok(gas)
    }
}

/// A smooth random periodic function on [−1, 1] with values in [−1, 1]: two octaves of
/// Fourier modes (wavenumbers 1–2 and 3–4) with random phases, the second at half amplitude.
fn smooth_noise(rng: &mut impl Rng) -> impl Fn(f64) -> f64 {
    let modes: Vec<(f64, f64, f64)> = [(1.0, 1.0), (2.0, 1.0), (3.0, 0.5), (4.0, 0.5)]
        .iter()
        .map(|&(k, a)| {
            (k, a * rng.random_range(0.5..1.0), rng.random_range(0.0..std::f64::consts::TAU))
        })
        .collect();
    let peak: f64 = modes.iter().map(|m| m.1).sum();
    move |x| {
        modes
            .iter()
            .map(|(k, a, phase)| a * (std::f64::consts::PI * k * x + phase).sin())
            .sum::<f64>()
            / peak
    }
}
