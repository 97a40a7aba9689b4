//! Backpropagation through time with the stabilized-BPTT gradient modes.
//!
//! A rollout runs `u_n = π_θ(s_n)`, `s_{n+1} = step(s_n, u_n)`; the loss is the mean over the
//! batch of each sample's final-state loss. Going back in time, the adjoint of s_n collects two
//! paths: through the physics (∂step/∂s) and through the controller (∂π/∂s · ∂step/∂u). The
//! modes keep some of them, as the reference's `stop_gradient`s do:
//! - F (full): both paths — the true gradient, which explodes or turns to noise on chaotic
//!   systems;
//! - P (physics): the controller sees a stopped state, only the physics path carries back;
//! - S (stopped): neither, each force is judged by the next state alone;
//! - C (combined): g_P where its sign agrees with g_F's, else 0 — the paper's update.

use crate::{Controller, Mlp, System};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Full,
    Physics,
    Stopped,
    Combined,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Full, Mode::Physics, Mode::Stopped, Mode::Combined];

    /// The paper's letter: F, P, S or C.
    pub fn letter(self) -> &'static str {
        match self {
            Mode::Full => "F",
            Mode::Physics => "P",
            Mode::Stopped => "S",
            Mode::Combined => "C",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.letter().eq_ignore_ascii_case(text))
            .ok_or_else(|| format!("gradient mode '{text}' is not one of F, P, S, C"))
    }
}

/// Gradient clipping before the optimizer, as Keras' `clipvalue` and `global_clipnorm`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Clip {
    None,
    /// Every component into [−c, c].
    Value(f64),
    /// The whole gradient scaled to norm ≤ c.
    Norm(f64),
}

impl Clip {
    pub fn name(self) -> &'static str {
        match self {
            Clip::None => "none",
            Clip::Value(_) => "value",
            Clip::Norm(_) => "norm",
        }
    }

    /// `none`, `value` or `norm`, with the reference's threshold 1.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Ok(Clip::None),
            "value" => Ok(Clip::Value(1.0)),
            "norm" => Ok(Clip::Norm(1.0)),
            _ => Err(format!("clipping '{text}' is not one of none, value, norm")),
        }
    }

    pub fn apply(self, grad: &mut [f64]) {
        match self {
            Clip::None => {}
            Clip::Value(c) => grad.iter_mut().for_each(|g| *g = g.clamp(-c, c)),
            Clip::Norm(c) => {
                let norm = norm(grad);
                if norm > c {
                    grad.iter_mut().for_each(|g| *g *= c / norm);
                }
            }
        }
    }
}

pub fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// The cosine between two gradients (0 where one vanishes).
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / (na * nb)
}

fn sign(x: f64) -> i8 {
    if x > 0.0 {
        1
    } else if x < 0.0 {
        -1
    } else {
        0
    }
}

/// The C update: `physics` where its sign agrees with `full`'s, else 0.
pub fn combine(physics: &[f64], full: &[f64]) -> Vec<f64> {
    physics.iter().zip(full).map(|(&p, &f)| if sign(p) == sign(f) { p } else { 0.0 }).collect()
}

/// Adam (Kingma & Ba) as `torch.optim.Adam` computes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    pub fn new(lr: f64, parameters: usize) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            m: vec![0.0; parameters],
            v: vec![0.0; parameters],
            t: 0,
        }
    }

    pub fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        self.t += 1;
        let (c1, c2) = (1.0 - self.beta1.powi(self.t), 1.0 - self.beta2.powi(self.t));
        for (((p, &g), m), v) in params.iter_mut().zip(grad).zip(&mut self.m).zip(&mut self.v) {
            *m = self.beta1 * *m + (1.0 - self.beta1) * g;
            *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
            *p -= self.lr * (*m / c1) / ((*v / c2).sqrt() + self.eps);
        }
    }
}

/// Which adjoint paths a backward pass keeps.
#[derive(Clone, Copy)]
struct Flow {
    physics: bool,
    control: bool,
}

