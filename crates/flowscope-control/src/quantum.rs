//! 1D quantum control (the stabilized-BPTT paper's third problem): a particle in a box,
//! `i ∂ψ/∂t = (−∂²/∂x² + u x) ψ` on x ∈ (0, 2) with ψ = 0 at the walls, driven by a dipole
//! field u(t) from a start in a mix of the two lowest eigenstates towards eigenstate `target`.
//!
//! As the reference (StableBPTT's `QuantumControl`): 32 interior points, Crank–Nicolson with
//! dt 0.0625, 128 steps, starts ψ₀ ∝ c₁e^{iφ₁}φ₁ + c₂e^{iφ₂}φ₂ with c ~ N(0, 1) and φ ~ U(0, 2π),
//! and a loss on every state, Σ_n 1 − |⟨φ_target|ψ_n⟩|².
//!
//! The state is `[Re ψ₁, Im ψ₁, Re ψ₂, …]` (the reference's `to_real` layout). A step solves
//! `U₁ ψ' = U₂ ψ` with U₁ = 1 + i dt/2 H, U₂ = 1 − i dt/2 H, both tridiagonal (Thomas' algorithm);
//! its adjoint solves with U₁ᴴ and applies U₂ᴴ.

use crate::System;
use rand::Rng;
use std::f64::consts::{PI, TAU};

/// A complex number, just what the tridiagonal solves need.
#[derive(Clone, Copy, Debug, PartialEq)]
struct C(f64, f64);

impl C {
    fn conj(self) -> C {
        C(self.0, -self.1)
    }
}

impl std::ops::Add for C {
    type Output = C;
    fn add(self, o: C) -> C {
        C(self.0 + o.0, self.1 + o.1)
    }
}

impl std::ops::Sub for C {
    type Output = C;
    fn sub(self, o: C) -> C {
        C(self.0 - o.0, self.1 - o.1)
    }
}

impl std::ops::Mul for C {
    type Output = C;
    fn mul(self, o: C) -> C {
        C(self.0 * o.0 - self.1 * o.1, self.0 * o.1 + self.1 * o.0)
    }
}

impl std::ops::Div for C {
    type Output = C;
    fn div(self, o: C) -> C {
        let d = o.0 * o.0 + o.1 * o.1;
        C((self.0 * o.0 + self.1 * o.1) / d, (self.1 * o.0 - self.0 * o.1) / d)
    }
}

/// The quantum-control problem.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantum {
    /// Interior grid points.
    pub points: usize,
    pub dt: f64,
    pub steps: usize,
    /// The eigenstate to reach (1 is the ground state).
    pub target: usize,
    /// φ_target on the grid (real).
    target_wave: Vec<f64>,
}

/// The box's length (x from 0 to 2).
pub const LENGTH: f64 = 2.0;
/// The published grid, time step and horizon.
pub const POINTS: usize = 32;
pub const DT: f64 = 0.0625;
pub const STEPS: usize = 128;
/// Target eigenstates offered (the paper runs 3, 4 and 5).
pub const TARGETS: std::ops::RangeInclusive<usize> = 2..=6;

/// Eigenstate `n` of the discrete box on `points` interior points, normalised.
pub fn eigenstate(n: usize, points: usize) -> Vec<f64> {
    let k = PI * n as f64 / (points + 1) as f64;
    let wave: Vec<f64> = (1..=points).map(|j| (k * j as f64).sin()).collect();
    let norm = wave.iter().map(|w| w * w).sum::<f64>().sqrt();
    wave.iter().map(|w| w / norm).collect()
}

impl Quantum {
    /// The published set-up with eigenstate `target` as the goal.
    pub fn new(target: usize) -> Result<Self, String> {
        if !TARGETS.contains(&target) {
            return Err(format!(
                "target state {target} is not one of {}–{}",
                TARGETS.start(),
                TARGETS.end()
            ));
        }
        Ok(Self {
            points: POINTS,
            dt: DT,
            steps: STEPS,
            target,
            target_wave: eigenstate(target, POINTS),
        })
    }

    pub fn dx(&self) -> f64 {
        LENGTH / (self.points + 1) as f64
    }

    /// Grid point j's position (j from 0: x = (j + 1) dx).
    pub fn x(&self, j: usize) -> f64 {
        (j + 1) as f64 * self.dx()
    }

