//! The control room: differentiable simulators and the controllers trained through them by
//! backpropagation through time (BPTT), after "Stabilizing Backpropagation Through Time to
//! Learn Complex Physics" (Schnell & Thuerey, ICLR 2024; tum-pbs/StableBPTT).
//!
//! - [`System`]: a simulator step and its adjoint (vector–Jacobian product), written by hand —
//!   the multi-pole [`CartPole`], [`Guidance`] by repulsion and [`Quantum`] control (a
//!   Crank–Nicolson Schrödinger step):
//!   the steps are a few dozen flops each, where a tape-based autodiff crate would spend more on
//!   bookkeeping than on the physics, and none of the Rust ones builds lean for wasm. Each
//!   adjoint is held to finite differences here and to PyTorch autograd of a twin in
//!   `training/bptt_twin.py`.
//! - [`Controller`]s: the tanh [`Mlp`] with its own backward pass, exported as a
//!   `flowscope-nn` MLP file, so the nn runtime (CPU or WGSL) runs a trained controller; and the
//!   quantum problem's small [`Cnn`] over the wave function.
//! - [`bptt`]: rollouts, the gradient modes F / P / S / C, clipping, Adam, and the [`Trainer`]
//!   the CLI's `flowscope train` and the page's control cases share.
//!
//! Everything is f64 (gradients through a chaotic rollout lose f32 within a few poles) and
//! deterministic: samples run in parallel, sums are taken in sample order.
//!
//! Never depends on the GPU, the nn room, cases or any front end.

pub mod bptt;
pub mod cartpole;
pub mod cnn;
pub mod guidance;
pub mod mlp;
pub mod quantum;

pub use bptt::{Clip, EpochStats, Mode, Trainer, TrainerSettings};
pub use cartpole::CartPole;
pub use cnn::Cnn;
pub use guidance::Guidance;
pub use mlp::Mlp;
pub use quantum::Quantum;

