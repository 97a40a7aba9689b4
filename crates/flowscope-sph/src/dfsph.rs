//! Divergence-free SPH in 2D (Bender & Koschier 2015, 2017): incompressible fluid by two
//! pressure solvers per step. The constant-density solver corrects the predicted velocities
//! until the average density error is below a tolerance (and no particle is compressed by more
//! than ten times it); after the positions move, the divergence-free solver removes the
//! velocity divergence. Walls are layers of particles on the fluid's lattice, with the fluid's
//! particle mass, at rest (Akinci et al. 2012, whose per-particle volumes reduce to the
//! lattice's for such walls), whose pressure is the fluid particle's plus the hydrostatic
//! difference ρ g·(x_wall − x_i) (Adami et al. 2012): a wall that only mirrors κ_i carries no
//! pressure gradient, so fluid along it was held up by half a gradient and slid down (a tank at
//! rest turned over in convection cells at 1–2 m/s).
//!
//! Each constant-density solve starts from zero pressure. Started from the last step's κ, the
//! solve acted as an integral controller on the slow, deep modes that a Jacobi sweep barely
//! corrects, and those grew: the fluid bounced as a whole (a tank at rest reached 1 m/s within a
//! second, a dam break ran 2% expanded). From zero, a deep column rebuilds its hydrostatic
//! pressure within the solve's iterations, its bottom rows held within the worst-compression
//! limit.

use crate::fluid2d::{cell_list, kernel_for, Particles};
use crate::kernel::{Kernel, KernelAt, Shape};
use crate::tank::Tank;
use crate::wcsph::SphError;
use flowscope_parallel::{for_each_chunk_mut, map as map_particles};

/// Fewer neighbours than this mark a particle at the free surface (a full 2D neighbourhood at
/// h = 1.3 dx has about 20).
const SURFACE_NEIGHBOURS: u32 = 16;

/// Relaxation of the constant-density solve's sweeps (unrelaxed, sweeps that may lower the
/// pressure overshoot and diverge).
pub const OMEGA: f64 = 0.5;

/// The spectral radius the constant-density solve's Chebyshev weights assume for its relaxed
/// sweep by default. Nearer 1 accelerates the deepest modes more and damps the others less: at
/// 0.95 a dam break's 142-deep column converges in about 3.5 sweeps a step (unaccelerated 9–10),
/// at 0.98 in 3.1, but then the pressure of a tank 24 deep at rest swings by up to 50% from step
/// to step (17% at 0.95, as unaccelerated) as the solve stops after 3, 4 or 5 sweeps.
pub const SPECTRAL_RADIUS: f64 = 0.95;

/// The weights ω_k of Chebyshev's semi-iteration for a spectral radius ρ: 1, 2/(2 − ρ²), then
/// 4/(4 − ρ² ω_(k−1)), rising towards 2/(1 + √(1 − ρ²)) (all 1 for ρ = 0).
#[derive(Clone, Copy, Debug)]
struct Chebyshev {
    rho: f64,
    k: usize,
    omega: f64,
}

impl Chebyshev {
    fn new(rho: f64) -> Self {
        Self { rho, k: 0, omega: 1.0 }
    }

    fn next_weight(&mut self) -> f64 {
        let rho2 = self.rho * self.rho;
        self.omega = match self.k {
            0 => 1.0,
            1 => 2.0 / (2.0 - rho2),
            _ => 4.0 / (4.0 - rho2 * self.omega),
        };
        self.k += 1;
        self.omega
    }
}

/// The constant-density solve also stops only once no particle is compressed by more than this
/// many tolerances.
pub const WORST_TOLERANCES: f64 = 10.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DfsphConfig {
    pub rho0: f64,
    pub gravity: [f64; 2],
    /// Kinematic viscosity (Morris' Laplacian), also what keeps the particles orderly.
    pub viscosity: f64,
    /// Average density error the constant-density solver stops at (0.001 = 0.1%).
    pub tolerance: f64,
    pub max_iterations: usize,
    /// The spectral radius the constant-density solve's Chebyshev acceleration assumes (0: plain
    /// relaxed sweeps; see [`SPECTRAL_RADIUS`]).
    pub spectral_radius: f64,
    /// Step as a fraction of the time the fastest particle needs to cross a smoothing length.
    pub cfl: f64,
    pub max_dt: f64,
    pub h_factor: f64,
    pub shape: Shape,
}

