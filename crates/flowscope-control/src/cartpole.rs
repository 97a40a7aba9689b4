//! Cart-pole with 1–4 poles on one cart (StableBPTT's `cartpole_simulator.py`): every pole
//! hinges on the cart and feels it, the cart feels them all. Semi-implicit Euler. The task: swing
//! the poles up from hanging (θ = π ± π/6) within T = 1 s; loss 1 − mean cos θ at the end.
//!
//! State per sample, as the reference flattens it: `[x, ẋ, θ₁, θ̇₁, θ₂, θ̇₂, …]`; the control is
//! the force on the cart.

use crate::System;
use rand::Rng;

/// Gravity (m/s²).
pub const G: f64 = 9.8;
/// Mass of a pole (kg).
pub const POLE_MASS: f64 = 0.1;
/// Total mass, cart plus pole (kg), as in the reference.
pub const TOTAL_MASS: f64 = 1.1;
/// Half the length of a pole (m): the reference's `l`, its centre of mass.
pub const HALF_LENGTH: f64 = 0.5;

/// The most poles the published comparison goes to.
pub const MAX_POLES: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CartPole {
    pub poles: usize,
    pub dt: f64,
    pub steps: usize,
}

impl CartPole {
    /// The published set-up: T = 1 s in 100 steps. Panics unless 1 ≤ `poles` ≤ [`MAX_POLES`].
    pub fn new(poles: usize) -> Self {
        assert!((1..=MAX_POLES).contains(&poles), "the cart-pole has 1 to {MAX_POLES} poles");
        Self { poles, dt: 0.01, steps: 100 }
    }
}

/// The accelerations of the poles and the cart, and what the adjoint needs of them.
#[derive(Default)]
struct Forces {
    sin: [f64; MAX_POLES],
    cos: [f64; MAX_POLES],
    /// A_i = (F + m l sin θ_i θ̇_i²) / M.
    a: [f64; MAX_POLES],
    /// B_i = l (4/3 − m cos² θ_i / M).
    b: [f64; MAX_POLES],
    /// θ̈_i.
    theta_acc: [f64; MAX_POLES],
    /// ẍ.
    x_acc: f64,
}

impl CartPole {
    fn forces(&self, state: &[f64], force: f64) -> Forces {
        let ml = POLE_MASS * HALF_LENGTH;
        let mut f = Forces::default();
        let mut sum = 0.0;
        for i in 0..self.poles {
            let (theta, omega) = (state[2 + 2 * i], state[3 + 2 * i]);
            let (sin, cos) = theta.sin_cos();
            let a = (force + ml * sin * omega * omega) / TOTAL_MASS;
            let b = HALF_LENGTH * (4.0 / 3.0 - POLE_MASS * cos * cos / TOTAL_MASS);
            let theta_acc = (G * sin - cos * a) / b;
            sum += sin * omega * omega - theta_acc * cos;
            (f.sin[i], f.cos[i], f.a[i], f.b[i], f.theta_acc[i]) = (sin, cos, a, b, theta_acc);
        }
        f.x_acc = (force + ml * sum) / TOTAL_MASS;
        f
    }
}

impl System for CartPole {
    fn state_len(&self) -> usize {
        2 + 2 * self.poles
    }

    fn control_len(&self) -> usize {
        1
    }

    fn steps(&self) -> usize {
        self.steps
    }

    fn step(&self, state: &[f64], control: &[f64], next: &mut [f64]) {
        let (dt, f) = (self.dt, self.forces(state, control[0]));
        next[1] = state[1] + dt * f.x_acc;
        next[0] = state[0] + dt * next[1];
        for i in 0..self.poles {
            next[3 + 2 * i] = state[3 + 2 * i] + dt * f.theta_acc[i];
            next[2 + 2 * i] = state[2 + 2 * i] + dt * next[3 + 2 * i];
        }
    }

    fn step_adjoint(
        &self,
        state: &[f64],
        control: &[f64],
        next_adjoint: &[f64],
        state_adjoint: &mut [f64],
        control_adjoint: &mut [f64],
    ) {
        let (dt, ml) = (self.dt, POLE_MASS * HALF_LENGTH);
        let f = self.forces(state, control[0]);
        // x' = x + dt ẋ', ẋ' = ẋ + dt ẍ.
        let x_vel_new = next_adjoint[1] + dt * next_adjoint[0];
        state_adjoint[0] = next_adjoint[0];
        state_adjoint[1] = x_vel_new;
        let x_acc = dt * x_vel_new;
        // ẍ = (F + ml C) / M, C = Σ (sin θ̇² − θ̈ cos).
        let mut force = x_acc / TOTAL_MASS;
        let c = ml * x_acc / TOTAL_MASS;
        for i in 0..self.poles {
            let (sin, cos, omega) = (f.sin[i], f.cos[i], state[3 + 2 * i]);
            let omega_new = next_adjoint[3 + 2 * i] + dt * next_adjoint[2 + 2 * i];
            let mut theta = next_adjoint[2 + 2 * i];
            let mut omega_adj = omega_new;
            let theta_acc = dt * omega_new - c * cos;
            let mut q = c;
            let mut cos_adj = -c * f.theta_acc[i];
            // θ̈ = (g sin − cos A) / B.
            let mut sin_adj = theta_acc * G / f.b[i];
            cos_adj -= theta_acc * f.a[i] / f.b[i];
            let a = -theta_acc * cos / f.b[i];
            let b = -theta_acc * f.theta_acc[i] / f.b[i];
            cos_adj += b * (-2.0 * HALF_LENGTH * POLE_MASS * cos / TOTAL_MASS);
            // A = (F + ml q) / M, q = sin θ̇².
            force += a / TOTAL_MASS;
            q += a * ml / TOTAL_MASS;
            sin_adj += q * omega * omega;
            omega_adj += q * 2.0 * sin * omega;
            theta += sin_adj * cos - cos_adj * sin;
            state_adjoint[2 + 2 * i] = theta;
            state_adjoint[3 + 2 * i] = omega_adj;
        }
        control_adjoint[0] = force;
    }

    /// As the reference draws them: x, ẋ, θ̇ uniform in [−1, 1], θ uniform in π ± π/6.
    fn starts(&self, n: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<f64> {
        let mut states = Vec::with_capacity(n * self.state_len());
        for _ in 0..n {
            for k in 0..self.state_len() {
                let u: f64 = rng.random_range(-1.0..1.0);
                let is_angle = k >= 2 && k % 2 == 0;
                states.push(if is_angle { std::f64::consts::PI * (1.0 + u / 6.0) } else { u });
            }
        }
        states
    }

    fn loss(&self, state: &[f64]) -> f64 {
        1.0 - (0..self.poles).map(|i| state[2 + 2 * i].cos()).sum::<f64>() / self.poles as f64
    }

    fn loss_adjoint(&self, state: &[f64], adjoint: &mut [f64]) {
        adjoint.fill(0.0);
        for i in 0..self.poles {
            adjoint[2 + 2 * i] = state[2 + 2 * i].sin() / self.poles as f64;
        }
    }
}