    /// |⟨φ_target|ψ⟩|², the target state's occupation.
    pub fn fidelity(&self, state: &[f64]) -> f64 {
        let (re, im) = self.overlap(state);
        re * re + im * im
    }

    /// ⟨φ_target|ψ⟩ (φ_target is real).
    fn overlap(&self, state: &[f64]) -> (f64, f64) {
        let mut sum = (0.0, 0.0);
        for (t, z) in self.target_wave.iter().zip(state.chunks_exact(2)) {
            sum.0 += t * z[0];
            sum.1 += t * z[1];
        }
        sum
    }

    /// U₁'s off-diagonal (−α) and diagonal (η + p_j) for control `u`; U₂'s are their
    /// conjugates' mirror: α and γ − p_j = conj(η + p_j) with p_j = i dt/2 u x_j.
    fn u1(&self, u: f64) -> (C, Vec<C>) {
        let r = self.dt / (self.dx() * self.dx());
        let off = C(0.0, -0.5 * r);
        let diag = (0..self.points).map(|j| C(1.0, r + 0.5 * self.dt * u * self.x(j))).collect();
        (off, diag)
    }

    /// Solves the symmetric tridiagonal system (`off` beside `diag`) for `rhs`, in place.
    fn solve(off: C, diag: &[C], rhs: &mut [C]) {
        let n = diag.len();
        let mut upper = vec![C(0.0, 0.0); n];
        let mut pivot = diag[0];
        upper[0] = off / pivot;
        rhs[0] = rhs[0] / pivot;
        for j in 1..n {
            pivot = diag[j] - off * upper[j - 1];
            upper[j] = off / pivot;
            rhs[j] = (rhs[j] - off * rhs[j - 1]) / pivot;
        }
        for j in (0..n - 1).rev() {
            rhs[j] = rhs[j] - upper[j] * rhs[j + 1];
        }
    }

    /// `M ψ` for the symmetric tridiagonal M (`off` beside `diag`).
    fn apply(off: C, diag: &[C], psi: &[C]) -> Vec<C> {
        let n = psi.len();
        (0..n)
            .map(|j| {
                let mut v = diag[j] * psi[j];
                if j > 0 {
                    v = v + off * psi[j - 1];
                }
                if j + 1 < n {
                    v = v + off * psi[j + 1];
                }
                v
            })
            .collect()
    }
}

fn complex(state: &[f64]) -> Vec<C> {
    state.chunks_exact(2).map(|z| C(z[0], z[1])).collect()
}

fn write(values: &[C], out: &mut [f64]) {
    for (z, o) in values.iter().zip(out.chunks_exact_mut(2)) {
        o[0] = z.0;
        o[1] = z.1;
    }
}

/// One standard normal number (Box–Muller; `rand` alone has no normal distribution).
fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
}

impl System for Quantum {
    fn state_len(&self) -> usize {
        2 * self.points
    }

    fn control_len(&self) -> usize {
        1
    }

    fn steps(&self) -> usize {
        self.steps
    }

    fn step(&self, state: &[f64], control: &[f64], next: &mut [f64]) {
        let (off, diag) = self.u1(control[0]);
        let u2: Vec<C> = diag.iter().map(|d| d.conj()).collect();
        let mut psi = Self::apply(off.conj(), &u2, &complex(state));
        Self::solve(off, &diag, &mut psi);
        write(&psi, next);
    }

