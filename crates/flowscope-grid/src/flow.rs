//! One incompressible Navier–Stokes step, ∂u/∂t + (u·∇)u = −∇p + ν∇²u, ∇·u = 0, by operator
//! splitting: advect, diffuse, make incompressible.

use crate::advect::Integrator;
use crate::diffuse::{ImplicitViscosity, Viscosity};
use crate::grid::{Grid, Velocity};
use crate::pressure::{PressureSolver, SolveStats};
use crate::{advect, diffuse, fluid};

/// Velocity advection scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advection {
    SemiLagrangian,
    MacCormack,
}

/// What one step did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepStats {
    pub dt: f64,
    /// max |u| dt / min(dx, dy) at the start of the step.
    pub cfl: f64,
    pub pressure: SolveStats,
    /// Explicit viscosity: forward-Euler sub-steps taken.
    pub diffusion_substeps: usize,
    /// Implicit viscosity: the harder of the two component solves.
    pub viscous: SolveStats,
    /// Explicit viscosity was asked for but would have needed more than
    /// [`diffuse::MAX_EXPLICIT_SUBSTEPS`] sub-steps: the step solved it implicitly.
    pub implicit_fallback: bool,
    /// Largest |∇·u| after the projection.
    pub max_divergence: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FlowError {
    #[error("the velocity became {0} at t = {1:.4}; reset and lower the time step or the Reynolds number")]
    Diverged(f64, f64),
    #[error("the GPU failed: {0}")]
    Gpu(String),
}

/// A passive scalar's (smoke's) forcing: a source and Boussinesq buoyancy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalarForcing {
    /// Scalar added per unit time, times each cell's source coverage.
    pub rate: f64,
    /// Upward acceleration of the fluid per unit scalar.
    pub buoyancy: f64,
}

/// A velocity field evolving on a grid.
#[derive(Clone)]
pub struct IncompressibleFlow {
    pub grid: Grid,
    pub velocity: Velocity,
    /// dt-scaled pressure of the last projection (physical pressure = phi / dt); warm start.
    pub phi: Vec<f64>,
    solver: PressureSolver,
    pub nu: f64,
    pub viscosity: Viscosity,
    /// The implicit viscosity's solvers, built at its first step.
    implicit: Option<ImplicitViscosity>,
    pub advection: Advection,
    /// How advection traces back (velocity and scalar).
    pub integrator: Integrator,
    /// Vorticity confinement strength ε (0: none).
    pub confinement: f64,
    pub time: f64,
    pub last: StepStats,
}

impl IncompressibleFlow {
    pub fn new(
        grid: Grid,
        velocity: Velocity,
        nu: f64,
        advection: Advection,
        tolerance: f64,
    ) -> Self {
        let solver = PressureSolver::new(&grid, tolerance);
        let mut flow = Self {
            phi: vec![0.0; grid.cells()],
            grid,
            velocity,
            solver,
            nu,
            viscosity: Viscosity::Explicit,
            implicit: None,
            advection,
            integrator: Integrator::Midpoint,
            confinement: 0.0,
            time: 0.0,
            last: StepStats::default(),
        };
        fluid::make_incompressible(&flow.grid, &mut flow.velocity, &mut flow.phi, &mut flow.solver);
        flow.phi.iter_mut().for_each(|p| *p = 0.0);
        flow
    }

    pub fn tolerance(&self) -> f64 {
        self.solver.tolerance
    }

    pub fn set_tolerance(&mut self, tolerance: f64) {
        self.solver.tolerance = tolerance;
        if let Some(implicit) = &mut self.implicit {
            implicit.u.solver.tolerance = tolerance;
            implicit.v.solver.tolerance = tolerance;
        }
    }

    /// The step that keeps the CFL number at `cfl` for the current velocity, or for
    /// `reference_speed` where the flow is slower (a flow at rest still needs a step).
    pub fn cfl_dt(&self, cfl: f64, reference_speed: f64) -> f64 {
        let h = self.grid.dx().min(self.grid.dy());
        cfl * h / self.velocity.max_abs().max(reference_speed)
    }

    pub fn step(&mut self, dt: f64) -> Result<StepStats, FlowError> {
        self.step_with_force(dt, |_, _| {})
    }

    /// A step with a body force: `force(grid, velocity)` adds its impulse (force × dt) after
    /// advection and viscosity, before the projection (e.g. Boussinesq buoyancy).
    pub fn step_with_force(
        &mut self,
        dt: f64,
        force: impl FnOnce(&Grid, &mut Velocity),
    ) -> Result<StepStats, FlowError> {
        let advected = self.advected(dt);
        self.finish_step(dt, advected, force)
    }

    /// The velocity carried by itself for `dt`.
    fn advected(&self, dt: f64) -> Velocity {
        let (grid, velocity, by) = (&self.grid, &self.velocity, self.integrator);
        match self.advection {
            Advection::SemiLagrangian => advect::semi_lagrangian(grid, velocity, dt, by),
            Advection::MacCormack => advect::mac_cormack(grid, velocity, dt, by),
        }
    }

