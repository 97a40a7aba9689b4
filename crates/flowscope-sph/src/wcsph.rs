//! Weakly compressible SPH in 2D (Monaghan 1994; Adami, Hu & Adams 2012): density from the
//! continuity equation with δ-SPH diffusion (Molteni & Colagrossi 2009), the Tait equation of
//! state p = B ((ρ/ρ0)^γ − 1) with γ = 7 and B = c0² ρ0 / γ, symmetric pressure forces,
//! Monaghan's artificial viscosity and an optional physical one (Morris' Laplacian), gravity,
//! and walls of several particle layers whose pressure is extrapolated from the fluid (Adami).
//! Symplectic Euler time stepping (one evaluation of the forces per step), or the midpoint rule
//! (two).

use crate::fluid2d::{cell_list, kernel_for, Particles};
use crate::kernel::{Kernel, Shape};
use crate::tank::Tank;
use flowscope_parallel::{for_each_chunk_mut, map as map_particles};

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
    /// Artificial viscosity α: acts on approaching pairs only and scales with h, so it damps
    /// noise but its effective viscosity α c0 h / 8 falls as the resolution rises.
    pub alpha: f64,
    /// Kinematic viscosity ν [m²/s] (0: none), the same at every resolution; walls no-slip.
    pub viscosity: f64,
    /// δ-SPH density diffusion coefficient (0: none).
    pub delta: f64,
    /// Smoothing length over particle spacing.
    pub h_factor: f64,
    pub shape: Shape,
    pub integrator: Integrator,
}

/// How a step advances the particles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Integrator {
    /// Velocity and density along the rates at the step's start, then the positions along the
    /// new velocity: one force evaluation per step, and stable for oscillations (sound) up to
    /// a larger step than the midpoint rule.
    #[default]
    SymplecticEuler,
    /// Rates at the step's start, then the whole step along the rates at its midpoint (RK2):
    /// two evaluations per step (the learned 2D particle models were trained on its data).
    Midpoint,
}

