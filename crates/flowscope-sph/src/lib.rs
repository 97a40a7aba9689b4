//! Smoothed particle hydrodynamics.
//!
//! - [`kernel`]: cubic spline and Wendland C2 kernels with their derivatives, 1D and 2D.
//! - [`neighbours`]: cell lists on a uniform grid of support-sized cells.
//! - [`gas1d`]: compressible 1D SPH (ideal gas with an energy equation, or barotropic),
//!   Monaghan's artificial viscosity, summation density, optional variable smoothing length,
//!   periodic or reflective ends, RK4 in time.
//! - [`riemann`]: the exact Riemann solution, the reference of the shock tube ([`sod`]).
//! - [`tank`]: fluid blocks and wall particles on a lattice (the 2D initial states).
//! - [`martin_moyce`]: the dam break's reference data.
//! - [`wcsph`]: weakly compressible 2D SPH (Tait, δ-SPH, Adami walls).
//! - [`swirl`]: a closed box of WCSPH fluid swirling from a random start (learned solvers' data).
//! - [`dfsph`]: incompressible 2D SPH (divergence-free SPH, lattice walls).
//!
//! - [`gpu`]: the WGSL twins of the WCSPH and DFSPH steps (`shaders/sph/`), with a
//!   counting-sort neighbour grid on the device, in f32.
//!
//! The modules above the GPU twin are the CPU reference, in f64. Never depends on leptos, web-sys or the CLI.

pub mod dfsph;
pub mod fluid2d;
pub mod gas1d;
pub mod gpu;
pub mod kernel;
pub mod martin_moyce;
pub mod neighbours;
pub mod riemann;
pub mod sod;
pub mod swirl;
pub mod tank;
pub mod wcsph;

pub use kernel::{Kernel, Shape};
pub use riemann::{Riemann, State};
