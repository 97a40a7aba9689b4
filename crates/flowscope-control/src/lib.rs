//! The control room: differentiable simulators and the controllers trained through them by
//! backpropagation through time (BPTT), after "Stabilizing Backpropagation Through Time to
//! Learn Complex Physics" (Schnell & Thuerey, ICLR 2024; tum-pbs/StableBPTT).
//!
//! - [`System`]: a simulator step and its adjoint (vector–Jacobian product), written by hand —
//!   the multi-pole [`CartPole`] and [`Guidance`] by repulsion:
//!   the steps are a few dozen flops each, where a tape-based autodiff crate would spend more on
//!   bookkeeping than on the physics, and none of the Rust ones builds lean for wasm. Each
//!   adjoint is held to finite differences here and to PyTorch autograd of a twin in
//!   `training/bptt_twin.py`.
//! - [`Mlp`]: the tanh controller with its own backward pass; exported as a `flowscope-nn` MLP
//!   file, so the nn runtime (CPU or WGSL) runs a trained controller.
//! - [`bptt`]: rollouts, the gradient modes F / P / S / C, clipping, Adam, and the [`Trainer`]
//!   the CLI's `flowscope train` and the page's control cases share.
//!
//! Everything is f64 (gradients through a chaotic rollout lose f32 within a few poles) and
//! deterministic: samples run in parallel, sums are taken in sample order.
//!
//! Never depends on the GPU, the nn room, cases or any front end.

pub mod bptt;
pub mod cartpole;
pub mod guidance;
pub mod mlp;

pub use bptt::{Clip, EpochStats, Mode, Trainer, TrainerSettings};
pub use cartpole::CartPole;
pub use guidance::Guidance;
pub use mlp::Mlp;

/// A differentiable simulator: `steps()` applications of `step` from a start state, a scalar
/// loss on the final state, and the adjoints of both.
pub trait System: Sync {
    /// Numbers per state.
    fn state_len(&self) -> usize;
    /// Numbers per control.
    fn control_len(&self) -> usize;
    /// Time steps per rollout.
    fn steps(&self) -> usize;
    /// `next = step(state, control)`.
    fn step(&self, state: &[f64], control: &[f64], next: &mut [f64]);
    /// Given `next_adjoint` = ∂L/∂next, writes ∂L/∂state (through this step only) and
    /// ∂L/∂control.
    fn step_adjoint(
        &self,
        state: &[f64],
        control: &[f64],
        next_adjoint: &[f64],
        state_adjoint: &mut [f64],
        control_adjoint: &mut [f64],
    );
    /// `n` start states drawn as the published set-up draws them.
    fn starts(&self, n: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<f64>;
    /// The loss of one sample's final state.
    fn loss(&self, state: &[f64]) -> f64;
    /// ∂loss/∂state.
    fn loss_adjoint(&self, state: &[f64], adjoint: &mut [f64]);
    /// A loss on every state after the start, s_1 … s_N, added to the final one (none by
    /// default).
    fn step_loss(&self, _state: &[f64]) -> f64 {
        0.0
    }
    /// Adds ∂step_loss/∂state to `adjoint`.
    fn step_loss_adjoint(&self, _state: &[f64], _adjoint: &mut [f64]) {}
    /// A loss on every control u_0 … u_{N−1} (a regularisation; none by default).
    fn control_loss(&self, _control: &[f64]) -> f64 {
        0.0
    }
    /// Adds ∂control_loss/∂control to `adjoint`.
    fn control_loss_adjoint(&self, _control: &[f64], _adjoint: &mut [f64]) {}
}

/// The whole loss of a rollout: `states` s_0 … s_N and `controls` u_0 … u_{N−1}, flat.
pub fn rollout_loss(system: &impl System, states: &[f64], controls: &[f64]) -> f64 {
    let (s, u) = (system.state_len(), system.control_len());
    let steps = controls.len() / u;
    let running: f64 = (1..=steps).map(|n| system.step_loss(&states[n * s..(n + 1) * s])).sum();
    let control: f64 = controls.chunks_exact(u).map(|c| system.control_loss(c)).sum();
    system.loss(&states[steps * s..(steps + 1) * s]) + running + control
}
