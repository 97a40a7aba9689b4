//! `acdm-wake` (contract id): the learned wake of ACDM (Kohl, Chen, Thuerey 2023). A network
//! trained on `flowscope generate acdm-wake` steps the wake forward frame by frame — as a
//! conditional diffusion model that draws many plausible next states, or as the deterministic
//! UNet baseline — beside the solver that made its data ([`WakeSolver`]), which runs live from
//! the same state as the ground truth. Composes the nn room and the grid case; knows nothing of
//! training/.

use crate::datasets::{self, Dataset, Options, Run, WakeSolver};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    Backend, Case, CaseError, CaseSpec, Domain, Field2, Interaction, ObservableSpec, ParamValue,
    ParamValues, Plot, Preset, Series, ViewKind, ViewSpec,
};
use flowscope_nn::diffusion::{self, Sampler};
use flowscope_nn::{Model, Tensor, Weights};

/// How a model file steps the wake.
pub enum Kind {
    /// ε-prediction on a β schedule; the previous state, noised to the step, conditions it.
    Diffusion { betas: Vec<f64> },
    /// The previous state in, the next state out.
    Deterministic,
}

/// A wake model: the network, how it steps, and the normalisation of its training data.
pub struct WakeModel {
    model: Model,
    pub kind: Kind,
    mean: Vec<f32>,
    std: Vec<f32>,
    re_mean: f64,
    re_std: f64,
    /// The options of the dataset it was trained on (the truth is run with the same).
    pub options: Vec<(String, String)>,
}

fn field<'a>(value: &'a serde_json::Value, path: &[&str]) -> Result<&'a serde_json::Value, String> {
    path.iter().try_fold(value, |v, key| {
        v.get(key)
            .ok_or_else(|| format!("the model's 'extra' metadata has no '{}'", path.join(".")))
    })
}

fn numbers(value: &serde_json::Value, path: &[&str]) -> Result<Vec<f64>, String> {
    field(value, path)?
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_f64()).collect::<Option<Vec<_>>>())
        .ok_or_else(|| format!("'{}' must be a list of numbers", path.join(".")))
}

