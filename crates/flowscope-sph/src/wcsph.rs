//! Weakly compressible SPH in 2D (Monaghan 1994; Adami, Hu & Adams 2012): density from the
//! continuity equation with δ-SPH diffusion (Molteni & Colagrossi 2009), the Tait equation of
//! state p = B ((ρ/ρ0)^γ − 1) with γ = 7 and B = c0² ρ0 / γ, symmetric pressure forces,
//! Monaghan's artificial viscosity, gravity, and walls of several particle layers whose
//! pressure is extrapolated from the fluid (Adami). Midpoint (RK2) time stepping.

use crate::fluid2d::{cell_list, kernel_for, Particles};
use crate::kernel::{Kernel, Shape};
use crate::tank::Tank;
use flowscope_parallel::map as map_particles;

pub const GAMMA: f64 = 7.0;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SphError {
    #[error("a particle's {0} became {1} at t = {2:.4}; reset with a higher speed of sound or a smaller time step")]
    Diverged(&'static str, f64, f64),
    #[error("{0} particle(s) went through a wall at t = {1:.4}; reset with a smaller time step")]
    Escaped(usize, f64),
    #[error("{0}")]
    Setup(String),
}

/// Physical and numerical parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WcsphConfig {
    pub rho0: f64,
    /// Speed of sound; at least ten times the largest expected speed keeps density errors ~1%.
    pub c0: f64,
    pub gravity: [f64; 2],
    /// Artificial viscosity α.
    pub alpha: f64,
    /// δ-SPH density diffusion coefficient (0: none).
    pub delta: f64,
    /// Smoothing length over particle spacing.
    pub h_factor: f64,
    pub shape: Shape,
}

impl Default for WcsphConfig {
    fn default() -> Self {
        Self {
            rho0: 1000.0,
            c0: 40.0,
            gravity: [0.0, -9.81],
            alpha: 0.05,
            delta: 0.1,
            h_factor: 1.3,
            shape: Shape::WendlandC2,
        }
    }
}

/// A movable obstacle: a rigid body of wall particles oscillating horizontally, x(t) = rest +
/// A sin(2π f t) (a wave maker). Its particles take part like wall particles, moving.
#[derive(Clone, Debug, PartialEq)]
pub struct Paddle {
    pub rest: Vec<[f64; 2]>,
    pub amplitude: f64,
    pub frequency: f64,
    /// Where a hand pulls it, on top of the swing.
    pub pull: Pull,
}

/// A horizontal offset that follows a target (the pointer) with bounded speed and
/// acceleration, so that the water feels a wall that moves like a real one.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pull {
    pub target: f64,
    pub offset: f64,
    pub velocity: f64,
    pub acceleration: f64,
}

impl Pull {
    /// Fastest pull [m/s]: well below the speed of sound of the tank's fluids.
    pub const MAX_SPEED: f64 = 0.6;
    pub const MAX_ACCELERATION: f64 = 20.0;
    /// Time to close a gap to the target, where speed allows [s].
    const RESPONSE: f64 = 0.08;

    /// Moves the offset towards the target over `dt`.
    pub fn advance(&mut self, dt: f64) {
        let wanted =
            ((self.target - self.offset) / Self::RESPONSE).clamp(-Self::MAX_SPEED, Self::MAX_SPEED);
        let a =
            ((wanted - self.velocity) / dt).clamp(-Self::MAX_ACCELERATION, Self::MAX_ACCELERATION);
        self.velocity += a * dt;
        self.offset += self.velocity * dt;
        self.acceleration = a;
    }
}

#[cfg(test)]
mod pull_tests {
    use super::Pull;

    #[test]
    fn a_pull_reaches_its_target_within_its_limits() {
        let mut pull = Pull { target: 0.3, ..Pull::default() };
        let dt = 1e-3;
        for _ in 0..3000 {
            pull.advance(dt);
            assert!(pull.velocity.abs() <= Pull::MAX_SPEED + 1e-12);
            assert!(pull.acceleration.abs() <= Pull::MAX_ACCELERATION + 1e-12);
        }
        assert!((pull.offset - 0.3).abs() < 1e-3 && pull.velocity.abs() < 1e-2, "{pull:?}");
    }
}