impl Default for WcsphConfig {
    fn default() -> Self {
        Self {
            rho0: 1000.0,
            c0: 40.0,
            gravity: [0.0, -9.81],
            alpha: 0.05,
            viscosity: 0.0,
            delta: 0.1,
            h_factor: 1.3,
            shape: Shape::WendlandC2,
            integrator: Integrator::default(),
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
    /// Every particle of the last evaluation (fluid, walls, paddle), its memory reused.
    all: Vec<[f64; 2]>,
    candidates: Candidates,
    pairs: Vec<PairChunk>,
}

/// What an evaluation gives each fluid particle: its acceleration and the δ-SPH diffusion of
/// its density.
struct Forces {
    a: Vec<[f64; 2]>,
    diffusion: Vec<f64>,
}

/// What a pair reads of its neighbour j: velocity, density and p_j / ρ_j².
struct Side {
    v: [f64; 2],
    rho: f64,
    p_over_rho2: f64,
}

/// Candidate neighbours are listed within the support plus this many smoothing lengths, and the
/// lists stand until some particle has moved by half of it: at the acoustic step a particle moves
/// a fiftieth of h or less per step, so one search serves many steps.
const SKIN: f64 = 0.3;

/// Particles per chunk of the parallel passes (one allocation per chunk, reused step to step).
const CHUNK: usize = 256;

/// The neighbours within the support of the fluid particles of one chunk, with ∇_i W_ij:
/// particle k's are `pairs[start[k]..start[k + 1]]`.
#[derive(Clone, Debug, Default)]
struct PairChunk {
    start: Vec<u32>,
    pairs: Vec<(u32, [f64; 2])>,
    a: Vec<[f64; 2]>,
    diffusion: Vec<f64>,
}

impl PairChunk {
    fn clear(&mut self) {
        self.start.clear();
        self.start.push(0);
        self.pairs.clear();
        self.a.clear();
        self.diffusion.clear();
    }
}

/// Verlet lists: each particle's candidate neighbours within the support plus a skin, listed at
/// positions `at` (fluid, then walls; a wall lists fluid particles only) and kept while no
/// particle has moved by half the skin since, which leaves every pair within the support
/// listed.
#[derive(Clone, Debug, Default)]
struct Candidates {
    at: Vec<[f64; 2]>,
    chunks: Vec<Lists>,
}

/// The candidates of the particles of one chunk: particle k's are `j[start[k]..start[k + 1]]`.
#[derive(Clone, Debug, Default)]
struct Lists {
    start: Vec<u32>,
    j: Vec<u32>,
}

impl Candidates {
    /// Lists again for `all` (the first `fluid` of them fluid) unless the lists still hold.
    fn refresh(&mut self, tank: &Tank, radius: f64, skin: f64, all: &[[f64; 2]], fluid: usize) {
        let moved = |(a, b): (&[f64; 2], &[f64; 2])| (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2);
        let holds = self.at.len() == all.len()
            && self.at.iter().zip(all).map(moved).fold(0.0, f64::max) <= 0.25 * skin * skin;
        if holds {
            return;
        }
        let reach = radius + skin;
        let list = cell_list(tank, reach, all);
        self.chunks.resize_with(all.len().div_ceil(CHUNK), Lists::default);
        for_each_chunk_mut(&mut self.chunks, 1, |k, chunk| {
            let Lists { start, j: listed } = &mut chunk[0];
            start.clear();
            start.push(0);
            listed.clear();
            for i in k * CHUNK..all.len().min((k + 1) * CHUNK) {
                list.for_each_neighbour(all, i, reach, |j, _, _| {
                    if i < fluid || j < fluid {
                        listed.push(j as u32);
                    }
                });
                start.push(listed.len() as u32);
            }
        });
        self.at.clear();
        self.at.extend_from_slice(all);
    }

    /// Calls `f(j, x_i − x_j, r)` for every listed neighbour j of particle i within `radius`.
    #[inline]
    fn for_each_within(
        &self,
        all: &[[f64; 2]],
        i: usize,
        radius: f64,
        mut f: impl FnMut(usize, [f64; 2], f64),
    ) {
        let (chunk, k) = (&self.chunks[i / CHUNK], i % CHUNK);
        let xi = all[i];
        let radius_squared = radius * radius;
        for &j in &chunk.j[chunk.start[k] as usize..chunk.start[k + 1] as usize] {
            let xj = all[j as usize];
            let d = [xi[0] - xj[0], xi[1] - xj[1]];
            let r_squared = d[0] * d[0] + d[1] * d[1];
            if r_squared < radius_squared {
                f(j as usize, d, r_squared.sqrt());
            }
        }
    }
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
            all: Vec::new(),
            candidates: Candidates::default(),
            pairs: Vec::new(),
        })
    }

    fn stiffness(&self) -> f64 {
        self.config.c0 * self.config.c0 * self.config.rho0 / GAMMA
    }

    pub fn pressure(&self, rho: f64) -> f64 {
        // γ = 7: powi is a few multiplications where powf was a tenth of a step.
        self.stiffness() * ((rho / self.config.rho0).powi(GAMMA as i32) - 1.0)
    }

    fn density(&self, p: f64) -> f64 {
        self.config.rho0 * (p / self.stiffness() + 1.0).max(1e-6).powf(1.0 / GAMMA)
    }

    /// The forces on the fluid at `x` with velocities `v` and densities `rho` at time `t` (which
    /// places the paddle), and the density diffusion; leaves the pairs for
    /// [`Wcsph::continuity`], the walls' pressures and the neighbour counts.
    fn evaluate(&mut self, x: &[[f64; 2]], v: &[[f64; 2]], rho: &[f64], t: f64) -> Forces {
        let n = x.len();
        let mut all = std::mem::take(&mut self.all);
        all.clear();
        all.extend_from_slice(x);
        all.extend_from_slice(&self.walls);
        if let Some(paddle) = &self.paddle {
            all.extend(paddle.positions(t));
        }
        let (paddle_v, paddle_a) = self.paddle_motion(t);
        let statics = self.walls.len();
        // Velocity and acceleration of wall particle w (static walls first, then the paddle).
        let wall_motion =
            |w: usize| if w < statics { ([0.0; 2], [0.0; 2]) } else { (paddle_v, paddle_a) };
        let (h, m, radius) = (self.h, self.fluid.mass, self.kernel.support(self.h));
        self.candidates.refresh(&self.tank, radius, SKIN * h, &all, n);
        let candidates = &self.candidates;
        let kernel = self.kernel.at(h);
        let p: Vec<f64> = rho.iter().map(|&r| self.pressure(r)).collect();
        let g = self.config.gravity;
        // Wall pressure: the fluid's, interpolated and corrected for the hydrostatic
        // difference in the wall's frame (g − a_wall); never pulling (p ≥ 0).
        let wall_p: Vec<f64> = map_particles(all.len() - n, |w| {
            let (mut sw, mut sp) = (0.0, 0.0);
            let (_, a_w) = wall_motion(w);
            let field = [g[0] - a_w[0], g[1] - a_w[1]];
            candidates.for_each_within(&all, n + w, radius, |j, d, r| {
                let weight = kernel.w(r);
                sw += weight;
                sp += (p[j] + rho[j] * (field[0] * d[0] + field[1] * d[1])) * weight;
            });
            if sw > 0.0 {
                (sp / sw).max(0.0)
            } else {
                0.0
            }
        });
        // What a pair reads of its neighbour, in one place: the walls' density from their
        // pressure (ρ0 where it is zero, as for most of them, far from the fluid).
        let side = |v: [f64; 2], rho: f64, p: f64| Side { v, rho, p_over_rho2: p / (rho * rho) };
        let mut sides: Vec<Side> = (0..n).map(|j| side(v[j], rho[j], p[j])).collect();
        sides.extend(wall_p.iter().enumerate().map(|(w, &p)| {
            let rho = if p > 0.0 { self.density(p) } else { self.config.rho0 };
            side(wall_motion(w).0, rho, p)
        }));
        let (c0, alpha, delta) = (self.config.c0, self.config.alpha, self.config.delta);
        let (softening, diffusion_scale) = (0.01 * h * h, 2.0 * delta * h * c0 * m);
        // Both viscosities in Monaghan's form, Π_ij = −k (v_ij·x_ij) / (r² + ε) / ρ̄_ij: the
        // physical one with k = 2 (d + 2) ν in all pairs, the artificial one with k = α c0 h
        // in approaching pairs only.
        let (physical, artificial) = (8.0 * self.config.viscosity, alpha * c0 * h);
        let mut chunks = std::mem::take(&mut self.pairs);
        chunks.resize_with(n.div_ceil(CHUNK), PairChunk::default);
        for_each_chunk_mut(&mut chunks, 1, |k, chunk| {
            let chunk = &mut chunk[0];
            chunk.clear();
            for i in k * CHUNK..n.min((k + 1) * CHUNK) {
                let Side { v: v_i, rho: rho_i, p_over_rho2: pressure_i } = sides[i];
                let mut a = g;
                let mut diffusion = 0.0;
                candidates.for_each_within(&all, i, radius, |j, d, r| {
                    let grad_scale = kernel.grad_over_r(r);
                    let grad = [grad_scale * d[0], grad_scale * d[1]];
                    chunk.pairs.push((j as u32, grad));
                    let other = &sides[j];
                    let inverse_r2 = 1.0 / (r * r + softening);
                    if j < n && delta > 0.0 {
                        let toward = -(d[0] * grad[0] + d[1] * grad[1]);
                        diffusion +=
                            diffusion_scale * (other.rho - rho_i) * toward * inverse_r2 / other.rho;
                    }
                    let v_ij = [v_i[0] - other.v[0], v_i[1] - other.v[1]];
                    let approach = v_ij[0] * d[0] + v_ij[1] * d[1];
                    let k = if approach < 0.0 { physical + artificial } else { physical };
                    let viscous = -2.0 * k * approach * inverse_r2 / (rho_i + other.rho);
                    let pair = pressure_i + other.p_over_rho2 + viscous;
                    a[0] -= m * pair * grad[0];
                    a[1] -= m * pair * grad[1];
                });
                chunk.start.push(chunk.pairs.len() as u32);
                chunk.a.push(a);
                chunk.diffusion.push(diffusion);
            }
        });
        self.all = all;
        self.wall_p = wall_p;
        self.neighbours.clear();
        self.neighbours.extend(chunks.iter().flat_map(|c| c.start.windows(2).map(|w| w[1] - w[0])));
        let forces = Forces {
            a: chunks.iter().flat_map(|c| c.a.iter().copied()).collect(),
            diffusion: chunks.iter().flat_map(|c| c.diffusion.iter().copied()).collect(),
        };
        self.pairs = chunks;
        self.max_acceleration = forces.a.iter().map(|a| a[0].hypot(a[1])).fold(0.0, f64::max);
        forces
    }

    /// The paddle's velocity and acceleration at time `t` (zero without one).
    fn paddle_motion(&self, t: f64) -> ([f64; 2], [f64; 2]) {
        match &self.paddle {
            Some(paddle) => {
                let (_, velocity, acceleration) = paddle.motion(t);
                ([velocity, 0.0], [acceleration, 0.0])
            }
            None => ([0.0; 2], [0.0; 2]),
        }
    }

    /// Dρ/Dt of every fluid particle over the pairs of the last evaluation, for fluid
    /// velocities `v` and the paddle's at time `t`: the continuity equation plus `forces`'
    /// density diffusion.
    fn continuity(&self, v: &[[f64; 2]], forces: &Forces, t: f64) -> Vec<f64> {
        let (n, m, statics) = (v.len(), self.fluid.mass, self.walls.len());
        let (paddle_v, _) = self.paddle_motion(t);
        map_particles(n, |i| {
            let (chunk, k) = (&self.pairs[i / CHUNK], i % CHUNK);
            let mut change = forces.diffusion[i];
            for &(j, grad) in &chunk.pairs[chunk.start[k] as usize..chunk.start[k + 1] as usize] {
                let j = j as usize;
                let v_j = match j.checked_sub(n) {
                    None => v[j],
                    Some(w) if w < statics => [0.0; 2],
                    Some(_) => paddle_v,
                };
                change += m * ((v[i][0] - v_j[0]) * grad[0] + (v[i][1] - v_j[1]) * grad[1]);
            }
            change
        })
    }

    /// A stable step: `cfl` of the time sound needs to cross a smoothing length, and of the
    /// time the largest acceleration needs to move a particle that far, within the explicit
    /// viscosity's limit.
    pub fn stable_dt(&self, cfl: f64) -> f64 {
        let acoustic = self.h / (self.config.c0 + self.fluid.max_speed());
        let force = if self.max_acceleration > 0.0 {
            (self.h / self.max_acceleration).sqrt()
        } else {
            f64::INFINITY
        };
        // As DFSPH's: h²/(12ν).
        let viscous = self.h * self.h / 12.0 / self.config.viscosity.max(f64::MIN_POSITIVE);
        (cfl * acoustic.min(force)).min(viscous)
    }

    /// One step of `dt`.
    pub fn step(&mut self, dt: f64) -> Result<(), SphError> {
        if let Some(paddle) = &mut self.paddle {
            paddle.pull.advance(dt);
        }
        match self.config.integrator {
            Integrator::SymplecticEuler => self.symplectic_euler(dt),
            Integrator::Midpoint => self.midpoint(dt),
        }
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

    /// Velocities along the forces at the step's start, then positions and densities along the
    /// new velocities (the density moves with the positions: along the old velocities the
    /// pressure–velocity oscillation of sound would be forward Euler's, which grows).
    fn symplectic_euler(&mut self, dt: f64) {
        let x = std::mem::take(&mut self.fluid.x);
        let mut v = std::mem::take(&mut self.fluid.v);
        let mut rho = std::mem::take(&mut self.rho);
        let forces = self.evaluate(&x, &v, &rho, self.time);
        for (v, a) in v.iter_mut().zip(&forces.a) {
            v[0] += dt * a[0];
            v[1] += dt * a[1];
        }
        let change = self.continuity(&v, &forces, self.time);
        for (r, d) in rho.iter_mut().zip(&change) {
            *r += dt * d;
        }
        self.fluid.x =
            x.iter().zip(&v).map(|(x, v)| [x[0] + dt * v[0], x[1] + dt * v[1]]).collect();
        self.fluid.v = v;
        self.rho = rho;
    }

    fn midpoint(&mut self, dt: f64) {
        let (x0, v0, rho0) = (self.fluid.x.clone(), self.fluid.v.clone(), self.rho.clone());
        let k1 = self.evaluate(&x0, &v0, &rho0, self.time);
        let drho1 = self.continuity(&v0, &k1, self.time);
        let half = 0.5 * dt;
        let x_mid: Vec<[f64; 2]> =
            x0.iter().zip(&v0).map(|(x, v)| [x[0] + half * v[0], x[1] + half * v[1]]).collect();
        let v_mid: Vec<[f64; 2]> =
            v0.iter().zip(&k1.a).map(|(v, a)| [v[0] + half * a[0], v[1] + half * a[1]]).collect();
        let rho_mid: Vec<f64> = rho0.iter().zip(&drho1).map(|(r, d)| r + half * d).collect();
        let k2 = self.evaluate(&x_mid, &v_mid, &rho_mid, self.time + half);
        let drho2 = self.continuity(&v_mid, &k2, self.time + half);
        self.fluid.x =
            x0.iter().zip(&v_mid).map(|(x, v)| [x[0] + dt * v[0], x[1] + dt * v[1]]).collect();
        self.fluid.v =
            v0.iter().zip(&k2.a).map(|(v, a)| [v[0] + dt * a[0], v[1] + dt * a[1]]).collect();
        self.rho = rho0.iter().zip(&drho2).map(|(r, d)| r + dt * d).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// After hundreds of steps of a dam break, with lists made steps before, the pairs of the
    /// last evaluation are exactly those a fresh cell-list search finds at its positions.
    #[test]
    fn the_verlet_lists_find_every_pair_a_fresh_search_finds() {
        let a = 0.05715;
        let tank = Tank { width: 4.0 * a, height: 3.0 * a, dx: a / 12.0, layers: 3 };
        let config =
            WcsphConfig { c0: 10.0 * (2.0 * 9.81 * 2.0 * a).sqrt(), ..WcsphConfig::default() };
        let mut sph = Wcsph::new(tank, tank.block(0.0, a, 0.0, 2.0 * a), 2.0 * a, config).unwrap();
        let mut rebuilds = 0;
        for _ in 0..400 {
            let before = sph.candidates.at.clone();
            sph.step(sph.stable_dt(0.25)).unwrap();
            rebuilds += usize::from(sph.candidates.at != before);
        }
        assert!((2..200).contains(&rebuilds), "the lists were made {rebuilds} times in 400 steps");
        let radius = sph.kernel.support(sph.h);
        let list = cell_list(&tank, radius, &sph.all);
        for i in 0..sph.fluid.len() {
            let mut fresh = Vec::new();
            list.for_each_neighbour(&sph.all, i, radius, |j, _, _| fresh.push(j as u32));
            let chunk = &sph.pairs[i / CHUNK];
            let k = i % CHUNK;
            let mut listed: Vec<u32> = chunk.pairs
                [chunk.start[k] as usize..chunk.start[k + 1] as usize]
                .iter()
                .map(|p| p.0)
                .collect();
            fresh.sort_unstable();
            listed.sort_unstable();
            assert_eq!(listed, fresh, "neighbours of particle {i}");
        }
    }
}