impl WakeModel {
    /// Reads a model file exported by `training/train_acdm.py`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let extra = Weights::from_bytes(bytes)
            .map_err(|e| e.to_string())?
            .metadata("extra")
            .map(str::to_string)
            .ok_or(
                "the model file has no 'extra' metadata: export it with training/train_acdm.py",
            )?;
        let extra: serde_json::Value = serde_json::from_str(&extra)
            .map_err(|e| format!("the model's 'extra' metadata: {e}"))?;
        let (_, model) = Model::from_bytes(bytes).map_err(|e| e.to_string())?;
        let kind = match field(&extra, &["model"])?.as_str() {
            Some("acdm") => {
                let steps = field(&extra, &["diffusion", "steps"])?.as_u64().unwrap_or(0) as usize;
                let schedule: diffusion::Schedule =
                    serde_json::from_value(field(&extra, &["diffusion", "schedule"])?.clone())
                        .map_err(|e| format!("the model's diffusion schedule: {e}"))?;
                if steps == 0 {
                    return Err("the model's diffusion has no steps".into());
                }
                Kind::Diffusion { betas: schedule.betas(steps) }
            }
            Some("unet") => Kind::Deterministic,
            other => return Err(format!("not a wake model (model: {other:?})")),
        };
        let as_f32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<_>>();
        let mean = as_f32(numbers(&extra, &["normalisation", "channels", "mean"])?);
        let std = as_f32(numbers(&extra, &["normalisation", "channels", "std"])?);
        let re_mean = numbers(&extra, &["normalisation", "conditions", "mean"])?[0];
        let re_std = numbers(&extra, &["normalisation", "conditions", "std"])?[0].max(1e-12);
        let options = field(&extra, &["dataset", "options"])?
            .as_object()
            .ok_or("the model's dataset options are not an object")?
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        if mean.len() != datasets::AcdmWake.channels().len() || std.iter().any(|&s| s <= 0.0) {
            return Err("the model's normalisation does not fit the wake's channels".into());
        }
        Ok(Self { model, kind, mean, std, re_mean, re_std, options })
    }

    /// The dataset options it was trained on, with `overrides` (`name=value`) over them.
    pub fn dataset_options(&self, overrides: &[String]) -> Result<Options, String> {
        let mut assignments: Vec<String> =
            self.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assignments.extend_from_slice(overrides);
        datasets::options(&datasets::AcdmWake, &assignments)
    }

    fn normalise(&self, states: &Tensor) -> Tensor {
        self.map_channels(states, |v, m, s| (v - m) / s)
    }

    fn denormalise(&self, states: &Tensor) -> Tensor {
        self.map_channels(states, |v, m, s| v * s + m)
    }

    fn map_channels(&self, states: &Tensor, f: impl Fn(f32, f32, f32) -> f32) -> Tensor {
        let plane: usize = states.shape[2..].iter().product();
        let channels = states.shape[1];
        let data = states
            .data
            .iter()
            .enumerate()
            .map(|(k, &v)| {
                let c = (k / plane) % channels;
                f(v, self.mean[c], self.std[c])
            })
            .collect();
        Tensor { shape: states.shape.clone(), data }
    }

    /// The conditioning at one diffusion level: the previous state `x0` (normalised) noised
    /// to ᾱ = `bar` with `noise`, then the Re plane.
    fn condition(x0: &Tensor, re_plane: f32, bar: f64, noise: &Tensor) -> Result<Tensor, String> {
        let (a, b) = (bar.sqrt() as f32, (1.0 - bar).sqrt() as f32);
        let batch = x0.shape[0];
        let plane: usize = x0.shape[2..].iter().product();
        let per_sample = x0.shape[1] * plane;
        let mut cond = Vec::with_capacity(batch * (x0.shape[1] + 1) * plane);
        for k in 0..batch {
            let range = k * per_sample..(k + 1) * per_sample;
            cond.extend(
                x0.data[range.clone()].iter().zip(&noise.data[range]).map(|(&x, &z)| a * x + b * z),
            );
            cond.extend(std::iter::repeat_n(re_plane, plane));
        }
        let mut shape = x0.shape.clone();
        shape[1] += 1;
        Tensor::new(shape, cond).map_err(|e| e.to_string())
    }

    /// Records the network on `ctx` for the batch `states` ([K, C, H, W], physical units) at
    /// `re`, which it rolls out from there on the device (see [`WakeModel::submit`]).
    pub fn record_gpu(
        &self,
        ctx: &flowscope_gpu::GpuContext,
        states: &Tensor,
        re: f64,
    ) -> Result<WakeGpu, String> {
        let text = |e: flowscope_nn::NnError| e.to_string();
        let shape = &states.shape;
        let [batch, channels, height, width] = <[usize; 4]>::try_from(shape.as_slice())
            .map_err(|_| format!("wake states must be [K, C, H, W], got {shape:?}"))?;
        let plane = height * width;
        let re_plane = ((re - self.re_mean) / self.re_std) as f32;
        let x0 = self.normalise(states);
        // The conditioning's Re channel is written once; the diffusion's noised state channels
        // are rewritten on the device at every step.
        let (extra, leading) = match self.kind {
            Kind::Diffusion { .. } => (1, channels),
            Kind::Deterministic => (1, 0),
        };
        let cond_data = (0..batch)
            .flat_map(|_| {
                std::iter::repeat_n(0.0, leading * plane)
                    .chain(std::iter::repeat_n(re_plane, extra * plane))
            })
            .collect();
        let cond =
            Tensor::new(vec![batch, leading + extra, height, width], cond_data).map_err(text)?;
        let model = flowscope_nn::GpuModel::new(ctx, &self.model, shape, Some(&cond.shape))
            .map_err(text)?;
        let rec = model.recorder();
        rec.write(model.condition().expect("recorded with conditioning"), &cond).map_err(text)?;
        let (sampler, states) = match self.kind {
            Kind::Diffusion { .. } => {
                let states = rec.upload(&x0);
                let sampler = diffusion::GpuSampler::new(&model, Some(&states)).map_err(text)?;
                (Some(sampler), states)
            }
            Kind::Deterministic => {
                model.set_noise_levels(&vec![0.0; batch]).map_err(text)?;
                rec.write(model.input(), &x0).map_err(text)?;
                (None, model.input().clone())
            }
        };
        Ok(WakeGpu { model, sampler, states })
    }

    /// The next states of a batch of wakes `states` ([K, C, H, W], physical units) at `re`, on
    /// the CPU. Diffusion draws sample k's noise from `seeds[k]` and `frame` (so a rollout is
    /// reproducible from its seeds, on either backend); the deterministic model ignores both.
    pub fn step(
        &self,
        states: &Tensor,
        re: f64,
        sampler: Sampler,
        seeds: &[u32],
        frame: u32,
    ) -> Result<Tensor, String> {
        let mut frame = self.begin(states, re, sampler, seeds, frame)?;
        while !self.advance(&mut frame)? {}
        Ok(self.finish(&frame))
    }

    /// [`WakeModel::step`] on the device: submits the frame after the states `gpu` holds, which
    /// then hold it, and starts reading it back; [`WakeModel::arrived`] turns what arrives into
    /// states. Nothing waits, so frames can be submitted back to back.
    pub fn submit(
        &self,
        gpu: &WakeGpu,
        sampler: Sampler,
        seeds: &[u32],
        frame: u32,
    ) -> Result<flowscope_gpu::buffers::PendingRead, String> {
        let text = |e: flowscope_nn::NnError| e.to_string();
        let rec = gpu.model.recorder();
        let ctx = rec.context();
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        match (&self.kind, &gpu.sampler) {
            (Kind::Diffusion { betas }, Some(diffusion)) => {
                let noises = self.noises(seeds, frame);
                diffusion
                    .run(&gpu.model, betas, sampler, &noises.sample, &noises.cond)
                    .map_err(text)?;
                // The sample becomes the next frame's condition.
                let from = &gpu.model.input().buffer;
                encoder.copy_buffer_to_buffer(from, 0, &gpu.states.buffer, 0, from.size());
            }
            (Kind::Deterministic, None) => {
                rec.encode(&mut encoder);
                let from = &gpu.model.output().buffer;
                encoder.copy_buffer_to_buffer(from, 0, &gpu.states.buffer, 0, from.size());
            }
            _ => return Err("the GPU recording is not this model's".into()),
        }
        ctx.queue.submit([encoder.finish()]);
        Ok(flowscope_gpu::buffers::PendingRead::start(
            &ctx.device,
            &ctx.queue,
            &gpu.states.buffer,
            gpu.states.len(),
        ))
    }

    /// The states of a frame read back from `gpu` (normalised values), in physical units.
    pub fn arrived(&self, gpu: &WakeGpu, values: Vec<f32>) -> Result<Tensor, String> {
        let states = Tensor::new(gpu.states.shape.clone(), values).map_err(|e| e.to_string())?;
        Ok(self.denormalise(&states))
    }
}

/// The seeds of one rollout frame's noise.
struct FrameNoise {
    /// The sample's: each sample's seed mixed with the frame number.
    sample: Vec<u32>,
    /// The condition's, one draw per step as the sample's.
    cond: Vec<u32>,
}

/// One rollout frame being sampled on the CPU, a denoising step at a time (the browser spreads
/// a frame over animation frames); [`WakeModel::step`] runs the same steps in one go.
pub struct FrameSampling {
    /// The previous states, normalised.
    x0: Tensor,
    /// The sample being denoised (normalised).
    x: Tensor,
    re_plane: f32,
    steps: Vec<diffusion::Step>,
    done: usize,
    noise: FrameNoise,
}

impl FrameSampling {
    /// Network evaluations this frame takes, and those done.
    pub fn progress(&self) -> (usize, usize) {
        (self.done, self.steps.len().max(1))
    }
}

impl WakeModel {
    fn noises(&self, seeds: &[u32], frame: u32) -> FrameNoise {
        let sample: Vec<u32> = seeds.iter().map(|s| s.wrapping_mul(0x9E37_79B9) ^ frame).collect();
        let cond = sample.iter().map(|s| s ^ 0x5BD1_E995).collect();
        FrameNoise { sample, cond }
    }