impl Paddle {
    /// Horizontal displacement, velocity and acceleration at time `t` (the swing, plus the
    /// pull as it stands this step).
    pub fn motion(&self, t: f64) -> (f64, f64, f64) {
        let omega = std::f64::consts::TAU * self.frequency;
        let (sin, cos) = (omega * t).sin_cos();
        let pull = &self.pull;
        (
            self.amplitude * sin + pull.offset,
            self.amplitude * omega * cos + pull.velocity,
            -self.amplitude * omega * omega * sin + pull.acceleration,
        )
    }

    /// Its particles' positions at time `t`.
    pub fn positions(&self, t: f64) -> Vec<[f64; 2]> {
        let (shift, _, _) = self.motion(t);
        self.rest.iter().map(|p| [p[0] + shift, p[1]]).collect()
    }
}

/// Fluid particles in a tank of wall particles.
#[derive(Clone, Debug)]
pub struct Wcsph {
    pub fluid: Particles,
    pub rho: Vec<f64>,
    pub walls: Vec<[f64; 2]>,
    /// A moving obstacle, if any (the CPU reference only).
    pub paddle: Option<Paddle>,
    /// Wall (then paddle) pressures of the last evaluation.
    pub wall_p: Vec<f64>,
    /// Neighbours of each fluid particle at the last evaluation.
    pub neighbours: Vec<u32>,
    pub tank: Tank,
    pub config: WcsphConfig,
    pub h: f64,
    pub kernel: Kernel,
    pub time: f64,
    /// Largest acceleration of the last evaluation.
    max_acceleration: f64,
}

struct Rates {
    a: Vec<[f64; 2]>,
    drho: Vec<f64>,
}

impl Wcsph {
    /// Fluid at `positions` in `tank`, at rest with hydrostatic density below `surface` (the
    /// fluid's initial height).
    pub fn new(
        tank: Tank,
        positions: Vec<[f64; 2]>,
        surface: f64,
        config: WcsphConfig,
    ) -> Result<Self, SphError> {
        if !(config.c0 > 0.0 && config.rho0 > 0.0 && config.h_factor >= 1.0) {
            return Err(SphError::Setup("c0 and ρ0 must be positive and h ≥ dx".into()));
        }
        let (kernel, h) = kernel_for(&tank, &positions, config.shape, config.h_factor)?;
        let b = config.c0 * config.c0 * config.rho0 / GAMMA;
        let g = config.gravity[1].abs();
        let rho = positions
            .iter()
            .map(|x| {
                config.rho0
                    * (1.0 + config.rho0 * g * (surface - x[1]).max(0.0) / b).powf(1.0 / GAMMA)
            })
            .collect();
        let n = positions.len();
        let walls = tank.walls();
        Ok(Self {
            fluid: Particles::at_rest(positions, config.rho0 * tank.dx * tank.dx),
            rho,
            wall_p: vec![0.0; walls.len()],
            paddle: None,
            neighbours: vec![0; n],
            walls,
            tank,
            h,
            kernel,
            config,
            time: 0.0,
            max_acceleration: 0.0,
        })
    }

    fn stiffness(&self) -> f64 {
        self.config.c0 * self.config.c0 * self.config.rho0 / GAMMA
    }

    pub fn pressure(&self, rho: f64) -> f64 {
        self.stiffness() * ((rho / self.config.rho0).powf(GAMMA) - 1.0)
    }

    fn density(&self, p: f64) -> f64 {
        self.config.rho0 * (p / self.stiffness() + 1.0).max(1e-6).powf(1.0 / GAMMA)
    }

