//! Guidance by repulsion (StableBPTT's `GuidanceByRepulsion`): drivers herd evaders that flee
//! them. Only the drivers are controlled, each by a force along and across the line from the
//! evaders' centre; the evaders run from every driver and keep (or lose) company with each
//! other. The task: bring the evaders to the target and keep them there over T = 4 s (60 explicit
//! Euler steps); loss the mean squared distance of the evaders to the target over every step,
//! plus a small price on the control.
//!
//! As published, including two quirks of the reference kept on purpose: the "centre" is the sum
//! of the evaders' positions (not their mean), and the flocking term pulls two evaders together
//! while they are closer than `flock_distance` (and apart beyond it).
//!
//! State per sample, object after object (drivers first), as the reference flattens it:
//! `[x, y, vx, vy]` each; the control: `[c_along, c_across]` per driver.

use crate::System;
use rand::Rng;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Guidance {
    pub drivers: usize,
    pub evaders: usize,
    pub dt: f64,
    pub steps: usize,
    /// Weight of the mean squared control in the loss (the paper: 1, 0.1, 0.01, 0.001).
    pub regularisation: f64,
    /// Where the evaders should go.
    pub target: [f64; 2],
}

/// Softening of every distance (ε: d = ε + |r|).
pub const EPSILON: f64 = 0.1;
pub const EVADE: f64 = 15.0;
pub const EVADER_FRICTION: f64 = 4.0;
pub const FLOCK: f64 = 0.2;
pub const FLOCK_DISTANCE: f64 = 0.5;
pub const DRIVER_FRICTION: f64 = 1.0;
pub const SPREAD: f64 = 0.2;

impl Guidance {
    /// The published set-up: T = 4 s in 60 steps, target at the origin, regularisation 0.01.
    pub fn new(drivers: usize, evaders: usize) -> Self {
        assert!(drivers >= 1 && evaders >= 1, "guidance needs drivers and evaders");
        Self { drivers, evaders, dt: 4.0 / 60.0, steps: 60, regularisation: 0.01, target: [0.0; 2] }
    }

    fn objects(&self) -> usize {
        self.drivers + self.evaders
    }

    fn position(state: &[f64], k: usize) -> [f64; 2] {
        [state[4 * k], state[4 * k + 1]]
    }

    /// Σ of the evaders' positions: the reference's "centre".
    fn centre(&self, state: &[f64]) -> [f64; 2] {
        (self.drivers..self.objects()).fold([0.0; 2], |c, k| {
            let p = Self::position(state, k);
            [c[0] + p[0], c[1] + p[1]]
        })
    }

    /// The accelerations of every object, `[ax, ay]` each.
    fn accelerations(&self, state: &[f64], control: &[f64]) -> Vec<[f64; 2]> {
        let mut a = vec![[0.0; 2]; self.objects()];
        let centre = self.centre(state);
        for i in 0..self.drivers {
            let p = Self::position(state, i);
            let w = [p[0] - centre[0], p[1] - centre[1]];
            let (along, across) = (control[2 * i], control[2 * i + 1]);
            a[i][0] += along * w[0] - across * w[1] - DRIVER_FRICTION * state[4 * i + 2];
            a[i][1] += along * w[1] + across * w[0] - DRIVER_FRICTION * state[4 * i + 3];
            for j in 0..self.drivers {
                if j != i {
                    // Driver i pushed away from driver j.
                    let f = inverse_square(sub(p, Self::position(state, j)));
                    a[i] = [a[i][0] + SPREAD * f[0], a[i][1] + SPREAD * f[1]];
                }
            }
        }
        for j in self.drivers..self.objects() {
            let q = Self::position(state, j);
            a[j][0] -= EVADER_FRICTION * state[4 * j + 2];
            a[j][1] -= EVADER_FRICTION * state[4 * j + 3];
            for i in 0..self.drivers {
                let f = inverse_square(sub(Self::position(state, i), q));
                a[j] = [a[j][0] - EVADE * f[0], a[j][1] - EVADE * f[1]];
            }
            for i in self.drivers..self.objects() {
                if i != j {
                    let f = flock(sub(Self::position(state, i), q));
                    a[j] = [a[j][0] + FLOCK * f[0], a[j][1] + FLOCK * f[1]];
                }
            }
        }
        a
    }
}