    /// Starts sampling the frame after `states` (see [`WakeModel::step`]); the deterministic
    /// model takes one evaluation.
    pub fn begin(
        &self,
        states: &Tensor,
        re: f64,
        sampler: Sampler,
        seeds: &[u32],
        frame: u32,
    ) -> Result<FrameSampling, String> {
        let text = |e: flowscope_nn::NnError| e.to_string();
        let x0 = self.normalise(states);
        let noise = self.noises(seeds, frame);
        let (x, steps) = match &self.kind {
            Kind::Diffusion { betas } => (
                diffusion::noise(&x0.shape, &noise.sample, 0).map_err(text)?,
                diffusion::steps(betas, sampler).map_err(text)?,
            ),
            Kind::Deterministic => (x0.clone(), Vec::new()),
        };
        let re_plane = ((re - self.re_mean) / self.re_std) as f32;
        Ok(FrameSampling { x0, x, re_plane, steps, done: 0, noise })
    }

    /// One network evaluation of `frame`; true once the frame is sampled.
    pub fn advance(&self, frame: &mut FrameSampling) -> Result<bool, String> {
        let text = |e: flowscope_nn::NnError| e.to_string();
        let batch = frame.x0.shape[0];
        match &self.kind {
            Kind::Deterministic => {
                if frame.done == 0 {
                    let mut shape = frame.x0.shape.clone();
                    shape[1] = 1;
                    let plane: usize = shape[2..].iter().product();
                    let re = Tensor { shape, data: vec![frame.re_plane; batch * plane] };
                    frame.x = self
                        .model
                        .forward(&frame.x0, Some(&vec![0.0; batch]), Some(&re))
                        .map_err(text)?;
                    frame.done = 1;
                }
                Ok(true)
            }
            Kind::Diffusion { betas } => {
                let Some(step) = frame.steps.get(frame.done).copied() else { return Ok(true) };
                let bar = diffusion::alpha_bars(betas)[step.t];
                let cond_noise = diffusion::noise(&frame.x0.shape, &frame.noise.cond, step.draw)
                    .map_err(text)?;
                let cond = Self::condition(&frame.x0, frame.re_plane, bar, &cond_noise)?;
                let t = vec![step.level; batch];
                let eps = self.model.forward(&frame.x, Some(&t), Some(&cond)).map_err(text)?;
                let z = diffusion::noise(&frame.x.shape, &frame.noise.sample, step.draw)
                    .map_err(text)?;
                for ((x, e), z) in frame.x.data.iter_mut().zip(&eps.data).zip(&z.data) {
                    *x = (step.a * f64::from(*x)
                        + step.b * f64::from(*e)
                        + step.sigma * f64::from(*z)) as f32;
                }
                frame.done += 1;
                Ok(frame.done == frame.steps.len())
            }
        }
    }

    /// The sampled frame in physical units.
    pub fn finish(&self, frame: &FrameSampling) -> Tensor {
        self.denormalise(&frame.x)
    }
}

/// A wake model's rollout on the GPU for one batch: the states stay on the device from frame
/// to frame — the condition noised there, the network and the sampler run there — and each
/// frame is read back once, asynchronously, for the views and statistics.
pub struct WakeGpu {
    model: flowscope_nn::GpuModel,
    /// The diffusion's sampler; none for the deterministic model.
    sampler: Option<diffusion::GpuSampler>,
    /// The current states, normalised (the deterministic model's input buffer).
    states: flowscope_nn::gpu::GpuTensor,
}

impl WakeGpu {
    pub fn context(&self) -> &flowscope_gpu::GpuContext {
        self.model.recorder().context()
    }
}

/// The solver's developed wake at `re` with the dataset `options` (the run a test split would
/// hold), as the start of a rollout and its ground truth.
pub fn developed_solver(options: &Options, re: f64, seed: u64) -> Result<WakeSolver, String> {
    if !(10.0..=1000.0).contains(&re) {
        return Err(format!("Re must lie in 10 … 1000 (the wake case's range), got {re}"));
    }
    let run = Run { index: 0, split: "test", name: String::new(), condition: vec![re] };
    let mut solver = WakeSolver::new(options, &run, seed)?;
    solver.develop(&mut |_| {})?;
    Ok(solver)
}

/// The model files the case runs (in the site's `models/`, or the CLI's `--models` folder):
/// the diffusion model and its deterministic UNet baseline.
pub const MODEL_FILE: &str = "acdm-wake.safetensors";
pub const BASELINE_FILE: &str = "acdm-wake-unet.safetensors";

const fn reset_param(
    name: &'static str,
    label: &'static str,
    help: &'static str,
    kind: ParamKind,
) -> ParamSpec {
    ParamSpec { name, label, unit: "", help, kind, needs_reset: true }
}

const PARAMS: &[ParamSpec] = &[
    reset_param(
        "model",
        "Model",
        "ACDM, the diffusion model, draws samples; the UNet baseline, trained on the same data \
        for one-step MSE, predicts one deterministic future.",
        ParamKind::Enum { options: &["acdm", "unet"], default: "acdm" },
    ),
    reset_param(
        "Re",
        "Reynolds number Re = Ū D / ν",
        "The model learned Re 200–900; 100–180 and 920–1000 were held out to test it, so there \
        it extrapolates.",
        ParamKind::Float { min: 100.0, max: 1000.0, default: 500.0, log: false },
    ),
    reset_param(
        "samples",
        "Posterior samples",
        "Rollouts drawn side by side from the same start, each with its own noise.",
        ParamKind::Int { min: 1, max: 16, default: 4 },
    ),
    reset_param(
        "sampler",
        "Sampler",
        "DDPM takes the 20 steps the model was trained on; DDIM takes 'steps' of them.",
        ParamKind::Enum { options: &["ddpm", "ddim"], default: "ddpm" },
    ),
    reset_param(
        "steps",
        "DDIM steps",
        "Denoising steps per frame with DDIM (fewer: faster, rougher).",
        ParamKind::Int { min: 5, max: 20, default: 20 },
    ),
    reset_param(
        "seed",
        "Seed",
        "Chooses the samples' noise and the start's shedding phase; the same seed gives the same \
        rollouts as `flowscope sample`.",
        ParamKind::Int { min: 0, max: 999_999, default: 0 },
    ),
    reset_param(
        "warmup",
        "Solver warm-up",
        "Flow time the solver runs from rest before the model takes over (plus a seed-chosen \
        phase). The training data starts 40 s in; shorter starts sooner, from a less developed \
        wake the model has not seen.",
        ParamKind::Float { min: 1.0, max: 60.0, default: 40.0, log: false },
    ),
    ParamSpec {
        name: "field",
        label: "Field shown",
        unit: "",
        help: "Vorticity (from the velocities), a velocity component or the pressure.",
        kind: ParamKind::Enum { options: &["vorticity", "vx", "vy", "p"], default: "vorticity" },
        needs_reset: false,
    },
    ParamSpec {
        name: "show",
        label: "Sample shown",
        unit: "",
        help: "Which sample the 'One sample' view shows.",
        kind: ParamKind::Int { min: 1, max: 16, default: 1 },
        needs_reset: false,
    },
];

