//! Solvers on periodic boxes.
//!
//! - [`fft`]: the 2D FFT, rustfft on the CPU and its WGSL twin (radix-2 Stockham passes,
//!   `shaders/spectral/fft.wgsl`), for spectral steps and spectra.
//! - [`heat`]: the 2D heat equation ∂T/∂t = D ∇²T, explicit (forward Euler) and implicit
//!   (backward Euler, Jacobi-iterated), as a CPU reference (`heat::cpu`) and its WGSL twin
//!   (`heat::gpu`, `shaders/spectral/heat.wgsl`).
//! - [`hw`]: the Hasegawa–Wakatani model of drift-wave turbulence (hw2d's discretisation), CPU
//!   reference (`hw::cpu`) and WGSL twin (`hw::gpu`, `shaders/spectral/hw.wgsl`), with the flux,
//!   energy and enstrophy statistics.
//!
//! Depends on flowscope-gpu for the device; never on leptos, web-sys or the CLI.

pub mod fft;
pub mod heat;
pub mod hw;