/// A controller network that [`bptt`] trains: all parameters in one flat vector, a forward
/// pass that records a tape, and per output the backward pass of a unit adjoint (the
/// pre-activation adjoints of its layers, then the input gradient), which the gradient modes
/// mix ([`Controller::accumulate`]) instead of running a backward pass each.
pub trait Controller: Clone + Send + Sync + Sized {
    /// A new network with `hidden` giving its hidden sizes, drawn from `rng`.
    fn create(
        inputs: usize,
        hidden: &[usize],
        outputs: usize,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> Result<Self, String>;
    /// Whether this network has the shape [`Controller::create`] would give; if not, why.
    fn fits(&self, inputs: usize, hidden: &[usize], outputs: usize) -> Result<(), String>;
    fn params(&self) -> &[f64];
    fn params_mut(&mut self) -> &mut [f64];
    fn inputs(&self) -> usize;
    fn outputs(&self) -> usize;
    fn tape_len(&self) -> usize;
    /// Runs the network on `input`; the output is the tape's last [`Controller::outputs`].
    fn forward_tape(&self, input: &[f64], tape: &mut [f64]);
    /// Numbers per output a [`Controller::unit_backward`] writes, the input gradient last.
    fn unit_len(&self) -> usize;
    fn unit_backward(&self, tape: &[f64], out: &mut [f64]);
    /// Adds Σ_n of the parameter gradient of `adjoints[n] · output_n` to `grad`.
    fn accumulate(&self, tapes: &[f64], units: &[f64], adjoints: &[f64], grad: &mut [f64]);
    /// The network as a safetensors file with `extra` in its metadata.
    fn to_safetensors(&self, extra: &serde_json::Value) -> Vec<u8>;
    /// Reads a file [`Controller::to_safetensors`] wrote: the network and its `extra`.
    fn from_safetensors(bytes: &[u8]) -> Result<(Self, serde_json::Value), String>;
}

impl Controller for Mlp {
    fn create(
        inputs: usize,
        hidden: &[usize],
        outputs: usize,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> Result<Self, String> {
        Ok(Mlp::new(&mlp_widths(inputs, hidden, outputs), rng))
    }

    fn fits(&self, inputs: usize, hidden: &[usize], outputs: usize) -> Result<(), String> {
        let widths = mlp_widths(inputs, hidden, outputs);
        if self.widths == widths {
            return Ok(());
        }
        Err(format!(
            "the controller's layers {:?} do not fit this problem, which needs {widths:?}",
            self.widths
        ))
    }

    fn params(&self) -> &[f64] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    fn inputs(&self) -> usize {
        Mlp::inputs(self)
    }

    fn outputs(&self) -> usize {
        Mlp::outputs(self)
    }

    fn tape_len(&self) -> usize {
        Mlp::tape_len(self)
    }

    fn forward_tape(&self, input: &[f64], tape: &mut [f64]) {
        Mlp::forward_tape(self, input, tape)
    }

    fn unit_len(&self) -> usize {
        Mlp::unit_len(self)
    }

    fn unit_backward(&self, tape: &[f64], out: &mut [f64]) {
        Mlp::unit_backward(self, tape, out)
    }

    fn accumulate(&self, tapes: &[f64], units: &[f64], adjoints: &[f64], grad: &mut [f64]) {
        Mlp::accumulate(self, tapes, units, adjoints, grad)
    }

    fn to_safetensors(&self, extra: &serde_json::Value) -> Vec<u8> {
        Mlp::to_safetensors(self, extra)
    }

    fn from_safetensors(bytes: &[u8]) -> Result<(Self, serde_json::Value), String> {
        Mlp::from_safetensors(bytes)
    }
}

fn mlp_widths(inputs: usize, hidden: &[usize], outputs: usize) -> Vec<usize> {
    let mut widths = vec![inputs];
    widths.extend(hidden);
    widths.push(outputs);
    widths
}

/// The CNN reads the state as (Re, Im) pairs; its one hidden size is the channel count.
impl Controller for Cnn {
    fn create(
        inputs: usize,
        hidden: &[usize],
        outputs: usize,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> Result<Self, String> {
        match hidden {
            [width] if inputs.is_multiple_of(2) => Cnn::new(inputs / 2, *width, outputs, rng),
            _ => Err(format!(
                "a CNN controller takes (Re, Im) pairs and one channel count, not {inputs} \
                 inputs and {hidden:?}"
            )),
        }
    }

    fn fits(&self, inputs: usize, hidden: &[usize], outputs: usize) -> Result<(), String> {
        if 2 * self.points == inputs && hidden == [self.width] && self.outputs == outputs {
            return Ok(());
        }
        Err(format!(
            "the controller ({} points, {} channels, {} outputs) does not fit this problem, \
             which needs {} points, {hidden:?} channels, {outputs} outputs",
            self.points,
            self.width,
            self.outputs,
            inputs / 2
        ))
    }

    fn params(&self) -> &[f64] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    fn inputs(&self) -> usize {
        Cnn::inputs(self)
    }

    fn outputs(&self) -> usize {
        self.outputs
    }

    fn tape_len(&self) -> usize {
        Cnn::tape_len(self)
    }

    fn forward_tape(&self, input: &[f64], tape: &mut [f64]) {
        Cnn::forward_tape(self, input, tape)
    }

    fn unit_len(&self) -> usize {
        Cnn::unit_len(self)
    }

    fn unit_backward(&self, tape: &[f64], out: &mut [f64]) {
        Cnn::unit_backward(self, tape, out)
    }

    fn accumulate(&self, tapes: &[f64], units: &[f64], adjoints: &[f64], grad: &mut [f64]) {
        Cnn::accumulate(self, tapes, units, adjoints, grad)
    }

    fn to_safetensors(&self, extra: &serde_json::Value) -> Vec<u8> {
        Cnn::to_safetensors(self, extra)
    }

    fn from_safetensors(bytes: &[u8]) -> Result<(Self, serde_json::Value), String> {
        Cnn::from_safetensors(bytes)
    }
}

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