impl Default for DfsphConfig {
    fn default() -> Self {
        Self {
            rho0: 1000.0,
            gravity: [0.0, -9.81],
            viscosity: 1e-4,
            tolerance: 1e-3,
            max_iterations: 100,
            spectral_radius: SPECTRAL_RADIUS,
            cfl: 0.4,
            max_dt: 2e-3,
            h_factor: 1.3,
            shape: Shape::WendlandC2,
        }
    }
}

/// Iterations of the last step's two solvers, and the density error reached.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DfsphStats {
    pub density_iterations: usize,
    pub divergence_iterations: usize,
    pub density_error: f64,
}

/// Incompressible fluid particles in a tank.
#[derive(Clone, Debug)]
pub struct Dfsph {
    pub fluid: Particles,
    /// Densities and DFSPH factors α at the current positions.
    pub rho: Vec<f64>,
    alpha: Vec<f64>,
    pub walls: Vec<[f64; 2]>,
    pub neighbours: Vec<u32>,
    pub tank: Tank,
    pub config: DfsphConfig,
    pub h: f64,
    pub kernel: Kernel,
    pub time: f64,
    pub last: DfsphStats,
    /// The pressure-like κ of the last constant-density solve (κ ρ is a pressure); the walls'
    /// pressure of the next step extrapolates it.
    pub kappa: Vec<f64>,
    /// The fluid's initial depth along gravity: sqrt(g depth) bounds the speeds its free
    /// surface develops, hence the step.
    pub depth: f64,
    /// The frame a step ended on, where the next one starts (the neighbour search was half of a
    /// step's time when each step made both).
    frame: Option<Frame>,
}

/// The particles of one configuration (fluid then walls) and every fluid particle's neighbours
/// in it, with the kernel gradient and distance of each pair: the solves sweep the
/// neighbourhoods a dozen times or more per step, and looking them up in the cell list each time
/// dominated the step.
#[derive(Clone, Debug)]
struct Frame {
    all: Vec<[f64; 2]>,
    /// The pairs of fluid particles `k·FRAME_CHUNK..(k + 1)·FRAME_CHUNK` in chunk k (made in
    /// parallel, a chunk at a time: one allocation per chunk rather than per particle).
    chunks: Vec<FrameChunk>,
}

/// Fluid particles per [`FrameChunk`].
const FRAME_CHUNK: usize = 256;

/// The i-th particle of a chunk has the pairs `start[i]..start[i + 1]`, and the density, DFSPH
/// factor and neighbour count `factors[i]` (summed while its pairs are still in cache: a pass
/// of its own over the frame was a tenth of a step).
#[derive(Clone, Debug)]
struct FrameChunk {
    start: Vec<u32>,
    pairs: Vec<Pair>,
    factors: Vec<(f64, f64, u32)>,
}

impl Frame {
    /// Whether this frame was made for these fluid and wall positions.
    fn holds(&self, fluid: &[[f64; 2]], walls: &[[f64; 2]]) -> bool {
        let n = fluid.len();
        self.all.len() == n + walls.len() && self.all[..n] == *fluid && self.all[n..] == *walls
    }
}

/// A neighbour j of a fluid particle i: ∇_i W_ij and |x_i − x_j|.
#[derive(Clone, Copy, Debug)]
struct Pair {
    j: u32,
    grad: [f64; 2],
    r: f64,
}

impl Dfsph {
    pub fn new(
        tank: Tank,
        positions: Vec<[f64; 2]>,
        config: DfsphConfig,
    ) -> Result<Self, SphError> {
        if !(config.rho0 > 0.0 && config.tolerance > 0.0 && config.h_factor >= 1.0) {
            return Err(SphError::Setup("ρ0 and the tolerance must be positive and h ≥ dx".into()));
        }
        let (kernel, h) = kernel_for(&tank, &positions, config.shape, config.h_factor)?;
        let walls = tank.walls();
        let n = positions.len();
        // The mass that gives a particle inside the lattice exactly ρ0 by summation (ρ0 dx²
        // would give about 1% more, which the solver would first have to push apart).
        let range = (kernel.support(h) / tank.dx).ceil() as i32;
        let lattice: f64 = (-range..=range)
            .flat_map(|i| (-range..=range).map(move |j| (i, j)))
            .map(|(i, j)| kernel.w(f64::from(i).hypot(f64::from(j)) * tank.dx, h))
            .sum();
        let mut sph = Self {
            fluid: Particles::at_rest(positions, config.rho0 / lattice),
            rho: vec![config.rho0; n],
            alpha: vec![0.0; n],
            walls,
            neighbours: vec![0; n],
            tank,
            config,
            h,
            kernel,
            time: 0.0,
            last: DfsphStats::default(),
            kappa: vec![0.0; n],
            depth: 0.0,
            frame: None,
        };
        let frame = sph.frame(None);
        sph.densities_and_factors(&frame);
        sph.kappa = released_kappa(&sph.fluid.x, &sph.neighbours, config.gravity, sph.tank.dx);
        sph.depth = depth(&sph.fluid.x, config.gravity, sph.tank.dx);
        Ok(sph)
    }

