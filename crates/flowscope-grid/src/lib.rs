//! Incompressible flow on a 2D staggered (MAC) grid, PhiFlow style: the module is the
//! operation, the function is the scheme.
//!
//! - [`grid`]: the MAC grid, per-side boundary conditions, staggered velocity.
//! - [`advect`]: `semi_lagrangian` and `mac_cormack` (velocity and cell-centred scalars), traced
//!   back by the midpoint rule or Euler ([`Integrator`]).
//! - [`confine`]: vorticity confinement.
//! - [`diffuse`]: `explicit` viscosity with sub-stepping at the stability limit, and
//!   `ImplicitViscosity` (backward Euler, one Helmholtz solve per component with the same MGPCG).
//! - [`fluid`]: `make_incompressible` (pressure projection) with [`pressure`]'s
//!   multigrid-preconditioned conjugate gradients.
//! - [`forces`]: drag and lift on obstacles from the face stresses.
//! - [`flow`]: one Navier–Stokes step by operator splitting, with CFL and divergence checks.
//!
//! - [`gpu`]: the WGSL twin of the whole step (`shaders/grid/`), in f32 on the shared device.
//!
//! The modules above are the CPU reference, in f64; the tests hold the twin to it.
//! Never depends on leptos, web-sys or the CLI.

pub mod advect;
pub mod confine;
pub mod diffuse;
pub mod flow;
pub mod fluid;
pub mod forces;
pub mod gpu;
pub mod grid;
pub mod pressure;

pub use advect::Integrator;
pub use diffuse::Viscosity;
pub use flow::{Advection, FlowError, IncompressibleFlow, ScalarForcing, StepStats};
pub use gpu::GpuFlow;
pub use grid::{Grid, Side, Sides, Velocity};
pub use pressure::{PressureSolver, SolveStats};