    /// Time derivatives at time `t` (which places the paddle).
    fn rates(&mut self, x: &[[f64; 2]], v: &[[f64; 2]], rho: &[f64], t: f64) -> Rates {
        let n = x.len();
        let mut all = x.to_vec();
        all.extend_from_slice(&self.walls);
        let statics = self.walls.len();
        let (paddle_v, paddle_a) = match &self.paddle {
            Some(paddle) => {
                all.extend(paddle.positions(t));
                let (_, velocity, acceleration) = paddle.motion(t);
                ([velocity, 0.0], [acceleration, 0.0])
            }
            None => ([0.0; 2], [0.0; 2]),
        };
        // Velocity and acceleration of wall particle w (static walls first, then the paddle).
        let wall_motion =
            |w: usize| if w < statics { ([0.0; 2], [0.0; 2]) } else { (paddle_v, paddle_a) };
        let (h, m, radius) = (self.h, self.fluid.mass, self.kernel.support(self.h));
        let list = cell_list(&self.tank, radius, &all);
        let kernel = self.kernel.at(h);
        let p: Vec<f64> = rho.iter().map(|&r| self.pressure(r)).collect();
        let g = self.config.gravity;
        // Wall pressure: the fluid's, interpolated and corrected for the hydrostatic
        // difference in the wall's frame (g − a_wall); never pulling (p ≥ 0).
        let wall_p: Vec<f64> = map_particles(all.len() - n, |w| {
            let (mut sw, mut sp) = (0.0, 0.0);
            let (_, a_w) = wall_motion(w);
            let field = [g[0] - a_w[0], g[1] - a_w[1]];
            list.for_each_neighbour(&all, n + w, radius, |j, d, r| {
                if j < n {
                    let weight = kernel.w(r);
                    sw += weight;
                    sp += (p[j] + rho[j] * (field[0] * d[0] + field[1] * d[1])) * weight;
                }
            });
            if sw > 0.0 {
                (sp / sw).max(0.0)
            } else {
                0.0
            }
        });
        let wall_rho: Vec<f64> = wall_p.iter().map(|&p| self.density(p)).collect();
        let (c0, alpha, delta) = (self.config.c0, self.config.alpha, self.config.delta);
        let out = map_particles(n, |i| {
            let (rho_i, p_i) = (rho[i], p[i]);
            let mut a = g;
            let mut drho = 0.0;
            let mut count = 0u32;
            list.for_each_neighbour(&all, i, radius, |j, d, r| {
                count += 1;
                let grad_scale = kernel.grad_over_r(r);
                let grad = [grad_scale * d[0], grad_scale * d[1]];
                let (v_j, rho_j, p_j) = if j < n {
                    (v[j], rho[j], p[j])
                } else {
                    (wall_motion(j - n).0, wall_rho[j - n], wall_p[j - n])
                };
                let v_ij = [v[i][0] - v_j[0], v[i][1] - v_j[1]];
                drho += m * (v_ij[0] * grad[0] + v_ij[1] * grad[1]);
                let r2 = r * r + 0.01 * h * h;
                if j < n && delta > 0.0 {
                    let toward = -(d[0] * grad[0] + d[1] * grad[1]);
                    drho += 2.0 * delta * h * c0 * (rho_j - rho_i) * toward / r2 * m / rho_j;
                }
                let approach = v_ij[0] * d[0] + v_ij[1] * d[1];
                let viscous = if approach < 0.0 {
                    -alpha * c0 * (h * approach / r2) / (0.5 * (rho_i + rho_j))
                } else {
                    0.0
                };
                let pair = p_i / (rho_i * rho_i) + p_j / (rho_j * rho_j) + viscous;
                a[0] -= m * pair * grad[0];
                a[1] -= m * pair * grad[1];
            });
            (a, drho, count)
        });
        self.wall_p = wall_p;
        self.neighbours = out.iter().map(|o| o.2).collect();
        self.max_acceleration = out.iter().map(|o| o.0[0].hypot(o.0[1])).fold(0.0, f64::max);
        Rates { a: out.iter().map(|o| o.0).collect(), drho: out.iter().map(|o| o.1).collect() }
    }