    /// The frame of the current positions, in the memory of `recycled` where given (a frame is
    /// megabytes; allocating and freeing one each step cost page faults).
    fn frame(&self, recycled: Option<Frame>) -> Frame {
        let Frame { mut all, mut chunks } =
            recycled.unwrap_or(Frame { all: Vec::new(), chunks: Vec::new() });
        all.clear();
        all.extend_from_slice(&self.fluid.x);
        all.extend_from_slice(&self.walls);
        let (radius, kernel) = (self.kernel.support(self.h), self.kernel.at(self.h));
        let list = cell_list(&self.tank, radius, &all);
        let n = self.fluid.len();
        chunks.resize_with(n.div_ceil(FRAME_CHUNK), || FrameChunk {
            start: Vec::with_capacity(FRAME_CHUNK + 1),
            pairs: Vec::with_capacity(FRAME_CHUNK * 32),
            factors: Vec::with_capacity(FRAME_CHUNK),
        });
        for_each_chunk_mut(&mut chunks, 1, |k, chunk| {
            let chunk = &mut chunk[0];
            chunk.start.clear();
            chunk.pairs.clear();
            chunk.factors.clear();
            chunk.start.push(0);
            for i in k * FRAME_CHUNK..n.min((k + 1) * FRAME_CHUNK) {
                let first = chunk.pairs.len();
                list.for_each_neighbour(&all, i, radius, |j, d, r| {
                    let s = kernel.grad_over_r(r);
                    chunk.pairs.push(Pair { j: j as u32, grad: [s * d[0], s * d[1]], r });
                });
                chunk.start.push(chunk.pairs.len() as u32);
                chunk.factors.push(self.factors_of(&kernel, &chunk.pairs[first..]));
            }
        });
        Frame { all, chunks }
    }

    /// Mass of neighbour j (fluid or wall alike).
    fn mass_of(&self, _j: usize) -> f64 {
        self.fluid.mass
    }

    /// ∑ over neighbours of particle i: f(j, ∇_i W_ij, r).
    fn around(&self, frame: &Frame, i: usize, mut f: impl FnMut(usize, [f64; 2], f64)) {
        let (chunk, k) = (&frame.chunks[i / FRAME_CHUNK], i % FRAME_CHUNK);
        for pair in &chunk.pairs[chunk.start[k] as usize..chunk.start[k + 1] as usize] {
            f(pair.j as usize, pair.grad, pair.r);
        }
    }

    /// ρ_i by summation, the DFSPH factor α_i and the neighbour count, from i's `pairs`.
    fn factors_of(&self, kernel: &KernelAt, pairs: &[Pair]) -> (f64, f64, u32) {
        let n = self.fluid.len();
        let mut rho = self.fluid.mass * kernel.w(0.0);
        // ∑ m ∇W over fluid and over walls, and ∑ |m ∇W|² over fluid neighbours: the response
        // of particle i's density change to its own κ (walls push with 2κ_i).
        let (mut fluid, mut wall, mut squares) = ([0.0; 2], [0.0; 2], 0.0);
        for pair in pairs {
            let (j, grad) = (pair.j as usize, pair.grad);
            let m = self.mass_of(j);
            rho += m * kernel.w(pair.r);
            let sum = if j < n { &mut fluid } else { &mut wall };
            sum[0] += m * grad[0];
            sum[1] += m * grad[1];
            if j < n {
                squares += m * m * (grad[0] * grad[0] + grad[1] * grad[1]);
            }
        }
        let all = [fluid[0] + wall[0], fluid[1] + wall[1]];
        let pushed = [fluid[0] + 2.0 * wall[0], fluid[1] + 2.0 * wall[1]];
        let denominator = all[0] * pushed[0] + all[1] * pushed[1] + squares;
        let alpha = if denominator > 1e-9 * rho * rho { rho / denominator } else { 0.0 };
        (rho, alpha, pairs.len() as u32)
    }