const fn view(name: &'static str, label: &'static str, colormap: &'static str) -> ViewSpec {
    ViewSpec { name, label, unit: "", kind: ViewKind::Scalar, range: None, colormap }
}
/// The model and the fixed buffers, then what each of the `samples` adds; measured by
/// tests/budget.rs.
fn cost(params: &ParamValues) -> flowscope_core::Cost {
    let each = params.int("samples") as u64;
    flowscope_core::Cost {
        bytes: (8 << 20) + each * (256 << 10),
        set_by: &["samples"],
        ..Default::default()
    }
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "acdm-wake",
    title: "Diffusion wake (ACDM)",
    summary: "A diffusion model rolls a cylinder wake forward: many plausible futures beside the \
        solver's one.",
    explanation: "A conditional diffusion model, trained on this site's own cylinder-wake \
        solver, predicts each next frame of the wake by denoising pure noise, conditioned on the \
        previous frame and Re. Each sample draws its own noise, so the samples spread where the \
        future is uncertain; the solver runs live beside them from the same state. Compare the \
        ensemble mean and spread with the error against the solver, and try a Re outside the \
        training range (200–900) to see the model extrapolate. The solver first develops the \
        wake from rest; the model takes over from there.",
    reference: "G. Kohl, L. Chen, N. Thuerey, Benchmarking autoregressive conditional diffusion \
        models for turbulent flow simulation (ACDM), 2023.",
    group: "learned",
    params: PARAMS,
    views: &[
        view("compare", "Sample | solver, with the mean | its error below", "coolwarm"),
        view("sample", "One sample", "coolwarm"),
        view("mean", "Ensemble mean", "coolwarm"),
        view("std", "Ensemble standard deviation", "viridis"),
        view("error", "Error of the mean against the solver |mean − truth|", "viridis"),
        view("truth", "Solver (ground truth)", "coolwarm"),
        view("strip", "All samples (small multiples)", "coolwarm"),
    ],
    observables: &[
        ObservableSpec {
            name: "mse",
            label: "MSE of the ensemble mean against the solver (vx, vy, p averaged)",
            unit: "",
        },
        ObservableSpec {
            name: "spread",
            label: "Ensemble standard deviation (vx, vy, p averaged)",
            unit: "",
        },
    ],
    interactions: &[],
    presets: &[
        Preset { name: "trained", label: "Re 500, inside the training range", params: &[] },
        Preset {
            name: "held-out-low",
            label: "Re 150, held out (below the training range)",
            params: &[("Re", "150")],
        },
        Preset {
            name: "held-out-high",
            label: "Re 960, held out (above the training range)",
            params: &[("Re", "960")],
        },
        Preset {
            name: "fast",
            label: "DDIM, 5 steps: faster, rougher",
            params: &[("sampler", "ddim"), ("steps", "5")],
        },
    ],
    exchange: None,
    models: &[MODEL_FILE, BASELINE_FILE],
    gpu: true,
    cost,
};

/// Solver steps per slice while the wake develops.
const WARMUP_SLICE: u32 = 20;

/// Frames a GPU rollout submits ahead of what has been read back while playing: the device
/// never waits for a read-back, and the views lag by at most this.
const FRAMES_IN_FLIGHT: usize = 2;

/// The case: K learned rollouts and the live solver. On the GPU backend the rollouts run on the
/// device and each frame comes back for the views; the solver runs on the CPU either way (it is
/// the dataset's CPU solver, at its resolution).
pub struct AcdmWakeCase {
    params: ParamValues,
    model: WakeModel,
    solver: WakeSolver,
    sampler: Sampler,
    re: f64,
    seeds: Vec<u32>,
    /// Warm-up solver steps done.
    developed: u32,
    /// The samples' current frames, `[K, C, H, W]`, once the wake has developed.
    states: Option<Tensor>,
    /// The solver's current frame, `[C, H, W]`.
    truth: Vec<f32>,
    sampling: Option<FrameSampling>,
    frames: u64,
    frame_time: f64,
    /// Per frame, per field: the ensemble mean's MSE and the mean standard deviation.
    errors: Vec<[f64; 3]>,
    spreads: Vec<[f64; 3]>,
    notices: Vec<String>,
    /// The GPU backend's state.
    gpu: Option<OnGpu>,
}

/// A rollout on the device: recorded once the wake has developed, then frames in flight.
struct OnGpu {
    ctx: flowscope_gpu::GpuContext,
    rollout: Option<WakeGpu>,
    /// Frames submitted and not yet taken in, oldest first, each with the solver's frame it is
    /// compared with and its number.
    pending: std::collections::VecDeque<(flowscope_gpu::buffers::PendingRead, Vec<f32>, u64)>,
}

fn model_error(error: String) -> CaseError {
    CaseError::Model(error)
}