const FULL: Flow = Flow { physics: true, control: true };
const PHYSICS: Flow = Flow { physics: true, control: false };
const STOPPED: Flow = Flow { physics: false, control: false };

/// One rollout: the states `s_0..=s_N` and the controls `u_0..u_{N−1}`, flat.
pub struct Rollout {
    pub states: Vec<f64>,
    pub controls: Vec<f64>,
}

/// Runs the controller and the system from `start` (no gradients).
pub fn rollout(system: &impl System, controller: &impl Controller, start: &[f64]) -> Rollout {
    let (s, u) = (system.state_len(), system.control_len());
    let mut states = start.to_vec();
    let mut controls = Vec::with_capacity(system.steps() * u);
    let mut tape = vec![0.0; controller.tape_len()];
    let mut next = vec![0.0; s];
    for n in 0..system.steps() {
        controller.forward_tape(&states[n * s..(n + 1) * s], &mut tape);
        let control = &tape[tape.len() - u..];
        system.step(&states[n * s..(n + 1) * s], control, &mut next);
        controls.extend_from_slice(control);
        states.extend_from_slice(&next);
    }
    Rollout { states, controls }
}

/// One sample's loss and its gradient under each flow. The forward pass records every step's
/// activations and the controller's unit adjoints; each flow then runs the adjoint back in time
/// (cheap: the physics and the recorded input gradients) and forms its parameter gradient from
/// the unit adjoints in one pass over the steps.
fn sample_gradients(
    system: &impl System,
    controller: &impl Controller,
    start: &[f64],
    flows: &[Flow],
) -> (f64, Vec<Vec<f64>>) {
    let (s, u, t) = (system.state_len(), system.control_len(), controller.tape_len());
    let ul = controller.unit_len();
    let inputs = controller.inputs();
    let steps = system.steps();
    let mut states = start.to_vec();
    states.resize((steps + 1) * s, 0.0);
    let mut tapes = vec![0.0; steps * t];
    let mut units = vec![0.0; steps * u * ul];
    for n in 0..steps {
        let (done, rest) = states.split_at_mut((n + 1) * s);
        let tape = &mut tapes[n * t..(n + 1) * t];
        controller.forward_tape(&done[n * s..], tape);
        controller.unit_backward(tape, &mut units[n * u * ul..(n + 1) * u * ul]);
        system.step(&done[n * s..], &tape[t - u..], &mut rest[..s]);
    }
    let controls: Vec<f64> =
        tapes.chunks_exact(t).flat_map(|tape| tape[t - u..].to_vec()).collect();
    let loss = crate::rollout_loss(system, &states, &controls);
    let last = &states[steps * s..];
    let grads = flows
        .iter()
        .map(|flow| {
            let mut adjoints = vec![0.0; steps * u];
            // The adjoint of s_{n+1}: what flowed back to it plus its own loss's gradient.
            let mut adjoint = vec![0.0; s];
            system.loss_adjoint(last, &mut adjoint);
            let mut physics = vec![0.0; s];
            for n in (0..steps).rev() {
                let next = &states[(n + 1) * s..(n + 2) * s];
                system.step_loss_adjoint(next, &mut adjoint);
                let (state, control) = (&states[n * s..(n + 1) * s], &controls[n * u..(n + 1) * u]);
                let mu = &mut adjoints[n * u..(n + 1) * u];
                system.step_adjoint(state, control, &adjoint, &mut physics, mu);
                system.control_loss_adjoint(control, mu);
                for (k, a) in adjoint.iter_mut().enumerate() {
                    *a = if flow.physics { physics[k] } else { 0.0 };
                }
                if flow.control {
                    for (k, &m) in mu.iter().enumerate() {
                        let gradient = &units[(n * u + k) * ul + ul - inputs..][..inputs];
                        adjoint.iter_mut().zip(gradient).for_each(|(a, g)| *a += m * g);
                    }
                }
            }
            let mut grad = vec![0.0; controller.params().len()];
            controller.accumulate(&tapes, &units, &adjoints, &mut grad);
            grad
        })
        .collect();
    (loss, grads)
}