    /// The rest of a step once the velocity is `advected`: viscosity, confinement, `force`,
    /// projection.
    fn finish_step(
        &mut self,
        dt: f64,
        advected: Velocity,
        force: impl FnOnce(&Grid, &mut Velocity),
    ) -> Result<StepStats, FlowError> {
        let h = self.grid.dx().min(self.grid.dy());
        let cfl = self.velocity.max_abs() * dt / h;
        self.velocity = advected;
        let (mut diffusion_substeps, mut viscous) = (0, SolveStats::default());
        let viscosity = self.viscosity.for_step(&self.grid, self.nu, dt);
        match viscosity {
            Viscosity::Explicit => {
                diffusion_substeps = diffuse::explicit(&self.grid, &mut self.velocity, self.nu, dt)
            }
            Viscosity::Implicit => {
                let tolerance = self.solver.tolerance;
                let implicit = self
                    .implicit
                    .get_or_insert_with(|| ImplicitViscosity::new(&self.grid, tolerance));
                viscous = implicit.step(&self.grid, &mut self.velocity, self.nu, dt);
            }
        }
        crate::confine::vorticity_confinement(&self.grid, &mut self.velocity, self.confinement, dt);
        force(&self.grid, &mut self.velocity);
        let pressure = fluid::make_incompressible(
            &self.grid,
            &mut self.velocity,
            &mut self.phi,
            &mut self.solver,
        );
        self.time += dt;
        if let Some(bad) = self.velocity.u.iter().chain(&self.velocity.v).find(|v| !v.is_finite()) {
            return Err(FlowError::Diverged(*bad, self.time));
        }
        let max_divergence =
            self.velocity.divergence(&self.grid).iter().fold(0.0f64, |m, d| m.max(d.abs()));
        let implicit_fallback = viscosity != self.viscosity;
        self.last = StepStats {
            dt,
            cfl,
            pressure,
            diffusion_substeps,
            viscous,
            implicit_fallback,
            max_divergence,
        };
        Ok(self.last)
    }

    /// A step that carries a passive scalar: MacCormack transport by the current velocity, the
    /// source (`source` is each cell's coverage, 0 to 1), then the velocity step with the
    /// buoyancy of the new scalar on the interior y-faces.
    pub fn step_with_scalar(
        &mut self,
        dt: f64,
        scalar: &mut Vec<f64>,
        source: &[f64],
        forcing: ScalarForcing,
    ) -> Result<StepStats, FlowError> {
        // Both transports read only the velocity at the start of the step: they run together,
        // which also spares the thread pool a wake-up.
        let (grid, velocity, by) = (&self.grid, &self.velocity, self.integrator);
        let (transported, advected) = flowscope_parallel::join(
            || advect::scalar_mac_cormack(grid, scalar, velocity, dt, by),
            || self.advected(dt),
        );
        *scalar = transported;
        for (s, coverage) in scalar.iter_mut().zip(source) {
            *s += forcing.rate * dt * coverage;
        }
        let push = forcing.buoyancy * dt;
        self.finish_step(dt, advected, |grid, velocity| {
            let nx = grid.nx;
            for j in 1..grid.ny {
                for i in 0..nx {
                    let s = 0.5 * (scalar[(j - 1) * nx + i] + scalar[j * nx + i]);
                    velocity.v[j * nx + i] += push * s;
                }
            }
        })
    }

    /// ½ ∫ |u|² over the domain, from cell-centred velocities.
    pub fn kinetic_energy(&self) -> f64 {
        let (ux, uy) = self.velocity.centred(&self.grid);
        let cell = self.grid.dx() * self.grid.dy();
        0.5 * cell * ux.iter().zip(&uy).map(|(a, b)| a * a + b * b).sum::<f64>()
    }

    /// Physical pressure p = phi / dt of the last step (zero before the first).
    pub fn pressure(&self) -> Vec<f64> {
        let dt = self.last.dt;
        self.phi.iter().map(|p| if dt > 0.0 { p / dt } else { 0.0 }).collect()
    }

    /// u along the vertical line x = `x` at the face-centre heights, as `(y, u)` pairs,
    /// interpolated linearly between the two nearest face columns.
    pub fn u_profile_at_x(&self, x: f64) -> Vec<(f64, f64)> {
        let (nx, dx, dy) = (self.grid.nx, self.grid.dx(), self.grid.dy());
        let fx = (x / dx).clamp(0.0, nx as f64);
        let i0 = (fx.floor() as usize).min(nx - 1);
        let t = fx - i0 as f64;
        (0..self.grid.ny)
            .map(|j| {
                let row = j * (nx + 1);
                let u = self.velocity.u[row + i0] * (1.0 - t) + self.velocity.u[row + i0 + 1] * t;
                ((j as f64 + 0.5) * dy, u)
            })
            .collect()
    }

    /// v along the horizontal line y = `y`, as `(x, v)` pairs at the face-centre abscissae.
    pub fn v_profile_at_y(&self, y: f64) -> Vec<(f64, f64)> {
        let (nx, ny, dx, dy) = (self.grid.nx, self.grid.ny, self.grid.dx(), self.grid.dy());
        let fy = (y / dy).clamp(0.0, ny as f64);
        let j0 = (fy.floor() as usize).min(ny - 1);
        let t = fy - j0 as f64;
        (0..nx)
            .map(|i| {
                let v = self.velocity.v[j0 * nx + i] * (1.0 - t)
                    + self.velocity.v[(j0 + 1) * nx + i] * t;
                ((i as f64 + 0.5) * dx, v)
            })
            .collect()
    }
}

/// Linear interpolation in a profile of `(position, value)` pairs sorted by position, with the
/// boundary value `edge` at positions 0 and `length` outside the sampled range.
pub fn interpolate(profile: &[(f64, f64)], at: f64, length: f64, edges: (f64, f64)) -> f64 {
    let mut points = vec![(0.0, edges.0)];
    points.extend_from_slice(profile);
    points.push((length, edges.1));
    let k = points.partition_point(|(p, _)| *p < at).clamp(1, points.len() - 1);
    let ((p0, v0), (p1, v1)) = (points[k - 1], points[k]);
    v0 + (v1 - v0) * (at - p0) / (p1 - p0)
}