impl AcdmWakeCase {
    /// The case on the CPU, or with `gpu` its rollouts on that device.
    pub fn new(
        params: &ParamValues,
        models: &crate::ModelFiles,
        gpu: Option<&flowscope_gpu::GpuContext>,
    ) -> Result<Self, CaseError> {
        let mut params = SPEC.complete(params)?;
        let file = if params.choice("model") == "unet" { BASELINE_FILE } else { MODEL_FILE };
        let bytes = models.get(file).ok_or(CaseError::MissingModel { case: SPEC.id, file })?;
        let model = WakeModel::from_bytes(bytes).map_err(model_error)?;
        let re = params.float("Re");
        let mut samples = params.int("samples") as usize;
        let seed = params.int("seed") as u32;
        let mut notices = Vec::new();
        if matches!(model.kind, Kind::Deterministic) && samples > 1 {
            notices.push("The UNet baseline is deterministic: one rollout, no spread".into());
            samples = 1;
            params.set(SPEC.id, SPEC.params, "samples", ParamValue::Int(1))?;
        }
        let sampler = match (&model.kind, params.choice("sampler")) {
            (Kind::Diffusion { .. }, "ddim") => {
                Sampler::Ddim { steps: params.int("steps") as usize, eta: 0.0 }
            }
            (Kind::Diffusion { betas }, _) => {
                if params.int("steps") as usize != betas.len() {
                    notices.push(format!(
                        "DDPM takes all {} steps it was trained with; 'steps' applies to DDIM",
                        betas.len()
                    ));
                }
                Sampler::Ddpm
            }
            (Kind::Deterministic, _) => Sampler::Ddpm,
        };
        let options = model
            .dataset_options(&[format!("warmup={}", params.float("warmup"))])
            .map_err(model_error)?;
        let trained: Vec<f64> = datasets::AcdmWake
            .runs(&options)
            .map_err(model_error)?
            .iter()
            .filter(|r| r.split == "train")
            .map(|r| r.condition[0])
            .collect();
        let (low, high) = trained
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &r| (l.min(r), h.max(r)));
        if re < low || re > high {
            notices.push(format!(
                "Re {re} lies outside the training range {low}–{high}: the model extrapolates"
            ));
        }
        let run = Run { index: 0, split: "test", name: String::new(), condition: vec![re] };
        let solver = WakeSolver::new(&options, &run, u64::from(seed)).map_err(model_error)?;
        let frame_time = options.float("frame_dt").map_err(model_error)?
            * options.count("stride", 1).map_err(model_error)? as f64;
        notices.push(format!(
            "The solver first develops the wake from rest ({} solver steps); the model takes over \
             from there",
            solver.warmup_steps
        ));
        let truth = solver.frame().map_err(model_error)?;
        Ok(Self {
            params,
            model,
            solver,
            sampler,
            re,
            // As `flowscope sample` seeds its samples.
            seeds: (0..samples as u32).map(|k| seed.wrapping_mul(1000).wrapping_add(k)).collect(),
            developed: 0,
            states: None,
            truth,
            sampling: None,
            frames: 0,
            frame_time,
            errors: Vec::new(),
            spreads: Vec::new(),
            notices,
            gpu: gpu.map(|ctx| OnGpu {
                ctx: ctx.clone(),
                rollout: None,
                pending: Default::default(),
            }),
        })
    }

    /// The solver's frame shape `[C, H, W]`.
    fn frame_shape(&self) -> [usize; 3] {
        self.solver.frame_shape()
    }

    /// Whether the learned rollout has started (the warm-up is over).
    pub fn rolling(&self) -> bool {
        self.states.is_some()
    }

    /// The samples' current frames, `[K, C, H, W]`, once rolling.
    pub fn samples(&self) -> Option<&Tensor> {
        self.states.as_ref()
    }

    /// The solver's current frame, `[C, H, W]`.
    pub fn truth(&self) -> &[f32] {
        &self.truth
    }

    /// One piece of work: a batch of warm-up solver steps, or one denoising step of all samples
    /// (finishing a frame advances the solver to it).
    fn slice(&mut self) -> Result<(), CaseError> {
        let Some(states) = &self.states else {
            let batch = (self.solver.warmup_steps - self.developed).min(WARMUP_SLICE);
            self.solver.case.step(batch)?;
            self.developed += batch;
            self.truth = self.solver.frame().map_err(model_error)?;
            if self.developed >= self.solver.warmup_steps {
                let [c, h, w] = self.frame_shape();
                let data = self.truth.repeat(self.seeds.len());
                let states = Tensor { shape: vec![self.seeds.len(), c, h, w], data };
                if let Some(gpu) = &mut self.gpu {
                    let recorded = self.model.record_gpu(&gpu.ctx, &states, self.re);
                    gpu.rollout = Some(recorded.map_err(CaseError::Gpu)?);
                }
                self.states = Some(states);
            }
            return Ok(());
        };
        if self.gpu.is_some() {
            self.take_in()?;
            if self.gpu.as_ref().is_some_and(|gpu| gpu.pending.len() < FRAMES_IN_FLIGHT) {
                self.submit()?;
            }
            return Ok(());
        }
        let frame = match &mut self.sampling {
            Some(frame) => frame,
            None => {
                let frame = self
                    .model
                    .begin(states, self.re, self.sampler, &self.seeds, self.frames as u32)
                    .map_err(model_error)?;
                self.sampling.insert(frame)
            }
        };
        if !self.model.advance(frame).map_err(model_error)? {
            return Ok(());
        }
        let next = self.model.finish(frame);
        self.sampling = None;
        if let Some(bad) = next.data.iter().find(|v| !v.is_finite()) {
            return Err(CaseError::Diverged(format!(
                "the learned rollout is no longer finite at frame {} (value {bad})",
                self.frames + 1
            )));
        }
        self.solver.advance().map_err(model_error)?;
        self.truth = self.solver.frame().map_err(model_error)?;
        self.frames += 1;
        self.record_frame(next);
        Ok(())
    }

    /// Takes in a sampled frame, `truth` holding the solver's frame it is compared with.
    fn record_frame(&mut self, next: Tensor) {
        self.states = Some(next);
        let (error, spread) = self.statistics();
        self.errors.push(error);
        self.spreads.push(spread);
    }

    /// On the GPU: submits the next frame (and steps the solver to it).
    fn submit(&mut self) -> Result<(), CaseError> {
        let Some(gpu) = &mut self.gpu else { return Ok(()) };
        let rollout = gpu.rollout.as_ref().ok_or(CaseError::Gpu("not recorded yet".into()))?;
        let read = self
            .model
            .submit(rollout, self.sampler, &self.seeds, self.frames as u32)
            .map_err(CaseError::Gpu)?;
        self.solver.advance().map_err(model_error)?;
        self.frames += 1;
        gpu.pending.push_back((read, self.solver.frame().map_err(model_error)?, self.frames));
        Ok(())
    }

    /// On the GPU: takes in the frames that have been read back, in order; true while more are
    /// on their way.
    fn take_in(&mut self) -> Result<bool, CaseError> {
        // Natively, map callbacks run when the device is polled (the browser runs them itself).
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(gpu) = &self.gpu {
            let _ = gpu.ctx.device.poll(flowscope_gpu::wgpu::PollType::Poll);
        }
        loop {
            let Some(gpu) = &mut self.gpu else { return Ok(false) };
            let Some(values) = gpu.pending.front().and_then(|(read, ..)| read.try_take()) else {
                return Ok(!gpu.pending.is_empty());
            };
            let (_, truth, frame) = gpu.pending.pop_front().expect("the front arrived");
            let rollout = gpu.rollout.as_ref().expect("frames in flight were recorded");
            let next =
                values.and_then(|v| self.model.arrived(rollout, v)).map_err(CaseError::Gpu)?;
            if let Some(bad) = next.data.iter().find(|v| !v.is_finite()) {
                gpu.pending.clear();
                return Err(CaseError::Diverged(format!(
                    "the learned rollout is no longer finite at frame {frame} (value {bad})"
                )));
            }
            self.truth = truth;
            self.record_frame(next);
        }
    }

    /// Per field: the ensemble mean's MSE against the solver and the mean standard deviation.
    fn statistics(&self) -> ([f64; 3], [f64; 3]) {
        let [c, h, w] = self.frame_shape();
        let plane = h * w;
        let (mut error, mut spread) = ([0.0; 3], [0.0; 3]);
        for field in 0..c.min(3) {
            let (mean, std) = self.moments(|sample| {
                sample[field * plane..(field + 1) * plane].iter().map(|&v| f64::from(v)).collect()
            });
            let truth = &self.truth[field * plane..(field + 1) * plane];
            error[field] =
                mean.iter().zip(truth).map(|(m, &t)| (m - f64::from(t)).powi(2)).sum::<f64>()
                    / plane as f64;
            spread[field] = std.iter().sum::<f64>() / plane as f64;
        }
        (error, spread)
    }

    /// Pixelwise mean and standard deviation over the samples of `pick(sample)`.
    fn moments(&self, pick: impl Fn(&[f32]) -> Vec<f64>) -> (Vec<f64>, Vec<f64>) {
        let per_sample = self.truth.len();
        let picked: Vec<Vec<f64>> = match &self.states {
            Some(states) => states.data.chunks(per_sample).map(&pick).collect(),
            None => vec![pick(&self.truth)],
        };
        let n = picked.len() as f64;
        let len = picked[0].len();
        let mean: Vec<f64> =
            (0..len).map(|i| picked.iter().map(|p| p[i]).sum::<f64>() / n).collect();
        let std = (0..len)
            .map(|i| (picked.iter().map(|p| (p[i] - mean[i]).powi(2)).sum::<f64>() / n).sqrt())
            .collect();
        (mean, std)
    }

    /// The chosen field of one frame `[C, H, W]`, as `H × W` values (row 0 at the bottom).
    fn field_of(&self, frame: &[f32]) -> Vec<f64> {
        let [_, h, w] = self.frame_shape();
        let plane = h * w;
        let channel = |c: usize| &frame[c * plane..(c + 1) * plane];
        match self.params.choice("field") {
            "vx" => channel(0).iter().map(|&v| f64::from(v)).collect(),
            "vy" => channel(1).iter().map(|&v| f64::from(v)).collect(),
            "p" => channel(2).iter().map(|&v| f64::from(v)).collect(),
            _ => {
                let [[x0, x1], _] = self.solver.case.domain();
                let dx = (x1 - x0) / w as f64;
                let (vx, vy) = (channel(0), channel(1));
                let at = |f: &[f32], i: usize, j: usize| f64::from(f[j * w + i]);
                let mut vorticity = vec![0.0; plane];
                for j in 0..h {
                    for i in 0..w {
                        // One-sided at the edges.
                        let (il, ir) = (i.saturating_sub(1), (i + 1).min(w - 1));
                        let (jd, ju) = (j.saturating_sub(1), (j + 1).min(h - 1));
                        let dvy = (at(vy, ir, j) - at(vy, il, j)) / ((ir - il) as f64 * dx);
                        let dvx = (at(vx, i, ju) - at(vx, i, jd)) / ((ju - jd) as f64 * dx);
                        vorticity[j * w + i] = dvy - dvx;
                    }
                }
                vorticity
            }
        }
    }

    fn field(&self, values: Vec<f64>) -> Field2 {
        let [_, h, w] = self.frame_shape();
        Field2 { nx: w, ny: h, data: values.into_iter().map(|v| v as f32).collect() }
    }

    /// `tiles` (each `H × W`) in a grid of `columns`, the first at the top left.
    fn tiled(&self, tiles: &[Vec<f64>], columns: usize) -> Field2 {
        let [_, h, w] = self.frame_shape();
        let rows = tiles.len().div_ceil(columns);
        let mut field = Field2::zeros(columns * w, rows * h);
        for (k, tile) in tiles.iter().enumerate() {
            let (col, row) = (k % columns, rows - 1 - k / columns);
            for j in 0..h {
                for i in 0..w {
                    let index = field.index(col * w + i, row * h + j);
                    field.data[index] = tile[j * w + i] as f32;
                }
            }
        }
        field
    }

    /// All samples tiled in a √K × √K grid, so the tiles keep the domain's shape.
    fn strip(&self) -> Field2 {
        let per_sample = self.truth.len();
        let tiles: Vec<Vec<f64>> = match &self.states {
            Some(states) => states.data.chunks(per_sample).map(|s| self.field_of(s)).collect(),
            None => vec![self.field_of(&self.truth)],
        };
        let side = (tiles.len() as f64).sqrt().ceil() as usize;
        let mut square = tiles;
        square.resize(side * side, vec![0.0; square[0].len()]);
        self.tiled(&square, side)
    }
}

