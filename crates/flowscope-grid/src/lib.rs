//! Incompressible flow on a 2D staggered (MAC) grid, PhiFlow style: the module is the
//! operation, the function is the scheme.
//!
//! - [`grid`]: the MAC grid, per-side boundary conditions, staggered velocity.
//! - [`advect`]: `semi_lagrangian` and `mac_cormack` (velocity and cell-centred scalars).
//! - [`diffuse`]: `explicit` viscosity with sub-stepping at the stability limit.
//! - [`fluid`]: `make_incompressible` (pressure projection) with [`pressure`]'s
//!   multigrid-preconditioned conjugate gradients.
//! - [`forces`]: drag and lift on obstacles from the face stresses.
//! - [`flow`]: one Navier–Stokes step by operator splitting, with CFL and divergence checks.
//!
//! This is the CPU reference, in f64. The WGSL twin is not written yet.
//! Never depends on wgpu, leptos, web-sys or the CLI.

pub mod advect;
pub mod diffuse;
pub mod flow;
pub mod fluid;
pub mod forces;
pub mod grid;
pub mod pressure;

pub use flow::{Advection, FlowError, IncompressibleFlow, StepStats};
pub use grid::{Grid, Side, Sides, Velocity};
pub use pressure::{PressureSolver, SolveStats};