    /// The densities, factors and neighbour counts of `frame`'s positions.
    fn densities_and_factors(&mut self, frame: &Frame) {
        let factors = frame.chunks.iter().flat_map(|c| &c.factors);
        self.rho = factors.clone().map(|f| f.0).collect();
        self.alpha = factors.clone().map(|f| f.1).collect();
        self.neighbours = factors.map(|f| f.2).collect();
    }

    /// Dρ/Dt of every fluid particle for velocities `v` (walls at rest).
    fn density_change(&self, frame: &Frame, v: &[[f64; 2]]) -> Vec<f64> {
        let n = self.fluid.len();
        map_particles(n, |i| {
            let mut change = 0.0;
            self.around(frame, i, |j, grad, _| {
                let vj = if j < n { v[j] } else { [0.0; 2] };
                change +=
                    self.mass_of(j) * ((v[i][0] - vj[0]) * grad[0] + (v[i][1] - vj[1]) * grad[1]);
            });
            change
        })
    }

    /// What a wall particle at x_i − `d` adds to the κ_i it mirrors: the hydrostatic difference
    /// g·(x_wall − x_i), no lower than what makes its κ zero (above the fluid's surface), with
    /// the last solve's κ_i.
    fn wall_hydrostatic(&self, i: usize, d: [f64; 2]) -> f64 {
        let g = self.config.gravity;
        let k = self.kappa[i];
        (k - g[0] * d[0] - g[1] * d[1]).max(0.0) - k
    }

    /// v_i −= dt ∑_j m_j (κ_i/ρ_i + κ_j/ρ_j) ∇W_ij, a wall particle mirroring κ_i/ρ_i (so a
    /// fluid at uniform pressure feels no net force next to a wall).
    fn apply_kappa(&self, frame: &Frame, kappa: &[f64], dt: f64, v: &mut [[f64; 2]]) {
        let n = self.fluid.len();
        let per_rho: Vec<f64> = kappa.iter().zip(&self.rho).map(|(k, r)| k / r).collect();
        let kick = map_particles(n, |i| {
            let ki = per_rho[i];
            let mut dv = [0.0; 2];
            self.around(frame, i, |j, grad, _| {
                let k = if j < n { ki + per_rho[j] } else { 2.0 * ki };
                let s = self.mass_of(j) * k;
                dv[0] += s * grad[0];
                dv[1] += s * grad[1];
            });
            dv
        });
        for (v, dv) in v.iter_mut().zip(kick) {
            v[0] -= dt * dv[0];
            v[1] -= dt * dv[1];
        }
    }

    /// Corrects `v` so that the densities predicted one step ahead stay at ρ0: on average within
    /// the tolerance (compression counts, expansion does not), and nowhere compressed by more
    /// than [`WORST_TOLERANCES`] tolerances. Starts from zero κ; returns the iterations and the
    /// error reached, and keeps κ (the pressure field).
    ///
    /// The relaxed Jacobi sweeps are accelerated by Chebyshev's semi-iteration (Golub & Varga
    /// 1961; Wang 2015 for constrained solves): each step is ω_k times the sweep's plus ω_k − 1
    /// times the previous step, with [`Chebyshev`]'s weights. A plain sweep barely moves the
    /// deep, smooth modes (a column's hydrostatic pressure), which took a 142-deep column 9–10
    /// sweeps a step and a tank 48 deep 39; accelerated, 3.5 and 12. Once converged, one plain
    /// sweep from the last deviation smooths what the accelerated steps leave rough (without it
    /// a tank at rest jittered at up to 0.1 m/s).
    fn correct_density(&mut self, frame: &Frame, v: &mut [[f64; 2]], dt: f64) -> (usize, f64) {
        let (rho0, tolerance) = (self.config.rho0, self.config.tolerance);
        let n = self.fluid.len();
        let mut total = vec![0.0; n];
        let mut previous = vec![0.0; n];
        let mut error = 0.0;
        let mut weights = Chebyshev::new(self.config.spectral_radius);
        for iteration in 0..self.config.max_iterations {
            let change = self.density_change(frame, v);
            let deviation: Vec<f64> =
                self.rho.iter().zip(&change).map(|(r, c)| r + dt * c - rho0).collect();
            error = deviation.iter().map(|d| d.max(0.0)).sum::<f64>() / (rho0 * n as f64);
            let worst = deviation.iter().fold(0.0f64, |m, d| m.max(*d)) / rho0;
            let converged =
                error <= tolerance && worst <= WORST_TOLERANCES * tolerance && iteration > 0;
            let w = if converged { 1.0 } else { weights.next_weight() };
            // κ raised where compressed, lowered where expanded, never below zero.
            let step: Vec<f64> = (0..n)
                .map(|i| {
                    let sweep = OMEGA * deviation[i] / (dt * dt) * self.alpha[i];
                    (w * sweep + (w - 1.0) * previous[i]).max(-total[i])
                })
                .collect();
            total.iter_mut().zip(&step).for_each(|(t, k)| *t += k);
            self.apply_kappa(frame, &step, dt, v);
            if converged {
                self.kappa = total;
                return (iteration, error);
            }
            previous = step;
        }
        self.kappa = total;
        (self.config.max_iterations, error)
    }