/// A batch's mean loss and mean gradients: the full (F), the physics (P) and, when asked, the
/// stopped (S) one.
pub struct Gradients {
    pub loss: f64,
    pub full: Vec<f64>,
    pub physics: Vec<f64>,
    pub stopped: Option<Vec<f64>>,
}

impl Gradients {
    /// The update direction of `mode`.
    pub fn of(&self, mode: Mode) -> Vec<f64> {
        match mode {
            Mode::Full => self.full.clone(),
            Mode::Physics => self.physics.clone(),
            Mode::Stopped => self.stopped.clone().expect("the S gradient was computed"),
            Mode::Combined => combine(&self.physics, &self.full),
        }
    }
}

/// The gradients of the mean loss over the batch of `starts` (samples in parallel, summed in
/// order).
pub fn batch_gradients(
    system: &impl System,
    controller: &impl Controller,
    starts: &[f64],
    stopped: bool,
) -> Gradients {
    let s = system.state_len();
    let batch = starts.len() / s;
    let flows: &[Flow] = if stopped { &[FULL, PHYSICS, STOPPED] } else { &[FULL, PHYSICS] };
    let samples = flowscope_parallel::map(batch, |b| {
        sample_gradients(system, controller, &starts[b * s..(b + 1) * s], flows)
    });
    let scale = 1.0 / batch as f64;
    let mut sums = vec![vec![0.0; controller.params().len()]; flows.len()];
    let mut loss = 0.0;
    for (l, grads) in &samples {
        loss += l * scale;
        for (sum, grad) in sums.iter_mut().zip(grads) {
            sum.iter_mut().zip(grad).for_each(|(a, g)| *a += g * scale);
        }
    }
    let mut sums = sums.into_iter();
    Gradients {
        loss,
        full: sums.next().expect("F"),
        physics: sums.next().expect("P"),
        stopped: sums.next(),
    }
}

/// The mean loss of the controller over `starts`.
pub fn mean_loss(system: &impl System, controller: &impl Controller, starts: &[f64]) -> f64 {
    let s = system.state_len();
    let n = starts.len() / s;
    let losses = flowscope_parallel::map(n, |b| {
        let r = rollout(system, controller, &starts[b * s..(b + 1) * s]);
        crate::rollout_loss(system, &r.states, &r.controls)
    });
    losses.iter().sum::<f64>() / n as f64
}

/// A training run's choices.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainerSettings {
    pub mode: Mode,
    pub clip: Clip,
    pub lr: f64,
    pub batch: usize,
    /// Start states in the training set, and as many in the test set.
    pub samples: usize,
    /// Hidden layer widths of the controller (a CNN's: its channel count).
    pub hidden: Vec<usize>,
    pub seed: u64,
}

impl Default for TrainerSettings {
    /// The published run: C, no clipping, Adam at 1e-3, batches of 8 from 256 starts, 2 × 100.
    fn default() -> Self {
        Self {
            mode: Mode::Combined,
            clip: Clip::None,
            lr: 1e-3,
            batch: 8,
            samples: 256,
            hidden: vec![100, 100],
            seed: 0,
        }
    }
}

/// What an epoch measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// Epochs completed (1 after the first).
    pub epoch: usize,
    /// Mean of the epoch's mini-batch losses.
    pub train_loss: f64,
    /// The controller's mean loss on the test starts after the epoch.
    pub test_loss: f64,
    /// Mean norm of the update direction before clipping.
    pub grad_norm: f64,
    /// Mean cosine between the P and the F gradient.
    pub cosine: f64,
}

/// A controller trained on a system, one mini-batch at a time. The same seed gives the same
/// starts, weights and updates on every machine and thread count.
pub struct Trainer<S: System, C: Controller = Mlp> {
    pub system: S,
    pub controller: C,
    pub settings: TrainerSettings,
    adam: Adam,
    train: Vec<f64>,
    test: Vec<f64>,
    epoch: usize,
    /// The next mini-batch's index in the epoch.
    batch: usize,
    /// Sums over the epoch so far: loss, gradient norm, cosine.
    sums: [f64; 3],
}