    fn step_adjoint(
        &self,
        state: &[f64],
        control: &[f64],
        next_adjoint: &[f64],
        state_adjoint: &mut [f64],
        control_adjoint: &mut [f64],
    ) {
        // With g = ∂L/∂Re + i ∂L/∂Im, a linear step ψ' = M ψ has g_ψ = Mᴴ g_ψ'. Here M = U₁⁻¹U₂:
        // g_b = U₁⁻ᴴ g_ψ' (U₁ is symmetric, so U₁ᴴ = conj U₁), g_ψ = U₂ᴴ g_b = conj(U₂) g_b.
        let (off, diag) = self.u1(control[0]);
        let conj_u1: Vec<C> = diag.iter().map(|d| d.conj()).collect();
        let mut g = complex(next_adjoint);
        Self::solve(off.conj(), &conj_u1, &mut g);
        // conj(U₂) = U₁ entry by entry (U₂'s diagonal is conj(U₁'s), its off-diagonal −conj).
        let back = Self::apply(off, &diag, &g);
        write(&back, state_adjoint);
        // ∂ψ'/∂u = −U₁⁻¹ D (ψ' + ψ), D = diag(i dt/2 x_j): ∂L/∂u = −Re Σ conj(g_b) D (ψ' + ψ).
        let mut next = vec![0.0; state.len()];
        self.step(state, control, &mut next);
        let (psi, after) = (complex(state), complex(&next));
        let mut du = 0.0;
        for j in 0..self.points {
            let d = C(0.0, 0.5 * self.dt * self.x(j));
            du -= (g[j].conj() * d * (after[j] + psi[j])).0;
        }
        control_adjoint[0] = du;
    }

    fn starts(&self, n: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<f64> {
        let (e1, e2) = (eigenstate(1, self.points), eigenstate(2, self.points));
        let mut states = Vec::with_capacity(n * self.state_len());
        for _ in 0..n {
            let (c1, c2) = (normal(rng), normal(rng));
            let (p1, p2) = (TAU * rng.random::<f64>(), TAU * rng.random::<f64>());
            let norm = (c1 * c1 + c2 * c2).sqrt();
            let (f1, f2) = (C(p1.cos(), p1.sin()), C(p2.cos(), p2.sin()));
            for j in 0..self.points {
                let z = C(c1 / norm * e1[j], 0.0) * f1 + C(c2 / norm * e2[j], 0.0) * f2;
                states.extend_from_slice(&[z.0, z.1]);
            }
        }
        states
    }

    fn loss(&self, _state: &[f64]) -> f64 {
        0.0
    }

    fn loss_adjoint(&self, _state: &[f64], adjoint: &mut [f64]) {
        adjoint.fill(0.0);
    }

    /// 1 − |⟨φ_target|ψ_n⟩|² on every state (the reference's "CONTINUOUS" loss).
    fn step_loss(&self, state: &[f64]) -> f64 {
        1.0 - self.fidelity(state)
    }

    fn step_loss_adjoint(&self, state: &[f64], adjoint: &mut [f64]) {
        let (re, im) = self.overlap(state);
        for (t, a) in self.target_wave.iter().zip(adjoint.chunks_exact_mut(2)) {
            a[0] -= 2.0 * re * t;
            a[1] -= 2.0 * im * t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_keeps_the_norm_and_an_eigenstate_without_control_only_turns_its_phase() {
        let q = Quantum::new(3).unwrap();
        let e = eigenstate(3, POINTS);
        let state: Vec<f64> = e.iter().flat_map(|&v| [v, 0.0]).collect();
        let mut next = vec![0.0; state.len()];
        q.step(&state, &[0.0], &mut next);
        let norm: f64 = next.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-12, "Crank–Nicolson is unitary: {norm}");
        assert!((q.fidelity(&next) - 1.0).abs() < 1e-12, "still eigenstate 3");
        assert!((next[2 * 5] - state[2 * 5]).abs() > 1e-3, "but its phase turned");
        q.step(&next.clone(), &[3.0], &mut next);
        assert!(q.fidelity(&next) < 1.0 - 1e-6, "a field mixes in other states");
    }

    #[test]
    fn starts_are_normalised_mixes_of_the_two_lowest_states() {
        use rand::SeedableRng;
        let q = Quantum::new(4).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let starts = q.starts(5, &mut rng);
        let (e1, e2) = (eigenstate(1, POINTS), eigenstate(2, POINTS));
        for s in starts.chunks_exact(q.state_len()) {
            let norm: f64 = s.iter().map(|v| v * v).sum();
            assert!((norm - 1.0).abs() < 1e-12);
            let occupation = |e: &[f64]| {
                let (re, im) = e
                    .iter()
                    .zip(s.chunks_exact(2))
                    .fold((0.0, 0.0), |(a, b), (t, z)| (a + t * z[0], b + t * z[1]));
                re * re + im * im
            };
            assert!((occupation(&e1) + occupation(&e2) - 1.0).abs() < 1e-12);
        }
        assert!(Quantum::new(9).is_err());
    }
}