impl Case for AcdmWakeCase {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn backend(&self) -> Backend {
        if self.gpu.is_some() {
            Backend::Gpu
        } else {
            Backend::Cpu
        }
    }

    fn params(&self) -> &ParamValues {
        &self.params
    }

    fn set_param(&mut self, name: &str, value: ParamValue) -> Result<(), CaseError> {
        match name {
            "field" | "show" => {
                let param = SPEC.param(name).expect("declared");
                self.params.set(SPEC.id, SPEC.params, name, param.clamp(&value))?;
                Ok(())
            }
            _ => {
                SPEC.param(name)
                    .ok_or_else(|| CaseError::UnknownCase(format!("no parameter '{name}'")))?;
                Err(CaseError::NeedsReset(name.into()))
            }
        }
    }

    /// `n` rollout frames (after the warm-up, which the first call finishes). On the GPU they
    /// are submitted back to back and come in later ([`crate::Simulation::poll`]); natively
    /// this waits for them.
    fn step(&mut self, n: u32) -> Result<(), CaseError> {
        while !self.rolling() {
            self.slice()?;
        }
        if self.gpu.is_some() {
            for _ in 0..n {
                self.submit()?;
            }
            #[cfg(not(target_arch = "wasm32"))]
            if let Some(gpu) = &self.gpu {
                flowscope_gpu::buffers::wait_idle(&gpu.ctx.device).map_err(CaseError::Gpu)?;
            }
            self.take_in()?;
            return Ok(());
        }
        let target = self.frames + u64::from(n);
        while self.frames < target {
            self.slice()?;
        }
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.frames
    }