impl<S: System, C: Controller> Trainer<S, C> {
    /// Draws the training and test starts from the seed and a new controller from the seed (or
    /// starts from `controller`, which must fit the system).
    pub fn new(
        system: S,
        settings: TrainerSettings,
        controller: Option<C>,
    ) -> Result<Self, String> {
        if !(settings.lr.is_finite() && settings.lr > 0.0) {
            return Err(format!("the learning rate must be positive, not {}", settings.lr));
        }
        if settings.batch == 0 || settings.samples == 0 {
            return Err("batch and samples must be at least 1".into());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
        let train = system.starts(settings.samples, &mut rng);
        let test = system.starts(settings.samples, &mut rng);
        let (inputs, outputs) = (system.state_len(), system.control_len());
        let controller = match controller {
            Some(c) => {
                c.fits(inputs, &settings.hidden, outputs)?;
                c
            }
            None => {
                let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
                rng.set_stream(1);
                C::create(inputs, &settings.hidden, outputs, &mut rng)?
            }
        };
        let adam = Adam::new(settings.lr, controller.params().len());
        Ok(Self {
            system,
            controller,
            settings,
            adam,
            train,
            test,
            epoch: 0,
            batch: 0,
            sums: [0.0; 3],
        })
    }

    pub fn epochs(&self) -> usize {
        self.epoch
    }

    /// Mini-batches per epoch (the last may be short, as the reference's).
    pub fn batches(&self) -> usize {
        self.settings.samples.div_ceil(self.settings.batch)
    }

    /// Fraction of the current epoch done.
    pub fn progress(&self) -> f64 {
        self.batch as f64 / self.batches() as f64
    }

    pub fn test_starts(&self) -> &[f64] {
        &self.test
    }

    pub fn test_loss(&self) -> f64 {
        mean_loss(&self.system, &self.controller, &self.test)
    }

    /// One mini-batch update; the epoch's statistics when it completes one. A gradient that is
    /// not finite leaves the controller as it was and says so.
    pub fn update(&mut self) -> Result<Option<EpochStats>, String> {
        let s = self.system.state_len();
        let (size, samples) = (self.settings.batch, self.settings.samples);
        let range = self.batch * size..((self.batch + 1) * size).min(samples);
        let starts = &self.train[range.start * s..range.end * s];
        let stopped = self.settings.mode == Mode::Stopped;
        let grads = batch_gradients(&self.system, &self.controller, starts, stopped);
        let mut direction = grads.of(self.settings.mode);
        let grad_norm = norm(&direction);
        if !(grads.loss.is_finite() && grad_norm.is_finite()) {
            return Err(format!(
                "training diverged in epoch {}: the {} gradient is not finite (loss {}); try \
                 clipping or a smaller learning rate",
                self.epoch + 1,
                self.settings.mode.letter(),
                grads.loss
            ));
        }
        self.settings.clip.apply(&mut direction);
        self.adam.step(self.controller.params_mut(), &direction);
        let cos = cosine(&grads.physics, &grads.full);
        for (sum, v) in self.sums.iter_mut().zip([grads.loss, grad_norm, cos]) {
            *sum += v;
        }
        self.batch += 1;
        if self.batch < self.batches() {
            return Ok(None);
        }
        let n = self.batches() as f64;
        self.epoch += 1;
        self.batch = 0;
        let sums = std::mem::take(&mut self.sums);
        Ok(Some(EpochStats {
            epoch: self.epoch,
            train_loss: sums[0] / n,
            test_loss: self.test_loss(),
            grad_norm: sums[1] / n,
            cosine: sums[2] / n,
        }))
    }

    /// Mini-batch updates to the end of the current epoch.
    pub fn epoch(&mut self) -> Result<EpochStats, String> {
        loop {
            if let Some(stats) = self.update()? {
                return Ok(stats);
            }
        }
    }
}