    /// A stable step: `cfl` of the time sound needs to cross a smoothing length, and of the
    /// time the largest acceleration needs to move a particle that far.
    pub fn stable_dt(&self, cfl: f64) -> f64 {
        let acoustic = self.h / (self.config.c0 + self.fluid.max_speed());
        let force = if self.max_acceleration > 0.0 {
            (self.h / self.max_acceleration).sqrt()
        } else {
            f64::INFINITY
        };
        cfl * acoustic.min(force)
    }

    /// One midpoint step of `dt`.
    pub fn step(&mut self, dt: f64) -> Result<(), SphError> {
        if let Some(paddle) = &mut self.paddle {
            paddle.pull.advance(dt);
        }
        let (x0, v0, rho0) = (self.fluid.x.clone(), self.fluid.v.clone(), self.rho.clone());
        let k1 = self.rates(&x0, &v0, &rho0, self.time);
        let half = 0.5 * dt;
        let x_mid: Vec<[f64; 2]> =
            x0.iter().zip(&v0).map(|(x, v)| [x[0] + half * v[0], x[1] + half * v[1]]).collect();
        let v_mid: Vec<[f64; 2]> =
            v0.iter().zip(&k1.a).map(|(v, a)| [v[0] + half * a[0], v[1] + half * a[1]]).collect();
        let rho_mid: Vec<f64> = rho0.iter().zip(&k1.drho).map(|(r, d)| r + half * d).collect();
        let k2 = self.rates(&x_mid, &v_mid, &rho_mid, self.time + half);
        self.fluid.x =
            x0.iter().zip(&v_mid).map(|(x, v)| [x[0] + dt * v[0], x[1] + dt * v[1]]).collect();
        self.fluid.v =
            v0.iter().zip(&k2.a).map(|(v, a)| [v[0] + dt * a[0], v[1] + dt * a[1]]).collect();
        self.rho = rho0.iter().zip(&k2.drho).map(|(r, d)| r + dt * d).collect();
        self.time += dt;
        let bad = self.fluid.non_finite().or(self.rho.iter().copied().find(|r| !r.is_finite()));
        if let Some(bad) = bad {
            return Err(SphError::Diverged("velocity or density", bad, self.time));
        }
        match self.fluid.escaped(&self.tank) {
            0 => Ok(()),
            escaped => Err(SphError::Escaped(escaped, self.time)),
        }
    }

    /// Mean |ρ − ρ0| / ρ0 over the fluid.
    pub fn density_error(&self) -> f64 {
        let rho0 = self.config.rho0;
        self.rho.iter().map(|r| (r - rho0).abs()).sum::<f64>() / (rho0 * self.rho.len() as f64)
    }

    /// Adds fluid at rest (density ρ0) on the lattice points within `radius` of `centre` that
    /// lie inside the tank and at least 0.8 dx from every fluid particle; returns how many.
    pub fn add_fluid(&mut self, centre: [f64; 2], radius: f64) -> usize {
        let dx = self.tank.dx;
        let reach = (radius / dx).ceil() as i64;
        let (ci, cj) = ((centre[0] / dx).floor() as i64, (centre[1] / dx).floor() as i64);
        let mut added = 0;
        for j in cj - reach..=cj + reach {
            for i in ci - reach..=ci + reach {
                let p = [(i as f64 + 0.5) * dx, (j as f64 + 0.5) * dx];
                let inside =
                    p[0] > 0.0 && p[0] < self.tank.width && p[1] > 0.0 && p[1] < self.tank.height;
                let near = (p[0] - centre[0]).hypot(p[1] - centre[1]) <= radius;
                let free =
                    self.fluid.x.iter().all(|x| (x[0] - p[0]).hypot(x[1] - p[1]) >= 0.8 * dx);
                if inside && near && free {
                    self.fluid.x.push(p);
                    self.fluid.v.push([0.0; 2]);
                    self.rho.push(self.config.rho0);
                    self.neighbours.push(0);
                    added += 1;
                }
            }
        }
        added
    }

    /// Fluid pressures from the current densities.
    pub fn pressures(&self) -> Vec<f64> {
        self.rho.iter().map(|&r| self.pressure(r)).collect()
    }
}