    fn time(&self) -> f64 {
        self.solver.case.time()
    }

    fn dt(&self) -> f64 {
        self.frame_time
    }

    fn domain(&self) -> Domain {
        self.solver.case.domain()
    }

    fn shape(&self) -> Option<[usize; 2]> {
        let [_, h, w] = self.frame_shape();
        Some([h, w])
    }

    fn read_view(&self, name: &str) -> Result<Field2, CaseError> {
        let per_sample = self.truth.len();
        let chosen = |k: usize| -> Vec<f64> {
            match &self.states {
                Some(states) => {
                    let k = k.min(self.seeds.len() - 1);
                    self.field_of(&states.data[k * per_sample..(k + 1) * per_sample])
                }
                None => self.field_of(&self.truth),
            }
        };
        let moments = || self.moments(|sample| self.field_of(sample));
        Ok(match name {
            "compare" => {
                let truth = self.field_of(&self.truth);
                let mean = moments().0;
                let error = mean.iter().zip(&truth).map(|(m, t)| (m - t).abs()).collect();
                let sample = chosen(self.params.int("show").max(1) as usize - 1);
                self.tiled(&[sample, truth, mean, error], 2)
            }
            "sample" => self.field(chosen(self.params.int("show").max(1) as usize - 1)),
            "mean" => self.field(moments().0),
            "std" => self.field(moments().1),
            "error" => {
                let truth = self.field_of(&self.truth);
                self.field(moments().0.iter().zip(truth).map(|(m, t)| (m - t).abs()).collect())
            }
            "truth" => self.field(self.field_of(&self.truth)),
            "strip" => self.strip(),
            _ => return Err(flowscope_core::case::unknown_view(&SPEC, name)),
        })
    }

    fn observables(&self) -> Result<Vec<f64>, CaseError> {
        let mean = |rows: &[[f64; 3]]| rows.last().map_or(0.0, |r| r.iter().sum::<f64>() / 3.0);
        Ok(vec![mean(&self.errors), mean(&self.spreads)])
    }

    fn interact(&mut self, _: &Interaction) -> Result<(), CaseError> {
        Err(CaseError::BadInteraction("the learned wake takes no pointer input".into()))
    }

    fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The samples, their mean and the solver share the solver's colour range, so that they
    /// compare at a glance.
    fn view_range(&self, view: &str) -> Option<(f32, f32)> {
        if !matches!(view, "compare" | "sample" | "mean" | "truth" | "strip") {
            return None;
        }
        let truth = self.field_of(&self.truth);
        let (low, high) = truth
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
        let (low, high) = if self.params.choice("field") == "vorticity" {
            let m = low.abs().max(high.abs());
            (-m, m)
        } else {
            (low, high)
        };
        (high > low).then_some((low as f32, high as f32))
    }

    fn plots(&self) -> Result<Vec<Plot>, CaseError> {
        let series = |rows: &[[f64; 3]]| -> Vec<Series> {
            ["vx", "vy", "p"]
                .iter()
                .enumerate()
                .map(|(c, name)| {
                    let points =
                        rows.iter().enumerate().map(|(k, r)| [(k + 1) as f64, r[c]]).collect();
                    Series::line(*name, points)
                })
                .collect()
        };
        Ok(vec![
            Plot {
                name: "error",
                title: "Ensemble mean against the solver".into(),
                x_label: "rollout frame",
                y_label: "MSE",
                series: series(&self.errors),
            },
            Plot {
                name: "spread",
                title: "Ensemble spread".into(),
                x_label: "rollout frame",
                y_label: "mean standard deviation",
                series: series(&self.spreads),
            },
        ])
    }
}