    /// Removes the compressing part of the velocity divergence (free-surface particles, with
    /// few neighbours, are left alone); returns the iterations.
    fn correct_divergence(&self, frame: &Frame, v: &mut [[f64; 2]], dt: f64) -> usize {
        let rho0 = self.config.rho0;
        for iteration in 1..=self.config.max_iterations {
            let change: Vec<f64> = self
                .density_change(frame, v)
                .iter()
                .zip(&self.neighbours)
                .map(|(c, &count)| if count < SURFACE_NEIGHBOURS { 0.0 } else { c.max(0.0) })
                .collect();
            let error = change.iter().sum::<f64>() * dt / (rho0 * change.len() as f64);
            if error <= self.config.tolerance && iteration > 1 {
                return iteration - 1;
            }
            let kappa: Vec<f64> = change.iter().zip(&self.alpha).map(|(c, a)| c / dt * a).collect();
            self.apply_kappa(frame, &kappa, dt, v);
        }
        self.config.max_iterations
    }

    /// The CFL step for the current speeds, or for the speed sqrt(g depth) that a free
    /// surface develops where that is more (a released column's toe accelerates at once), and
    /// within the explicit viscosity's limit h²/(12ν) (at Morris et al. 1997's h²/(8ν), fluid at
    /// rest went unstable at ν = 8e-3 m²/s and 48 particles over 0.4 m).
    pub fn stable_dt(&self) -> f64 {
        let g = self.config.gravity[0].hypot(self.config.gravity[1]);
        let speed = self.fluid.max_speed().max((g * self.depth.max(self.h)).sqrt());
        let viscous = self.h * self.h / 12.0 / self.config.viscosity.max(f64::MIN_POSITIVE);
        (self.config.cfl * self.h / speed).min(self.config.max_dt).min(viscous)
    }

    /// One step of `dt`.
    pub fn step(&mut self, dt: f64) -> Result<DfsphStats, SphError> {
        let frame = match self.frame.take() {
            Some(frame) if frame.holds(&self.fluid.x, &self.walls) => frame,
            stale => self.frame(stale),
        };
        let n = self.fluid.len();
        let (g, nu, h) = (self.config.gravity, self.config.viscosity, self.h);
        // Gravity, viscosity (walls at rest: no-slip) and the hydrostatic part of the walls'
        // pressure, which the solves' mirrored κ_i leaves out.
        let accelerations = map_particles(n, |i| {
            let mut a = g;
            let v = &self.fluid.v;
            self.around(&frame, i, |j, grad, r| {
                let (v_j, rho_j) =
                    if j < n { (v[j], self.rho[j]) } else { ([0.0; 2], self.rho[i]) };
                let d = [frame.all[i][0] - frame.all[j][0], frame.all[i][1] - frame.all[j][1]];
                let v_ij = [v[i][0] - v_j[0], v[i][1] - v_j[1]];
                let mut s = 8.0 * nu * self.fluid.mass / rho_j * (v_ij[0] * d[0] + v_ij[1] * d[1])
                    / (r * r + 0.01 * h * h);
                if j >= n {
                    s -= self.fluid.mass / self.rho[i] * self.wall_hydrostatic(i, d);
                }
                a[0] += s * grad[0];
                a[1] += s * grad[1];
            });
            a
        });
        let mut v: Vec<[f64; 2]> = self
            .fluid
            .v
            .iter()
            .zip(&accelerations)
            .map(|(v, a)| [v[0] + dt * a[0], v[1] + dt * a[1]])
            .collect();
        let (density_iterations, density_error) = self.correct_density(&frame, &mut v, dt);
        for (x, v) in self.fluid.x.iter_mut().zip(&v) {
            x[0] += dt * v[0];
            x[1] += dt * v[1];
        }
        let frame = self.frame(Some(frame));
        self.densities_and_factors(&frame);
        let divergence_iterations = self.correct_divergence(&frame, &mut v, dt);
        self.frame = Some(frame);
        self.fluid.v = v;
        self.time += dt;
        if let Some(bad) = self.fluid.non_finite() {
            return Err(SphError::Diverged("position or velocity", bad, self.time));
        }
        if let escaped @ 1.. = self.fluid.escaped(&self.tank) {
            return Err(SphError::Escaped(escaped, self.time));
        }
        self.last = DfsphStats { density_iterations, divergence_iterations, density_error };
        Ok(self.last)
    }