fn sub(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

fn length(r: [f64; 2]) -> f64 {
    (r[0] * r[0] + r[1] * r[1]).sqrt()
}

/// r / d², d = ε + |r|.
fn inverse_square(r: [f64; 2]) -> [f64; 2] {
    let d = EPSILON + length(r);
    [r[0] / (d * d), r[1] / (d * d)]
}

/// The adjoint of r for `inverse_square` given the adjoint `h` of its value.
fn inverse_square_adjoint(r: [f64; 2], h: [f64; 2]) -> [f64; 2] {
    let norm = length(r);
    let d = EPSILON + norm;
    let radial =
        if norm > 0.0 { 2.0 * (h[0] * r[0] + h[1] * r[1]) / (d * d * d * norm) } else { 0.0 };
    [h[0] / (d * d) - radial * r[0], h[1] / (d * d) - radial * r[1]]
}

/// p(d) r with p = (d_flock / d − 1) / d.
fn flock(r: [f64; 2]) -> [f64; 2] {
    let d = EPSILON + length(r);
    let p = (FLOCK_DISTANCE / d - 1.0) / d;
    [p * r[0], p * r[1]]
}

fn flock_adjoint(r: [f64; 2], h: [f64; 2]) -> [f64; 2] {
    let norm = length(r);
    let d = EPSILON + norm;
    let p = (FLOCK_DISTANCE / d - 1.0) / d;
    let dp = -2.0 * FLOCK_DISTANCE / (d * d * d) + 1.0 / (d * d);
    let radial = if norm > 0.0 { dp * (h[0] * r[0] + h[1] * r[1]) / norm } else { 0.0 };
    [p * h[0] + radial * r[0], p * h[1] + radial * r[1]]
}

impl System for Guidance {
    fn state_len(&self) -> usize {
        4 * self.objects()
    }

    fn control_len(&self) -> usize {
        2 * self.drivers
    }

    fn steps(&self) -> usize {
        self.steps
    }

    /// Explicit Euler: positions with the old velocities.
    fn step(&self, state: &[f64], control: &[f64], next: &mut [f64]) {
        let a = self.accelerations(state, control);
        for (k, a) in a.iter().enumerate() {
            let o = 4 * k;
            next[o] = state[o] + self.dt * state[o + 2];
            next[o + 1] = state[o + 1] + self.dt * state[o + 3];
            next[o + 2] = state[o + 2] + self.dt * a[0];
            next[o + 3] = state[o + 3] + self.dt * a[1];
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
        let dt = self.dt;
        // g: the adjoint of each acceleration.
        let g: Vec<[f64; 2]> = (0..self.objects())
            .map(|k| [dt * next_adjoint[4 * k + 2], dt * next_adjoint[4 * k + 3]])
            .collect();
        for k in 0..self.objects() {
            let o = 4 * k;
            state_adjoint[o] = next_adjoint[o];
            state_adjoint[o + 1] = next_adjoint[o + 1];
            state_adjoint[o + 2] = next_adjoint[o + 2] + dt * next_adjoint[o];
            state_adjoint[o + 3] = next_adjoint[o + 3] + dt * next_adjoint[o + 1];
        }
        let mut position = |k: usize, v: [f64; 2], sign: f64| {
            state_adjoint[4 * k] += sign * v[0];
            state_adjoint[4 * k + 1] += sign * v[1];
        };
        let centre = self.centre(state);
        let mut centre_adjoint = [0.0; 2];
        for i in 0..self.drivers {
            let p = Self::position(state, i);
            let w = [p[0] - centre[0], p[1] - centre[1]];
            let (along, across) = (control[2 * i], control[2 * i + 1]);
            let gi = g[i];
            control_adjoint[2 * i] = gi[0] * w[0] + gi[1] * w[1];
            control_adjoint[2 * i + 1] = -gi[0] * w[1] + gi[1] * w[0];
            let w_adjoint = [along * gi[0] + across * gi[1], along * gi[1] - across * gi[0]];
            position(i, w_adjoint, 1.0);
            centre_adjoint = [centre_adjoint[0] - w_adjoint[0], centre_adjoint[1] - w_adjoint[1]];
            for j in 0..self.drivers {
                if j != i {
                    let h = [SPREAD * gi[0], SPREAD * gi[1]];
                    let r = inverse_square_adjoint(sub(p, Self::position(state, j)), h);
                    position(i, r, 1.0);
                    position(j, r, -1.0);
                }
            }
        }
        for (j, gj) in g.iter().enumerate().skip(self.drivers) {
            let q = Self::position(state, j);
            position(j, centre_adjoint, 1.0);
            for i in 0..self.drivers {
                let h = [-EVADE * gj[0], -EVADE * gj[1]];
                let r = inverse_square_adjoint(sub(Self::position(state, i), q), h);
                position(i, r, 1.0);
                position(j, r, -1.0);
            }
            for i in self.drivers..self.objects() {
                if i != j {
                    let h = [FLOCK * gj[0], FLOCK * gj[1]];
                    let r = flock_adjoint(sub(Self::position(state, i), q), h);
                    position(i, r, 1.0);
                    position(j, r, -1.0);
                }
            }
        }
        for k in 0..self.objects() {
            let friction = if k < self.drivers { DRIVER_FRICTION } else { EVADER_FRICTION };
            state_adjoint[4 * k + 2] -= friction * g[k][0];
            state_adjoint[4 * k + 3] -= friction * g[k][1];
        }
    }

    /// As the reference draws them: drivers on the annulus 3 < r < 4, the evaders in a unit
    /// square around a point of the annulus 1 < r < 2, all at rest.
    fn starts(&self, n: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<f64> {
        let annulus = |rng: &mut rand_chacha::ChaCha8Rng, low: f64, high: f64| {
            let phi = std::f64::consts::TAU * rng.random::<f64>();
            let r = low + (high - low) * rng.random::<f64>();
            [r * phi.cos(), r * phi.sin()]
        };
        let mut states = Vec::with_capacity(n * self.state_len());
        for _ in 0..n {
            for _ in 0..self.drivers {
                let p = annulus(rng, 3.0, 4.0);
                states.extend_from_slice(&[p[0], p[1], 0.0, 0.0]);
            }
            let centre = annulus(rng, 1.0, 2.0);
            for _ in 0..self.evaders {
                let offset: [f64; 2] = [rng.random_range(-0.5..0.5), rng.random_range(-0.5..0.5)];
                states.extend_from_slice(&[centre[0] + offset[0], centre[1] + offset[1], 0.0, 0.0]);
            }
        }
        states
    }

    /// Nothing at the end alone: the running loss covers the last state too.
    fn loss(&self, _state: &[f64]) -> f64 {
        0.0
    }

    fn loss_adjoint(&self, _state: &[f64], adjoint: &mut [f64]) {
        adjoint.fill(0.0);
    }

    /// The evaders' mean squared distance to the target, averaged over the steps.
    fn step_loss(&self, state: &[f64]) -> f64 {
        let scale = 1.0 / (self.steps * self.evaders * 2) as f64;
        (self.drivers..self.objects())
            .map(|k| {
                let d = sub(Self::position(state, k), self.target);
                d[0] * d[0] + d[1] * d[1]
            })
            .sum::<f64>()
            * scale
    }

    fn step_loss_adjoint(&self, state: &[f64], adjoint: &mut [f64]) {
        let scale = 2.0 / (self.steps * self.evaders * 2) as f64;
        for k in self.drivers..self.objects() {
            let d = sub(Self::position(state, k), self.target);
            adjoint[4 * k] += scale * d[0];
            adjoint[4 * k + 1] += scale * d[1];
        }
    }

    /// The regularisation: its weight times the mean squared control over the steps.
    fn control_loss(&self, control: &[f64]) -> f64 {
        let scale = self.regularisation / (self.steps * control.len()) as f64;
        control.iter().map(|c| c * c).sum::<f64>() * scale
    }

    fn control_loss_adjoint(&self, control: &[f64], adjoint: &mut [f64]) {
        let scale = 2.0 * self.regularisation / (self.steps * control.len()) as f64;
        adjoint.iter_mut().zip(control).for_each(|(a, c)| *a += scale * c);
    }
}