impl crate::Simulation for AcdmWakeCase {
    fn gpu_view(&self, _: &str) -> Option<crate::GpuView<'_>> {
        None
    }

    fn step_slice(&mut self) -> Result<(), CaseError> {
        self.slice()
    }

    fn slices(&self) -> bool {
        true
    }

    fn poll(&mut self) -> Result<bool, CaseError> {
        self.take_in()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(name: &str) -> Vec<u8> {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/acdm").join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// One frame of the fixture ACDM, sampled as `flowscope sample` does, against what
    /// training/make_acdm_fixture.py computed with PyTorch and train_acdm.py's conditioning.
    #[test]
    fn a_rollout_frame_matches_pytorch() {
        let model = WakeModel::from_bytes(&fixture("acdm-wake.safetensors")).unwrap();
        let mut io = Weights::from_bytes(&fixture("step.io.safetensors")).unwrap();
        let (x0, expected) = (io.take_any("x0").unwrap(), io.take_any("next").unwrap());
        let got = model.step(&x0, 150.0, Sampler::Ddpm, &[11, 12], 3).unwrap();
        assert_eq!(got.shape, expected.shape);
        let scale = expected.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let error =
            got.data.iter().zip(&expected.data).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(error < 1e-4 * scale, "max difference {error} (scale {scale})");
    }

    #[test]
    fn files_that_are_not_wake_models_are_refused_with_a_reason() {
        let plain = std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/nn/models/unet_small.safetensors"),
        )
        .unwrap();
        let error = WakeModel::from_bytes(&plain).err().unwrap();
        assert!(error.contains("export it with training/train_acdm.py"), "{error}");
        assert!(WakeModel::from_bytes(b"not a model").is_err());
    }

    /// The browser's rollout, a denoising step at a time, is `flowscope sample`'s, frame by frame.
    #[test]
    fn the_case_rolls_out_what_flowscope_sample_draws() {
        let models = crate::ModelFiles::from([(MODEL_FILE.to_string(), fixture(MODEL_FILE))]);
        let mut params = SPEC.defaults();
        for (name, value) in [("samples", "3"), ("Re", "450"), ("warmup", "5"), ("seed", "7")] {
            SPEC.set_text(&mut params, name, value).unwrap();
        }
        let mut case = AcdmWakeCase::new(&params, &models, None).unwrap();
        assert!(!case.rolling());
        case.step(2).unwrap();
        assert_eq!(case.steps(), 2);

        let model = WakeModel::from_bytes(&fixture(MODEL_FILE)).unwrap();
        let options = model.dataset_options(&["warmup=5".into()]).unwrap();
        let mut solver = developed_solver(&options, 450.0, 7).unwrap();
        let [c, h, w] = solver.frame_shape();
        let mut states =
            Tensor { shape: vec![3, c, h, w], data: solver.frame().unwrap().repeat(3) };
        for frame in 0..2 {
            states = model.step(&states, 450.0, Sampler::Ddpm, &[7000, 7001, 7002], frame).unwrap();
            solver.advance().unwrap();
        }
        assert_eq!(case.samples().unwrap().data, states.data);
        assert_eq!(case.truth(), solver.frame().unwrap().as_slice());

        let plane = c * h * w;
        assert_ne!(states.data[..plane], states.data[plane..2 * plane], "samples must differ");
        for view in SPEC.views {
            let field = case.read_view(view.name).unwrap();
            assert!(field.all_finite(), "{}", view.name);
        }
        let strip = case.read_view("strip").unwrap();
        assert_eq!((strip.nx, strip.ny), (2 * w, 2 * h), "3 samples tile a 2 × 2 grid");
        let compare = case.read_view("compare").unwrap();
        let truth = case.read_view("truth").unwrap();
        // The solver's tile is the top right one.
        assert_eq!(compare.at(w + 3, h + 2), truth.at(3, 2));
        let [mse, spread] = case.observables().unwrap()[..] else { panic!() };
        assert!(mse > 0.0 && spread > 0.0, "mse {mse}, spread {spread}");
        assert_eq!(case.plots().unwrap()[0].series[0].points.len(), 2);
    }

    #[test]
    fn the_baseline_rolls_out_one_deterministic_future() {
        let models = crate::ModelFiles::from(
            [MODEL_FILE, BASELINE_FILE].map(|f| (f.to_string(), fixture(f))),
        );
        let mut params = SPEC.defaults();
        for (name, value) in [("model", "unet"), ("samples", "3"), ("warmup", "5")] {
            SPEC.set_text(&mut params, name, value).unwrap();
        }
        let mut case = AcdmWakeCase::new(&params, &models, None).unwrap();
        assert_eq!(case.params().int("samples"), 1);
        assert!(case.notices().iter().any(|n| n.contains("deterministic")));
        case.step(2).unwrap();
        let model = WakeModel::from_bytes(&fixture(BASELINE_FILE)).unwrap();
        let options = model.dataset_options(&["warmup=5".into()]).unwrap();
        let solver = developed_solver(&options, 500.0, 0).unwrap();
        let [c, h, w] = solver.frame_shape();
        let mut state = Tensor { shape: vec![1, c, h, w], data: solver.frame().unwrap() };
        for frame in 0..2 {
            state = model.step(&state, 500.0, Sampler::Ddpm, &[0], frame).unwrap();
        }
        assert_eq!(case.samples().unwrap().data, state.data);
    }

    /// On the GPU the rollouts stay on the device and come back a frame at a time: the samples
    /// the CPU draws (to float reordering), whether stepped or played slice by slice.
    #[test]
    fn the_gpu_rolls_out_what_the_cpu_rolls_out() {
        let Some(ctx) = flowscope_gpu::context_for_tests() else { return };
        let models = crate::ModelFiles::from([(MODEL_FILE.to_string(), fixture(MODEL_FILE))]);
        let mut params = SPEC.defaults();
        for (name, value) in [("samples", "2"), ("Re", "450"), ("warmup", "5"), ("seed", "7")] {
            SPEC.set_text(&mut params, name, value).unwrap();
        }
        let mut gpu = AcdmWakeCase::new(&params, &models, Some(&ctx)).unwrap();
        assert_eq!(gpu.backend(), Backend::Gpu);
        gpu.step(2).unwrap();
        assert_eq!(gpu.errors.len(), 2, "natively a step waits for its frames");
        while gpu.errors.len() < 3 {
            crate::Simulation::step_slice(&mut gpu).unwrap();
        }
        while crate::Simulation::poll(&mut gpu).unwrap() {}
        assert_eq!(gpu.errors.len(), gpu.steps() as usize, "every submitted frame taken in");
        let mut cpu = AcdmWakeCase::new(&params, &models, None).unwrap();
        cpu.step(gpu.steps() as u32).unwrap();
        let (a, b) = (&cpu.samples().unwrap().data, &gpu.samples().unwrap().data);
        let scale = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let diff = a.iter().zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(diff <= 1e-4 * scale, "cpu and gpu differ by {diff} (scale {scale})");
        assert_eq!(cpu.truth(), gpu.truth());
        for view in SPEC.views {
            assert!(gpu.read_view(view.name).unwrap().all_finite(), "{}", view.name);
        }
    }

    #[test]
    fn the_case_says_which_model_file_it_lacks() {
        let error =
            AcdmWakeCase::new(&SPEC.defaults(), &crate::ModelFiles::new(), None).err().unwrap();
        assert!(error.to_string().contains("acdm-wake.safetensors"), "{error}");
    }
}