    /// Mean |ρ − ρ0| / ρ0 over particles with a full neighbourhood (the free surface's
    /// truncated sums left out).
    pub fn density_error(&self) -> f64 {
        let rho0 = self.config.rho0;
        let full: Vec<f64> = self
            .rho
            .iter()
            .zip(&self.neighbours)
            .filter(|(_, &c)| c >= SURFACE_NEIGHBOURS)
            .map(|(r, _)| (r - rho0).abs() / rho0)
            .collect();
        full.iter().sum::<f64>() / full.len().max(1) as f64
    }

    /// Pressures κ ρ of the last constant-density solve.
    pub fn pressures(&self) -> Vec<f64> {
        self.kappa.iter().zip(&self.rho).map(|(k, r)| k * r).collect()
    }
}

/// Heights along −`gravity` and strips across it, one spacing wide.
fn heights_and_strips(x: &[[f64; 2]], gravity: [f64; 2], dx: f64) -> Vec<(f64, i64)> {
    let g = gravity[0].hypot(gravity[1]).max(f64::MIN_POSITIVE);
    let up = [-gravity[0] / g, -gravity[1] / g];
    x.iter()
        .map(|p| (p[0] * up[0] + p[1] * up[1], ((p[0] * up[1] - p[1] * up[0]) / dx).floor() as i64))
        .collect()
}

/// The fluid's extent along gravity, one spacing included.
fn depth(x: &[[f64; 2]], gravity: [f64; 2], dx: f64) -> f64 {
    let heights = heights_and_strips(x, gravity, dx);
    let (lo, hi) = heights
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), (height, _)| (lo.min(*height), hi.max(*height)));
    if heights.is_empty() {
        0.0
    } else {
        hi - lo + dx
    }
}

/// An estimate of κ = p/ρ in fluid just released at rest: hydrostatic, |g| times the depth below
/// the top of its strip, but no more than |g| times the distance to the nearest free-surface
/// particle (the pressure vanishes on every free side).
fn released_kappa(x: &[[f64; 2]], neighbours: &[u32], gravity: [f64; 2], dx: f64) -> Vec<f64> {
    let g = gravity[0].hypot(gravity[1]);
    let heights = heights_and_strips(x, gravity, dx);
    let mut top = std::collections::HashMap::new();
    for (height, strip) in &heights {
        let h = top.entry(*strip).or_insert(f64::MIN);
        *h = height.max(*h);
    }
    let surface: Vec<[f64; 2]> = x
        .iter()
        .zip(neighbours)
        .filter(|(_, &c)| c < SURFACE_NEIGHBOURS)
        .map(|(p, _)| *p)
        .collect();
    // Every particle against every surface particle: a one-off at set-up, spread over the cores.
    map_particles(x.len(), |i| {
        let (p, (height, strip)) = (x[i], heights[i]);
        let depth = top[&strip] - height + 0.5 * dx;
        let side =
            surface.iter().map(|s| (s[0] - p[0]).hypot(s[1] - p[1])).fold(f64::MAX, f64::min);
        g * depth.min(side)
    })
}
