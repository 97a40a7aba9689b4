//! Airfoil flows with uncertainty (Liu & Thuerey, AIAA Journal 62(8), 2024): learned models that
//! draw many plausible flow fields around a wing section at once, trained on the snapshots of the
//! unsteady `airfoil` solver (`flowscope generate airfoil-uncertainty`). Three models share the
//! UNet: DDPM, flow matching, and the heteroscedastic baseline (mean and log σ²).
//!
//! [`Surrogate`] holds one trained model with its normalisation and samples it at a condition
//! (NACA code, AoA, speed) on the CPU or the GPU; [`truth`] gives the solver's own per-cell mean
//! and standard deviation at a condition, from the dataset's snapshots or computed on the fly.
//!
//! The case `airfoil-uncertainty` (contract id) draws the samples batch by batch, a network pass
//! per slice, while the solver runs beside it at the same condition and gathers its own
//! snapshots: every view shows the model on the left and the solver on the right.

use crate::datasets::airfoil_uncertainty::{AirfoilUncertainty, SnapshotSolver};
use crate::datasets::{self, Dataset, Options, Run};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    Backend, Case, CaseError, CaseSpec, Domain, Field2, Interaction, ObservableSpec, ParamValue,
    ParamValues, Plot, Preset, Series, ViewKind, ViewSpec,
};
use flowscope_gpu::{buffers, GpuContext};
use flowscope_nn::diffusion::{self, Sampler, Schedule, Step};
use flowscope_nn::{Model, Tensor};

/// The three models, by the name the CLI and the case use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Ddpm,
    FlowMatching,
    Heteroscedastic,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Ddpm, Kind::FlowMatching, Kind::Heteroscedastic];

    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|k| k.name() == text).ok_or_else(|| {
            format!("unknown model '{text}'; known: ddpm, flow-matching, heteroscedastic")
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Ddpm => "ddpm",
            Kind::FlowMatching => "flow-matching",
            Kind::Heteroscedastic => "heteroscedastic",
        }
    }

    /// The shipped file in `public/models/`.
    pub fn file(self) -> &'static str {
        match self {
            Kind::Ddpm => "airfoil-ddpm.safetensors",
            Kind::FlowMatching => "airfoil-flow-matching.safetensors",
            Kind::Heteroscedastic => "airfoil-heteroscedastic.safetensors",
        }
    }

    /// Sampling steps when none are asked for: the schedule's 200 for DDPM, the published 20
    /// Euler steps for flow matching, one pass for the heteroscedastic UNet.
    pub fn default_steps(self) -> usize {
        match self {
            Kind::Ddpm => 200,
            Kind::FlowMatching => 20,
            Kind::Heteroscedastic => 1,
        }
    }
}

/// The channels of a sample, in order.
pub const CHANNELS: [&str; 3] = ["p", "ux", "uy"];

/// One trained model with what sampling it needs.
pub struct Surrogate {
    pub kind: Kind,
    pub model: Model,
    /// Per channel: normalised value × scale × u^power is the value in the data's units.
    target_scale: [f64; 3],
    speed_power: [i32; 3],
    speed_scale: f64,
    /// DDPM's training schedule; flow matching's time input per unit τ.
    betas: Vec<f64>,
    time_scale: f64,
    /// The dataset the model learned, to rebuild masks and the solver's statistics.
    pub options: Options,
    /// Training and test conditions [naca, alpha, u].
    pub train: Vec<[f64; 3]>,
    pub test: Vec<[f64; 3]>,
}

/// Size of a batch sampled at once (the CPU's memory for a UNet pass stays small).
const BATCH: usize = 16;

impl Surrogate {
    pub fn from_bytes(bytes: &[u8], kind: Kind) -> Result<Self, String> {
        let extra = crate::model_extra(bytes, kind.name())?;
        let (_, model) = Model::from_bytes(bytes).map_err(|e| e.to_string())?;
        let norm = &extra["normalisation"];
        let triple = |key: &str| -> Result<[f64; 3], String> {
            let values: Vec<f64> = norm[key]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
                .unwrap_or_default();
            <[f64; 3]>::try_from(values)
                .map_err(|_| format!("the model's normalisation has no 3 values '{key}'"))
        };
        let powers = triple("divide_by_speed_power")?;
        let speed_scale = norm["speed_scale"]
            .as_f64()
            .filter(|s| *s > 0.0)
            .ok_or("the model's normalisation has no speed_scale")?;
        let (mut betas, mut time_scale) = (Vec::new(), 0.0);
        match kind {
            Kind::Ddpm => {
                let diffusion = &extra["diffusion"];
                let schedule: Schedule = serde_json::from_value(diffusion["schedule"].clone())
                    .map_err(|e| format!("the model's diffusion schedule: {e}"))?;
                let steps =
                    diffusion["steps"].as_u64().ok_or("the model has no diffusion steps")?;
                betas = schedule.betas(steps as usize);
            }
            Kind::FlowMatching => {
                time_scale = extra["flow_matching"]["time_scale"]
                    .as_f64()
                    .ok_or("the model has no flow_matching.time_scale")?;
            }
            Kind::Heteroscedastic => {}
        }
        let dataset = &extra["dataset"];
        let assignments: Vec<String> = dataset["options"]
            .as_object()
            .ok_or("the model names no dataset options")?
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        let options = datasets::options(&AirfoilUncertainty, &assignments)?;
        let conditions = |key: &str| -> Vec<[f64; 3]> {
            dataset[key]
                .as_array()
                .map(|runs| {
                    runs.iter()
                        .filter_map(|c| serde_json::from_value::<[f64; 3]>(c.clone()).ok())
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Self {
            kind,
            model,
            target_scale: triple("target_scale")?,
            speed_power: powers.map(|p| p as i32),
            speed_scale,
            betas,
            time_scale,
            train: conditions("train"),
            test: conditions("test"),
            options,
        })
    }

    /// The grid side of a sample.
    pub fn size(&self) -> Result<usize, String> {
        self.options.count("out", 1)
    }

    /// The airfoil's mask at the stored resolution, `[out, out]` (1 inside).
    pub fn mask(&self, naca: &str, alpha: f64) -> Result<Vec<f32>, String> {
        let solver = SnapshotSolver::new(&self.options, &run_at(naca, alpha, 1.0)?, 0)?;
        let snapshot = solver.snapshot()?;
        let plane = solver.out * solver.out;
        Ok(snapshot[3 * plane..].to_vec())
    }

    /// The network's conditioning `[count, 3, out, out]`: [u∞x, u∞y, mask], normalised.
    fn inputs(&self, mask: &[f32], alpha: f64, u: f64, count: usize) -> Result<Tensor, String> {
        let size = self.size()?;
        let a = alpha.to_radians();
        let (ux, uy) =
            ((u * a.cos() / self.speed_scale) as f32, (u * a.sin() / self.speed_scale) as f32);
        let plane = size * size;
        let mut one = vec![ux; plane];
        one.extend(vec![uy; plane]);
        one.extend_from_slice(mask);
        Tensor::new(vec![count, 3, size, size], one.repeat(count)).map_err(|e| e.to_string())
    }

    /// The reverse steps of `steps` sampling steps: DDPM on the full schedule at 200, DDIM with
    /// η = 1 (ancestral on a sub-sequence) below, its estimate of x₀ clipped to the normalised
    /// data's ±1 (the cosine schedule's first steps divide by √ᾱ ≈ 0); flow matching's Euler
    /// steps; one pass for the heteroscedastic UNet (no steps).
    pub fn plan(&self, steps: usize) -> Result<Vec<Step>, String> {
        if self.kind == Kind::Heteroscedastic {
            return Ok(Vec::new());
        }
        let mut plan =
            diffusion::steps(&self.betas, self.sampler(steps)?).map_err(|e| e.to_string())?;
        if self.kind == Kind::Ddpm {
            diffusion::clip_x0(&mut plan, &self.betas, 1.0);
        }
        Ok(plan)
    }

    fn sampler(&self, steps: usize) -> Result<Sampler, String> {
        match self.kind {
            Kind::Ddpm if steps == self.betas.len() => Ok(Sampler::Ddpm),
            Kind::Ddpm if (1..self.betas.len()).contains(&steps) => {
                Ok(Sampler::Ddim { steps, eta: 1.0 })
            }
            Kind::Ddpm => Err(format!("DDPM takes 1 to {} steps, got {steps}", self.betas.len())),
            Kind::FlowMatching if (1..=1000).contains(&steps) => {
                Ok(Sampler::FlowEuler { steps, time_scale: self.time_scale })
            }
            Kind::FlowMatching => Err(format!("flow matching takes 1 to 1000 steps, got {steps}")),
            Kind::Heteroscedastic => Ok(Sampler::Ddpm),
        }
    }

    /// `count` samples `[count, 3, out, out]` in the data's units at (naca, alpha, u), sample k
    /// from seed `seeds[k]`; `progress(done, total)` after each network pass.
    pub fn sample(
        &self,
        mask: &[f32],
        alpha: f64,
        u: f64,
        steps: usize,
        seeds: &[u32],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Vec<f32>, String> {
        let size = self.size()?;
        let plan = self.plan(steps)?;
        let total = plan.len().max(1) * seeds.len().div_ceil(BATCH);
        let mut done = 0;
        let mut out = Vec::with_capacity(seeds.len() * 3 * size * size);
        for chunk in seeds.chunks(BATCH) {
            let mut batch = self.begin(mask, alpha, u, &plan, chunk)?;
            while !self.advance(&mut batch)? {
                done += 1;
                progress(done, total);
            }
            done += 1;
            progress(done, total);
            out.extend(self.finish(&batch)?);
        }
        Ok(out)
    }

    /// Starts sampling a batch, one sample per seed, along `plan` ([`Surrogate::plan`]).
    pub fn begin(
        &self,
        mask: &[f32],
        alpha: f64,
        u: f64,
        plan: &[Step],
        seeds: &[u32],
    ) -> Result<Batch, String> {
        let size = self.size()?;
        let cond = self.inputs(mask, alpha, u, seeds.len())?;
        let x =
            diffusion::noise(&[seeds.len(), 3, size, size], seeds, 0).map_err(|e| e.to_string())?;
        Ok(Batch {
            cond,
            x,
            plan: plan.to_vec(),
            seeds: seeds.to_vec(),
            done: 0,
            mask: mask.to_vec(),
            u,
        })
    }

    /// One network pass of `batch`; true once it is sampled.
    pub fn advance(&self, batch: &mut Batch) -> Result<bool, String> {
        let text = |e: flowscope_nn::NnError| e.to_string();
        let count = batch.seeds.len();
        if self.kind == Kind::Heteroscedastic {
            if batch.done == 0 {
                let y =
                    self.model.forward(&batch.cond, Some(&vec![0.0; count]), None).map_err(text)?;
                batch.x.data = gaussian_draws(&y, &batch.seeds)?;
                batch.done = 1;
            }
            return Ok(true);
        }
        let Some(step) = batch.plan.get(batch.done).copied() else { return Ok(true) };
        let eps = self
            .model
            .forward(&batch.x, Some(&vec![step.level; count]), Some(&batch.cond))
            .map_err(text)?;
        diffusion::reverse_step(&mut batch.x, &eps, &step, &batch.seeds).map_err(text)?;
        batch.done += 1;
        Ok(batch.done == batch.plan.len())
    }

    /// A sampled batch in the data's units, checked to be finite.
    pub fn finish(&self, batch: &Batch) -> Result<Vec<f32>, String> {
        self.checked(self.to_data_units(&batch.x.data, &batch.mask, batch.u))
    }

    fn checked(&self, samples: Vec<f32>) -> Result<Vec<f32>, String> {
        match samples.iter().find(|v| !v.is_finite()) {
            Some(bad) => {
                Err(format!("the {} samples are not finite (value {bad})", self.kind.name()))
            }
            None => Ok(samples),
        }
    }

    /// Normalised samples `[k, 3, out, out]` → the data's units, 0 inside the airfoil.
    pub fn to_data_units(&self, normalised: &[f32], mask: &[f32], u: f64) -> Vec<f32> {
        let plane = mask.len();
        let scales: Vec<f32> =
            (0..3).map(|c| (self.target_scale[c] * u.powi(self.speed_power[c])) as f32).collect();
        normalised
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let (c, cell) = ((i / plane) % 3, i % plane);
                if mask[cell] > 0.5 {
                    0.0
                } else {
                    v * scales[c]
                }
            })
            .collect()
    }

    /// The GPU twin of [`Surrogate::sample`] for one batch of `seeds` (native, blocking).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn sample_gpu_blocking(
        &self,
        ctx: &flowscope_gpu::GpuContext,
        mask: &[f32],
        alpha: f64,
        u: f64,
        steps: usize,
        seeds: &[u32],
    ) -> Result<Vec<f32>, String> {
        let gpu = GpuBatches::new(ctx, self, mask, alpha, u, steps, seeds.len())?;
        let mut read = None;
        for pass in 0..gpu.passes() {
            read = Some(gpu.submit(pass, seeds)?);
        }
        let values = read.expect("at least one pass").wait(&ctx.device)?;
        gpu.finish(self, values, seeds, mask, u)
    }
}

/// One batch being sampled on the CPU, a network pass at a time (a page spreads the passes
/// over animation frames); [`Surrogate::sample`] runs them in one go.
pub struct Batch {
    cond: Tensor,
    /// The sample being denoised (normalised).
    x: Tensor,
    plan: Vec<Step>,
    seeds: Vec<u32>,
    done: usize,
    mask: Vec<f32>,
    u: f64,
}

impl Batch {
    /// Network passes done and in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.done, self.plan.len().max(1))
    }
}

/// The GPU side of sampling at one condition: the network recorded for a batch with its
/// conditioning written, the reverse process on the device; batch after batch reuses it.
pub struct GpuBatches {
    model: flowscope_nn::GpuModel,
    sampler: Option<diffusion::GpuSampler>,
    bars: Vec<f64>,
    plan: Vec<Step>,
}

impl GpuBatches {
    /// Records `surrogate` for batches of `batch` samples at (mask, alpha, u) with `steps`
    /// sampling steps.
    pub fn new(
        ctx: &flowscope_gpu::GpuContext,
        surrogate: &Surrogate,
        mask: &[f32],
        alpha: f64,
        u: f64,
        steps: usize,
        batch: usize,
    ) -> Result<Self, String> {
        let text = |e: flowscope_nn::NnError| e.to_string();
        let size = surrogate.size()?;
        let plan = surrogate.plan(steps)?;
        let cond = surrogate.inputs(mask, alpha, u, batch)?;
        let shape = [batch, 3, size, size];
        let model = &surrogate.model;
        if surrogate.kind == Kind::Heteroscedastic {
            // The conditioning is the network's input: written once, each batch one pass.
            let gpu = flowscope_nn::GpuModel::new(ctx, model, &shape, None).map_err(text)?;
            gpu.set_noise_levels(&vec![0.0; batch]).map_err(text)?;
            gpu.recorder().write(gpu.input(), &cond).map_err(text)?;
            return Ok(Self { model: gpu, sampler: None, bars: Vec::new(), plan });
        }
        let gpu = flowscope_nn::GpuModel::new(ctx, model, &shape, Some(&shape)).map_err(text)?;
        let condition = gpu.condition().ok_or("the model takes no conditioning")?;
        gpu.recorder().write(condition, &cond).map_err(text)?;
        let sampler = diffusion::GpuSampler::new(&gpu, None).map_err(text)?;
        let bars = diffusion::alpha_bars(&surrogate.betas);
        Ok(Self { model: gpu, sampler: Some(sampler), bars, plan })
    }

    /// The recorded batch size.
    pub fn batch(&self) -> usize {
        self.model.input().shape[0]
    }

    /// Network passes per batch.
    pub fn passes(&self) -> usize {
        self.plan.len().max(1)
    }

    /// Submits pass `pass` of the batch of `seeds` (the first also draws its noise) and starts
    /// reading back: one value after a pass before the last (what a page paces itself by),
    /// the batch's result after the last ([`GpuBatches::finish`]).
    pub fn submit(
        &self,
        pass: usize,
        seeds: &[u32],
    ) -> Result<flowscope_gpu::buffers::PendingRead, String> {
        let text = |e: flowscope_nn::NnError| e.to_string();
        let ctx = self.model.recorder().context();
        let result = match &self.sampler {
            None => {
                let mut encoder = ctx.device.create_command_encoder(&Default::default());
                self.model.recorder().encode(&mut encoder);
                ctx.queue.submit([encoder.finish()]);
                self.model.output()
            }
            Some(sampler) => {
                if pass == 0 {
                    sampler.start(&self.model, seeds, &[]).map_err(text)?;
                }
                let step = self.plan.get(pass).ok_or("no such sampling step")?;
                sampler.submit_step(&self.model, &self.bars, step).map_err(text)?;
                self.model.input()
            }
        };
        let len = if pass + 1 == self.passes() { result.len() } else { 1 };
        Ok(flowscope_gpu::buffers::PendingRead::start(&ctx.device, &ctx.queue, &result.buffer, len))
    }

    /// The samples of a batch in the data's units from its last pass's read-back.
    pub fn finish(
        &self,
        surrogate: &Surrogate,
        values: Vec<f32>,
        seeds: &[u32],
        mask: &[f32],
        u: f64,
    ) -> Result<Vec<f32>, String> {
        let normalised = match &self.sampler {
            None => {
                let mut shape = self.model.input().shape.clone();
                shape[1] = 6;
                let y = Tensor::new(shape, values).map_err(|e| e.to_string())?;
                gaussian_draws(&y, seeds)?
            }
            Some(_) => values,
        };
        surrogate.checked(surrogate.to_data_units(&normalised, mask, u))
    }
}

/// Draws from the heteroscedastic UNet's Gaussians: `y` is `[k, 6, h, w]` (mean, log σ²), one
/// draw per seed with the diffusion samplers' counter-based noise.
fn gaussian_draws(y: &Tensor, seeds: &[u32]) -> Result<Vec<f32>, String> {
    let (k, plane) = (y.shape[0], y.shape[2] * y.shape[3]);
    if y.shape[1] != 6 || k != seeds.len() {
        return Err(format!(
            "the heteroscedastic UNet gave {:?}, not [{}, 6, h, w]",
            y.shape,
            seeds.len()
        ));
    }
    let z = diffusion::noise(&[k, 3 * plane], seeds, 0).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(k * 3 * plane);
    for b in 0..k {
        for i in 0..3 * plane {
            let mean = y.data[b * 6 * plane + i];
            let log_var = y.data[b * 6 * plane + 3 * plane + i].clamp(-20.0, 10.0);
            out.push(mean + (0.5 * log_var).exp() * z.data[b * 3 * plane + i]);
        }
    }
    Ok(out)
}

/// The seeds of `count` samples under `seed`.
pub fn sample_seeds(count: usize, seed: u32) -> Vec<u32> {
    crate::smdp_toy::backward_seeds(count, seed)
}

/// A dataset run at a condition (for the solver and the mask).
fn run_at(naca: &str, alpha: f64, u: f64) -> Result<Run, String> {
    let code = crate::datasets::airfoil_uncertainty::naca_number(naca)?;
    Ok(Run { index: 0, split: "test", name: "condition".into(), condition: vec![code, alpha, u] })
}

/// Per-cell mean and standard deviation `[2, 4, out, out]` of the solver's snapshots at a
/// condition (channels p, ux, uy, mask), as `flowscope generate` stores them: from
/// `data/<split>/<run>_stats.npy` when the dataset in `data` has that condition, otherwise
/// simulated now (`progress` gets the fraction done). Returns them and whether they were computed.
pub fn truth(
    options: &Options,
    data: Option<&std::path::Path>,
    naca: &str,
    alpha: f64,
    u: f64,
    progress: &mut dyn FnMut(f64),
) -> Result<(Vec<f32>, usize, bool), String> {
    let run = run_at(naca, alpha, u)?;
    let frames = options.count("frames", 2)?;
    if let Some(dir) = data {
        let name = crate::datasets::airfoil_uncertainty::run_name(&run.condition);
        for split in ["train", "test"] {
            let path = dir.join(split).join(format!("{name}_stats.npy"));
            if let Ok(bytes) = std::fs::read(&path) {
                let (_, values) = flowscope_core::read_npy_f32(&bytes)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                return Ok((values, frames, false));
            }
        }
    }
    let simulated = AirfoilUncertainty.simulate(&run, options, 0, progress)?;
    Ok((crate::datasets::cell_statistics(&simulated), frames, true))
}

/// Per-cell mean over samples of `size` values each.
pub fn mean_over(samples: &[f32], size: usize) -> Vec<f32> {
    let count = (samples.len() / size).max(1) as f64;
    (0..size)
        .map(|i| {
            (samples.iter().skip(i).step_by(size).map(|&v| f64::from(v)).sum::<f64>() / count)
                as f32
        })
        .collect()
}

/// Per-cell standard deviation (population) over samples of `size` values each.
pub fn std_over(samples: &[f32], size: usize) -> Vec<f32> {
    let mean = mean_over(samples, size);
    let count = (samples.len() / size).max(1) as f64;
    (0..size)
        .map(|i| {
            let m = f64::from(mean[i]);
            let var = samples
                .iter()
                .skip(i)
                .step_by(size)
                .map(|&v| (f64::from(v) - m).powi(2))
                .sum::<f64>();
            (var / count).sqrt() as f32
        })
        .collect()
}

/// Per channel of `[3, h, w]` fields: ‖a − b‖₁ / ‖b‖₁ over the fluid cells (the paper's
/// relative error of the mean and of the standard deviation).
pub fn relative_errors(a: &[f32], b: &[f32], mask: &[f32]) -> Vec<f64> {
    let plane = mask.len();
    (0..3)
        .map(|c| {
            let (mut diff, mut norm) = (0.0f64, 0.0f64);
            for k in 0..plane {
                if mask[k] < 0.5 {
                    diff += f64::from(a[c * plane + k] - b[c * plane + k]).abs();
                    norm += f64::from(b[c * plane + k]).abs();
                }
            }
            diff / norm.max(1e-12)
        })
        .collect()
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "naca",
        label: "NACA code",
        unit: "",
        help: "The wing section. The shipped models learned NACA 0012 only: other codes show \
            how a surrogate fails outside its training, beside the solver that does not.",
        kind: ParamKind::Enum {
            options: &["0012", "2412", "4412", "0006", "0018", "6409"],
            default: "0012",
        },
        needs_reset: true,
    },
    ParamSpec {
        name: "alpha",
        label: "Angle of attack",
        unit: "°",
        help: "The shipped models learned 20°, where the wake sheds.",
        kind: ParamKind::Float { min: 0.0, max: 25.0, default: 20.0, log: false },
        needs_reset: true,
    },
    ParamSpec {
        name: "u",
        label: "Free-stream speed",
        unit: "",
        help: "Re = u c / ν = 2000 u. Training speeds: 0.5, 0.75, 1, 1.25, 1.5 (the speeds plot \
            marks them); between them the models interpolate, beyond they extrapolate.",
        kind: ParamKind::Float { min: 0.25, max: 2.0, default: 1.125, log: false },
        needs_reset: true,
    },
    ParamSpec {
        name: "model",
        label: "Model",
        unit: "",
        help: "Flow matching (20 Euler steps) and DDPM (200 denoising steps) draw samples from \
            the learned distribution; the heteroscedastic UNet predicts a mean and a variance \
            per cell and draws from that Gaussian.",
        kind: ParamKind::Enum {
            options: &["flow-matching", "ddpm", "heteroscedastic"],
            default: "flow-matching",
        },
        needs_reset: true,
    },
    ParamSpec {
        name: "steps",
        label: "Sampling steps",
        unit: "",
        help: "0: the model's own (flow matching 20, DDPM 200). Fewer are faster and, for DDPM, \
            worse; the heteroscedastic UNet takes one pass whatever this says.",
        kind: ParamKind::Int { min: 0, max: 200, default: 0 },
        needs_reset: true,
    },
    ParamSpec {
        name: "samples",
        label: "Samples",
        unit: "",
        help: "How many flow fields to draw; they arrive batch by batch, and the mean and spread \
            update as they come. Pause to stop early.",
        kind: ParamKind::Int { min: 1, max: 64, default: 16 },
        needs_reset: true,
    },
    ParamSpec {
        name: "seed",
        label: "Seed",
        unit: "",
        help: "The same seed draws what `flowscope sample airfoil-uncertainty` draws.",
        kind: ParamKind::Int { min: 0, max: 999_999, default: 0 },
        needs_reset: true,
    },
    ParamSpec {
        name: "channel",
        label: "Channel",
        unit: "",
        help: "The field every view shows: pressure p, or the velocity's ux or uy.",
        kind: ParamKind::Enum { options: &["uy", "ux", "p"], default: "uy" },
        needs_reset: false,
    },
    ParamSpec {
        name: "solver",
        label: "Solver beside",
        unit: "",
        help: "Run the airfoil solver at the same condition and gather its own mean and spread \
            (on: the right half of every view); off leaves the machine to the model.",
        kind: ParamKind::Enum { options: &["on", "off"], default: "on" },
        needs_reset: true,
    },
];

const fn pair_view(name: &'static str, label: &'static str, colormap: &'static str) -> ViewSpec {
    ViewSpec { name, label, unit: "", kind: ViewKind::Scalar, range: None, colormap }
}
/// The model and the fixed buffers, then what each of the `samples` adds; measured by
/// tests/budget.rs.
fn cost(params: &ParamValues) -> flowscope_core::Cost {
    let each = params.int("samples") as u64;
    flowscope_core::Cost {
        bytes: (8 << 20) + each * (128 << 10),
        set_by: &["samples"],
        ..Default::default()
    }
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "airfoil-uncertainty",
    title: "Airfoil flows with uncertainty",
    summary: "A diffusion model draws many flow fields around a wing; the solver beside shows \
        the spread it should have.",
    explanation: "Behind a wing at a steep angle the flow separates and sheds vortices: there \
        is no single answer, only a distribution of flow fields. A diffusion model trained on \
        this site's own solver snapshots (five speeds, 25 snapshots each) draws many plausible \
        fields at once, from noise, in a few denoising steps; their mean is the typical flow and \
        their standard deviation shows where the wake is uncertain. Every view puts the model \
        on the left and the airfoil solver on the right, running live at the same condition and \
        gathering its own mean and spread snapshot by snapshot. Compare flow matching, DDPM and \
        the heteroscedastic UNet (one pass, a Gaussian per cell), between and beyond the \
        training speeds, and on shapes the models never saw.",
    reference: "Q. Liu, N. Thuerey, Uncertainty-aware surrogate models for airfoil flow \
        simulations with denoising diffusion probabilistic models, AIAA Journal 62(8), 2024.",
    group: "learned",
    params: PARAMS,
    views: &[
        pair_view("mean", "Mean: the samples' (left), the solver's (right)", "coolwarm"),
        pair_view(
            "std",
            "Standard deviation: the samples' (left), the solver's (right)",
            "inferno",
        ),
        pair_view("sample", "The first sample (left), the solver now (right)", "coolwarm"),
        pair_view("strip", "The samples drawn so far, side by side", "coolwarm"),
    ],
    observables: &[
        ObservableSpec { name: "samples", label: "Samples drawn", unit: "" },
        ObservableSpec {
            name: "mean_error",
            label: "Relative error of the samples' mean against the solver's (this channel)",
            unit: "",
        },
        ObservableSpec {
            name: "std_error",
            label: "Relative error of the samples' standard deviation against the solver's",
            unit: "",
        },
        ObservableSpec { name: "snapshots", label: "Solver snapshots gathered", unit: "" },
    ],
    interactions: &[],
    presets: &[
        Preset {
            name: "interpolation",
            label: "Flow matching between two training speeds",
            params: &[],
        },
        Preset {
            name: "extrapolation",
            label: "Beyond the fastest training speed",
            params: &[("u", "1.75")],
        },
        Preset { name: "ddpm", label: "DDPM, 200 steps", params: &[("model", "ddpm")] },
        Preset {
            name: "heteroscedastic",
            label: "The heteroscedastic UNet (one pass)",
            params: &[("model", "heteroscedastic")],
        },
        Preset {
            name: "unseen-shape",
            label: "NACA 2412 at 15°: a shape the models never saw",
            params: &[("naca", "2412"), ("alpha", "15")],
        },
        Preset { name: "many", label: "64 samples", params: &[("samples", "64")] },
    ],
    exchange: None,
    models: &[
        "airfoil-flow-matching.safetensors",
        "airfoil-ddpm.safetensors",
        "airfoil-heteroscedastic.safetensors",
    ],
    gpu: true,
    cost,
};

/// Samples a CPU batch draws together (the mean and spread update after each).
const CPU_BATCH: usize = 4;
/// Samples a GPU batch draws together, at most.
const GPU_BATCH: usize = 16;
/// GPU passes in flight while the page plays (each reads one value back to pace the page).
const GPU_IN_FLIGHT: usize = 3;
/// Solver time steps per slice.
const SOLVER_STEPS: u32 = 4;
/// Snapshots the solver gathers before it stops.
const MAX_SNAPSHOTS: usize = 64;
/// The wake line of the spreads plot: this far into the window (chords), about a chord behind
/// the trailing edge.
const WAKE_LINE_X: f64 = 2.25;

/// The airfoil solver at the case's condition, gathering snapshots.
struct LiveSolver {
    solver: SnapshotSolver,
    spacing: f64,
    /// The snapshots so far, `[k, 4, out, out]` (p, ux, uy, mask).
    snapshots: Vec<f32>,
    count: usize,
}

/// Batches sampled on the device, their read-backs in flight.
struct GpuSampling {
    batches: GpuBatches,
    /// Read-backs of submitted passes, oldest first, with their batch and pass.
    pending: std::collections::VecDeque<(buffers::PendingRead, usize, usize)>,
    /// The next (batch, pass) to submit.
    next: (usize, usize),
}

pub struct AirfoilUncertaintyCase {
    params: ParamValues,
    surrogate: Surrogate,
    mask: Vec<f32>,
    alpha: f64,
    u: f64,
    plan: Vec<Step>,
    count: usize,
    batch: usize,
    /// One seed per sample, padded to whole batches.
    seeds: Vec<u32>,
    /// The samples drawn, `[k, 3, out, out]` in the data's units.
    samples: Vec<f32>,
    /// The CPU batch being sampled.
    cpu: Option<Batch>,
    gpu: Option<GpuSampling>,
    passes_done: usize,
    solver: Option<LiveSolver>,
    channel: usize,
    slices: u64,
    notices: Vec<String>,
}

impl AirfoilUncertaintyCase {
    pub fn new(
        params: &ParamValues,
        models: &crate::ModelFiles,
        gpu: Option<&GpuContext>,
    ) -> Result<Self, CaseError> {
        let params = SPEC.complete(params)?;
        let kind = Kind::parse(params.choice("model")).map_err(CaseError::Model)?;
        let bytes = models
            .get(kind.file())
            .ok_or(CaseError::MissingModel { case: SPEC.id, file: kind.file() })?;
        let surrogate = Surrogate::from_bytes(bytes, kind).map_err(CaseError::Model)?;
        let (naca, alpha, u) =
            (params.choice("naca").to_string(), params.float("alpha"), params.float("u"));
        let steps = match params.int("steps") as usize {
            0 => kind.default_steps(),
            steps => steps,
        };
        let plan = surrogate.plan(steps).map_err(CaseError::Model)?;
        let mask = surrogate.mask(&naca, alpha).map_err(CaseError::Model)?;
        let count = params.int("samples") as usize;
        let batch = match gpu {
            Some(_) => count.min(GPU_BATCH),
            None => CPU_BATCH,
        };
        let seed = params.int("seed") as u32;
        let seeds = sample_seeds(count.div_ceil(batch) * batch, seed);
        let gpu = match gpu {
            None => None,
            Some(ctx) => Some(GpuSampling {
                batches: GpuBatches::new(ctx, &surrogate, &mask, alpha, u, steps, batch)
                    .map_err(CaseError::Gpu)?,
                pending: Default::default(),
                next: (0, 0),
            }),
        };
        let solver = match params.choice("solver") {
            "on" => {
                let run = run_at(&naca, alpha, u).map_err(CaseError::Model)?;
                let options = &surrogate.options;
                Some(LiveSolver {
                    solver: SnapshotSolver::new(options, &run, u64::from(seed))
                        .map_err(CaseError::Model)?,
                    spacing: options.float("spacing").map_err(CaseError::Model)?,
                    snapshots: Vec::new(),
                    count: 0,
                })
            }
            _ => None,
        };
        let mut notices = condition_notices(&surrogate, &naca, alpha, u);
        notices.push(format!(
            "{count} samples in batches of {batch}, {} network passes each; pause to stop early",
            plan.len().max(1)
        ));
        if let Some(live) = &solver {
            notices.push(format!(
                "The solver warms up for {:.1} chord times, then takes a snapshot every {}",
                live.solver.warmup, live.spacing
            ));
        }
        let channel = channel_index(params.choice("channel"));
        Ok(Self {
            params,
            surrogate,
            mask,
            alpha,
            u,
            plan,
            count,
            batch,
            seeds,
            samples: Vec::new(),
            cpu: None,
            gpu,
            passes_done: 0,
            solver,
            channel,
            slices: 0,
            notices,
        })
    }

    fn plane(&self) -> usize {
        self.mask.len()
    }

    fn size(&self) -> usize {
        (self.plane() as f64).sqrt().round() as usize
    }

    /// Samples drawn so far.
    fn drawn(&self) -> usize {
        self.samples.len() / (3 * self.plane())
    }

    fn passes_in_all(&self) -> usize {
        self.plan.len().max(1) * self.count.div_ceil(self.batch)
    }

    /// The seeds of batch `b` (a whole batch; the samples past `count` are dropped).
    fn batch_seeds(&self, b: usize) -> &[u32] {
        &self.seeds[b * self.batch..(b + 1) * self.batch]
    }

    /// Takes in a sampled batch (of which only the first `count` samples in all are kept).
    fn arrived(&mut self, batch: Vec<f32>) {
        let keep = (self.count - self.drawn()) * 3 * self.plane();
        self.samples.extend(batch.into_iter().take(keep));
        if self.drawn() == self.count {
            self.notices.push(format!("All {} samples drawn", self.count));
        }
    }

    /// One network pass of the CPU batch in hand (starting the next batch when none is).
    fn sample_cpu(&mut self) -> Result<(), CaseError> {
        if self.drawn() >= self.count {
            return Ok(());
        }
        let mut batch = match self.cpu.take() {
            Some(batch) => batch,
            None => {
                let first = self.drawn();
                let seeds = &self.seeds[first..(first + self.batch).min(self.count)];
                self.surrogate
                    .begin(&self.mask, self.alpha, self.u, &self.plan, seeds)
                    .map_err(CaseError::Model)?
            }
        };
        let done = self.surrogate.advance(&mut batch).map_err(CaseError::Model)?;
        self.passes_done += 1;
        if done {
            let samples = self.surrogate.finish(&batch).map_err(CaseError::Diverged)?;
            self.arrived(samples);
        } else {
            self.cpu = Some(batch);
        }
        Ok(())
    }

    /// Submits the next network pass to the device.
    fn submit(&mut self) -> Result<(), CaseError> {
        let passes = self.plan.len().max(1);
        let Some(gpu) = &self.gpu else { return Ok(()) };
        let (b, pass) = gpu.next;
        if b * self.batch >= self.count {
            return Ok(());
        }
        let read = gpu.batches.submit(pass, self.batch_seeds(b)).map_err(CaseError::Gpu)?;
        let gpu = self.gpu.as_mut().expect("checked above");
        gpu.pending.push_back((read, b, pass));
        gpu.next = if pass + 1 == passes { (b + 1, 0) } else { (b, pass + 1) };
        Ok(())
    }

    /// Takes in what the device has read back; true while more is on its way.
    fn take_in(&mut self) -> Result<bool, CaseError> {
        let passes = self.plan.len().max(1);
        loop {
            let Some(gpu) = &mut self.gpu else { return Ok(false) };
            let Some((read, _, _)) = gpu.pending.front() else { return Ok(false) };
            let Some(values) = read.try_take() else { return Ok(true) };
            let (_, b, pass) = gpu.pending.pop_front().expect("a front entry");
            let values = values.map_err(CaseError::Gpu)?;
            self.passes_done += 1;
            if pass + 1 == passes {
                let gpu = self.gpu.as_ref().expect("checked above");
                let samples = gpu
                    .batches
                    .finish(&self.surrogate, values, self.batch_seeds(b), &self.mask, self.u)
                    .map_err(CaseError::Diverged);
                match samples {
                    Ok(samples) => self.arrived(samples),
                    Err(e) => {
                        if let Some(gpu) = &mut self.gpu {
                            gpu.pending.clear();
                        }
                        return Err(e);
                    }
                }
            }
        }
    }

    /// A few solver steps, and a snapshot when one is due.
    fn solver_slice(&mut self) -> Result<(), CaseError> {
        let Some(live) = &mut self.solver else { return Ok(()) };
        if live.count >= MAX_SNAPSHOTS {
            return Ok(());
        }
        live.solver.case.step(SOLVER_STEPS)?;
        if live.solver.case.time() >= live.solver.warmup + live.spacing * live.count as f64 {
            live.snapshots.extend(live.solver.snapshot().map_err(CaseError::Diverged)?);
            live.count += 1;
            if live.count == MAX_SNAPSHOTS {
                self.notices.push(format!("The solver has its {MAX_SNAPSHOTS} snapshots"));
            }
        }
        Ok(())
    }

    /// One slice: a network pass (submitted, on the GPU, when `submit`) and a few solver steps.
    fn slice(&mut self, submit: bool) -> Result<(), CaseError> {
        match &self.gpu {
            None => self.sample_cpu()?,
            Some(_) if submit => self.submit()?,
            Some(_) => {}
        }
        self.solver_slice()?;
        self.slices += 1;
        Ok(())
    }

    /// Channel `c` of sample `k`.
    fn sample_plane(&self, k: usize, c: usize) -> &[f32] {
        let plane = self.plane();
        &self.samples[(3 * k + c) * plane..(3 * k + c + 1) * plane]
    }

    /// The samples' per-cell mean and standard deviation, `[3, out, out]` each (zeros before
    /// any sample).
    fn model_statistics(&self) -> Option<(Vec<f32>, Vec<f32>)> {
        let size = 3 * self.plane();
        (self.drawn() > 0).then(|| (mean_over(&self.samples, size), std_over(&self.samples, size)))
    }

    /// The solver's per-cell mean and standard deviation over its snapshots, `[3, out, out]`.
    fn solver_statistics(&self) -> Option<(Vec<f32>, Vec<f32>)> {
        let live = self.solver.as_ref().filter(|l| l.count > 0)?;
        let (size, keep) = (4 * self.plane(), 3 * self.plane());
        let mut mean = mean_over(&live.snapshots, size);
        let mut std = std_over(&live.snapshots, size);
        mean.truncate(keep);
        std.truncate(keep);
        Some((mean, std))
    }

    /// The current channel of a `[3, out, out]` field, or zeros.
    fn channel_of(&self, field: Option<&[f32]>) -> Vec<f32> {
        let plane = self.plane();
        field.map_or_else(
            || vec![0.0; plane],
            |f| f[self.channel * plane..(self.channel + 1) * plane].to_vec(),
        )
    }

    /// Two `out × out` planes side by side.
    fn pair(&self, left: &[f32], right: &[f32]) -> Field2 {
        let n = self.size();
        let mut data = Vec::with_capacity(2 * n * n);
        for j in 0..n {
            data.extend_from_slice(&left[j * n..(j + 1) * n]);
            data.extend_from_slice(&right[j * n..(j + 1) * n]);
        }
        Field2 { nx: 2 * n, ny: n, data }
    }

    /// The samples of the current channel in a grid of tiles twice as wide as high, the first
    /// at the top left (blank tiles at 0 for those still to come).
    fn strip(&self) -> Field2 {
        let n = self.size();
        let rows = ((self.count as f64 / 2.0).sqrt().ceil() as usize).max(1);
        let columns = 2 * rows;
        let (nx, ny) = (columns * n, rows * n);
        let mut data = vec![0.0; nx * ny];
        for k in 0..self.drawn() {
            let (tx, ty) = (k % columns, rows - 1 - k / columns);
            let tile = self.sample_plane(k, self.channel);
            for j in 0..n {
                let row = (ty * n + j) * nx + tx * n;
                data[row..row + n].copy_from_slice(&tile[j * n..(j + 1) * n]);
            }
        }
        Field2 { nx, ny, data }
    }

    /// The current channel's standard deviation along the wake line, for both.
    fn wake_profiles(&self) -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
        let n = self.size();
        let column = ((WAKE_LINE_X / WINDOW_CHORDS * n as f64) as usize).min(n - 1);
        let profile = |stats: Option<(Vec<f32>, Vec<f32>)>| -> Vec<[f64; 2]> {
            let Some((_, std)) = stats else { return Vec::new() };
            let std = self.channel_of(Some(&std));
            (0..n)
                .filter(|j| self.mask[j * n + column] < 0.5)
                .map(|j| {
                    let y = (j as f64 + 0.5) * WINDOW_CHORDS / n as f64;
                    [y, f64::from(std[j * n + column])]
                })
                .collect()
        };
        (profile(self.model_statistics()), profile(self.solver_statistics()))
    }
}

/// The stored window's side, in chords.
const WINDOW_CHORDS: f64 = 3.0;

fn channel_index(name: &str) -> usize {
    CHANNELS.iter().position(|c| *c == name).unwrap_or(0)
}

/// What the condition is to the model: a training condition, between or beyond its training
/// speeds, or a shape it never saw.
fn condition_notices(surrogate: &Surrogate, naca: &str, alpha: f64, u: f64) -> Vec<String> {
    let code = crate::datasets::airfoil_uncertainty::naca_number(naca).unwrap_or(f64::NAN);
    let speeds: Vec<f64> = surrogate
        .train
        .iter()
        .filter(|c| c[0] == code && (c[1] - alpha).abs() < 1e-6)
        .map(|c| c[2])
        .collect();
    let model = surrogate.kind.name();
    if speeds.is_empty() {
        let mut shapes: Vec<String> =
            surrogate.train.iter().map(|c| format!("NACA {:04} at {}°", c[0], c[1])).collect();
        shapes.dedup();
        return vec![format!(
            "The {model} model learned {} only: NACA {naca} at {alpha}° is outside its \
             training, so expect it to be wrong (the solver on the right is not)",
            shapes.join(", ")
        )];
    }
    let (lo, hi) = speeds.iter().fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    let text = if speeds.iter().any(|&v| (v - u).abs() < 1e-9) {
        format!("u = {u} is one of the {model} model's training speeds")
    } else if (lo..=hi).contains(&u) {
        let below = speeds.iter().copied().filter(|&v| v < u).fold(lo, f64::max);
        let above = speeds.iter().copied().filter(|&v| v > u).fold(hi, f64::min);
        format!("u = {u} lies between the training speeds {below} and {above}: interpolation")
    } else {
        format!("u = {u} lies beyond the training speeds ({lo}–{hi}): extrapolation")
    };
    vec![text]
}

impl Case for AirfoilUncertaintyCase {
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
        let spec = SPEC
            .param(name)
            .ok_or_else(|| CaseError::UnknownCase(format!("no parameter '{name}'")))?;
        if spec.needs_reset {
            return Err(CaseError::NeedsReset(name.into()));
        }
        self.params.set(SPEC.id, SPEC.params, name, value)?;
        self.channel = channel_index(self.params.choice("channel"));
        Ok(())
    }

    /// `n` slices; on the GPU the passes are submitted back to back and, natively, waited for
    /// (in the browser they come in through [`crate::Simulation::poll`]).
    fn step(&mut self, n: u32) -> Result<(), CaseError> {
        for _ in 0..n {
            self.slice(true)?;
        }
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(gpu) = &self.gpu {
            let device = &gpu.batches.model.recorder().context().device;
            buffers::wait_idle(device).map_err(CaseError::Gpu)?;
        }
        self.take_in()?;
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.slices
    }

    /// The solver's time in the data's units (chord times at the free-stream speed are 1/u).
    fn time(&self) -> f64 {
        self.solver.as_ref().map_or(0.0, |l| l.solver.case.time() / self.u)
    }

    fn dt(&self) -> f64 {
        self.solver.as_ref().map_or(0.0, |l| l.solver.case.dt() / self.u)
    }

    fn domain(&self) -> Domain {
        [[0.0, 2.0 * WINDOW_CHORDS], [0.0, WINDOW_CHORDS]]
    }

    fn shape(&self) -> Option<[usize; 2]> {
        Some([self.size(), self.size()])
    }

    fn read_view(&self, name: &str) -> Result<Field2, CaseError> {
        let (model, solver) = (self.model_statistics(), self.solver_statistics());
        let pick = |stats: &Option<(Vec<f32>, Vec<f32>)>, std: bool| {
            self.channel_of(stats.as_ref().map(|(m, s)| if std { s } else { m }.as_slice()))
        };
        Ok(match name {
            "mean" => self.pair(&pick(&model, false), &pick(&solver, false)),
            "std" => self.pair(&pick(&model, true), &pick(&solver, true)),
            "sample" => {
                let first = (self.drawn() > 0).then(|| self.sample_plane(0, self.channel).to_vec());
                let now = match &self.solver {
                    Some(live) => Some(
                        live.solver.snapshot().map_err(CaseError::Diverged)?[..3 * self.plane()]
                            .to_vec(),
                    ),
                    None => None,
                };
                let zeros = vec![0.0; self.plane()];
                self.pair(first.as_deref().unwrap_or(&zeros), &self.channel_of(now.as_deref()))
            }
            "strip" => self.strip(),
            _ => return Err(flowscope_core::case::unknown_view(&SPEC, name)),
        })
    }

    fn observables(&self) -> Result<Vec<f64>, CaseError> {
        let snapshots = self.solver.as_ref().map_or(0, |l| l.count);
        let (mut mean_error, mut std_error) = (0.0, 0.0);
        if let (Some((mm, ms)), Some((sm, ss))) =
            (self.model_statistics(), self.solver_statistics())
        {
            if snapshots >= 2 {
                mean_error = relative_errors(&mm, &sm, &self.mask)[self.channel];
                std_error = relative_errors(&ms, &ss, &self.mask)[self.channel];
            }
        }
        Ok(vec![self.drawn() as f64, mean_error, std_error, snapshots as f64])
    }

    fn interact(&mut self, _: &Interaction) -> Result<(), CaseError> {
        Err(CaseError::BadInteraction("this case has nothing to paint or drag".into()))
    }

    fn notices(&self) -> &[String] {
        &self.notices
    }

    fn inapplicable_observables(&self) -> Vec<&'static str> {
        if self.params().choice("solver") == "off" {
            vec!["mean_error", "std_error", "snapshots"]
        } else {
            Vec::new()
        }
    }

    fn plots(&self) -> Result<Vec<Plot>, CaseError> {
        let (model, solver) = self.wake_profiles();
        let channel = CHANNELS[self.channel];
        let nu = self.surrogate.options.float("nu").map_err(CaseError::Model)?;
        let at = |conditions: &[[f64; 3]]| -> Vec<[f64; 2]> {
            conditions.iter().map(|c| [c[2], c[2] / nu]).collect()
        };
        let re = self.u / nu;
        Ok(vec![
            Plot {
                name: "wake",
                title: format!(
                    "Standard deviation of {channel} across the wake, {WAKE_LINE_X} chords into \
                     the window"
                ),
                x_label: "y (chords)",
                y_label: "standard deviation",
                series: vec![
                    Series::line(format!("{} samples", self.surrogate.kind.name()), model),
                    Series::markers("solver snapshots", solver),
                ],
            },
            Plot {
                name: "speeds",
                title: "Training speeds, test speeds and this one".into(),
                x_label: "u",
                y_label: "Re",
                series: vec![
                    Series::markers("training", at(&self.surrogate.train)),
                    Series::markers("test (held out)", at(&self.surrogate.test)),
                    Series::line("this condition", vec![[self.u, 0.0], [self.u, re]]),
                ],
            },
        ])
    }
}

impl crate::Simulation for AirfoilUncertaintyCase {
    fn gpu_view(&self, _: &str) -> Option<crate::GpuView<'_>> {
        None
    }

    fn step_slice(&mut self) -> Result<(), CaseError> {
        self.take_in()?;
        let room = self.gpu.as_ref().is_none_or(|gpu| gpu.pending.len() < GPU_IN_FLIGHT);
        self.slice(room)
    }

    fn slices(&self) -> bool {
        true
    }

    fn progress(&self) -> Option<(String, f64)> {
        if self.drawn() >= self.count {
            return None;
        }
        let (done, all) = (self.passes_done, self.passes_in_all());
        let passes = self.plan.len().max(1);
        Some((
            format!(
                "{} of {} samples · step {} of {passes}",
                self.drawn(),
                self.count,
                done % passes + 1
            ),
            done as f64 / all as f64,
        ))
    }

    fn poll(&mut self) -> Result<bool, CaseError> {
        self.take_in()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(kind: Kind) -> Surrogate {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../public/models");
        let (bytes, _) = crate::read_model(&dir, kind.file()).unwrap();
        Surrogate::from_bytes(&bytes, kind).unwrap()
    }

    /// The shipped models load with their normalisation, sample finite fields that are the same
    /// for a seed and differ between seeds, are 0 inside the airfoil, and the GPU's samples are
    /// the CPU's.
    #[test]
    fn the_shipped_models_sample_reproducibly_on_both_backends() {
        let gpu = flowscope_gpu::context_for_tests();
        for kind in Kind::ALL {
            let model = shipped(kind);
            assert_eq!(model.size().unwrap(), 32);
            assert_eq!(model.train.len(), 5, "{kind:?}: the published five training speeds");
            let mask = model.mask("0012", 20.0).unwrap();
            let solid = mask.iter().filter(|&&m| m > 0.5).count();
            assert!((5..60).contains(&solid), "{kind:?}: {solid} solid cells");
            let steps = if kind == Kind::Heteroscedastic { 1 } else { 4 };
            let seeds = sample_seeds(3, 9);
            let draw = |seeds: &[u32]| model.sample(&mask, 20.0, 1.1, steps, seeds, &mut |_, _| {});
            let a = draw(&seeds).unwrap();
            assert_eq!(a.len(), 3 * 3 * 32 * 32);
            assert_eq!(a, draw(&seeds).unwrap(), "{kind:?}: the same seeds, the same samples");
            assert_ne!(a, draw(&sample_seeds(3, 10)).unwrap(), "{kind:?}");
            let plane = 32 * 32;
            assert_ne!(a[..3 * plane], a[3 * plane..6 * plane], "{kind:?}: samples differ");
            for (k, m) in mask.iter().enumerate() {
                assert!(*m < 0.5 || a[plane + k] == 0.0, "{kind:?}: ux inside the airfoil");
            }
            // ux is about the free stream (u = 1.1) away from the airfoil.
            let far = a[plane + 31 * 32];
            assert!((0.5..1.8).contains(&far), "{kind:?}: ux at the top left corner {far}");
            if let Some(ctx) = &gpu {
                let b = model.sample_gpu_blocking(ctx, &mask, 20.0, 1.1, steps, &seeds).unwrap();
                let error = a.iter().zip(&b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
                assert!(error < 2e-3, "{kind:?}: the GPU's samples differ by {error}");
            }
        }
        assert!(shipped(Kind::Ddpm).plan(0).is_err());
        assert!(shipped(Kind::FlowMatching).plan(2000).is_err());
    }

    fn case_with(kind: Kind, settings: &[(&str, &str)]) -> AirfoilUncertaintyCase {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../public/models");
        let (bytes, _) = crate::read_model(&dir, kind.file()).unwrap();
        let models = crate::ModelFiles::from([(kind.file().to_string(), bytes)]);
        let mut params = SPEC.defaults();
        SPEC.set_text(&mut params, "model", kind.name()).unwrap();
        for (name, value) in settings {
            SPEC.set_text(&mut params, name, value).unwrap();
        }
        AirfoilUncertaintyCase::new(&params, &models, None).unwrap()
    }

    /// The case draws what `Surrogate::sample` (and so the CLI) draws for its seed, batch by
    /// batch under a progress bar, on the CPU and (to float rounding) on the GPU.
    #[test]
    fn the_case_draws_the_cli_samples_batch_by_batch_on_both_backends() {
        use crate::Simulation;
        let settings = [("samples", "6"), ("steps", "3"), ("seed", "5"), ("solver", "off")];
        let model = shipped(Kind::FlowMatching);
        let mask = model.mask("0012", 20.0).unwrap();
        let seeds = sample_seeds(6, 5);
        let expected = model.sample(&mask, 20.0, 1.125, 3, &seeds, &mut |_, _| {}).unwrap();
        let mut cpu = case_with(Kind::FlowMatching, &settings);
        assert_eq!(cpu.progress().unwrap().1, 0.0);
        cpu.step(3).unwrap();
        assert_eq!(cpu.observables().unwrap()[0], 4.0, "the first batch of four is in");
        let (label, fraction) = cpu.progress().unwrap();
        assert_eq!(fraction, 0.5, "{label}");
        cpu.step(3).unwrap();
        assert_eq!(cpu.drawn(), 6);
        assert!(cpu.progress().is_none(), "no progress bar once all are in");
        let differ =
            |a: &[f32], b: &[f32]| a.iter().zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        assert_eq!(cpu.samples.len(), expected.len());
        assert!(differ(&cpu.samples, &expected) < 1e-4, "{}", differ(&cpu.samples, &expected));
        let strip = cpu.read_view("strip").unwrap();
        assert_eq!((strip.nx, strip.ny), (4 * 32, 2 * 32), "six tiles in a 4 × 2 grid");
        let std = cpu.read_view("std").unwrap();
        assert_eq!((std.nx, std.ny), (64, 32), "the model beside the solver");
        assert!(std.data.iter().any(|&v| v > 0.0), "the samples differ");
        assert!(cpu.step(1).is_ok(), "stepping on after the last sample is harmless");

        let Some(ctx) = flowscope_gpu::context_for_tests() else { return };
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../public/models");
        let (bytes, _) = crate::read_model(&dir, Kind::FlowMatching.file()).unwrap();
        let models = crate::ModelFiles::from([(Kind::FlowMatching.file().to_string(), bytes)]);
        let mut gpu = AirfoilUncertaintyCase::new(&cpu.params, &models, Some(&ctx)).unwrap();
        gpu.step(3).unwrap();
        assert_eq!(gpu.drawn(), 6, "one batch of six on the device");
        assert!(differ(&gpu.samples, &expected) < 2e-3, "{}", differ(&gpu.samples, &expected));
    }

    /// The solver runs beside the model at the same condition and gathers snapshots; the
    /// observables, views and plots compare both; the notices place the condition.
    #[test]
    fn the_solver_beside_gathers_its_own_spread() {
        let mut case = case_with(Kind::Heteroscedastic, &[("samples", "8")]);
        assert!(case
            .notices()
            .iter()
            .any(|n| n.contains("between the training speeds 1 and 1.25")));
        for _ in 0..100 {
            if case.observables().unwrap()[3] >= 2.0 {
                break;
            }
            case.step(40).unwrap();
        }
        let [samples, mean_error, std_error, snapshots] = case.observables().unwrap()[..] else {
            panic!()
        };
        assert_eq!(samples, 8.0);
        assert!(snapshots >= 2.0, "{snapshots}");
        assert!(mean_error > 0.0 && mean_error.is_finite(), "{mean_error}");
        assert!(std_error > 0.0 && std_error.is_finite(), "{std_error}");
        assert!(case.time() > 15.0 / 1.125, "past the warm-up: {}", case.time());
        let mean = case.read_view("mean").unwrap();
        let solver_half = (0..32).flat_map(|j| mean.data[j * 64 + 32..j * 64 + 64].to_vec());
        assert!(solver_half.into_iter().any(|v| v != 0.0), "the solver's mean is drawn");
        let plots = case.plots().unwrap();
        assert!(
            plots[0].series.iter().all(|s| s.points.len() > 20),
            "both spreads across the wake"
        );
        assert_eq!(plots[1].series[0].points.len(), 5, "the five training speeds");
        let before = case.read_view("sample").unwrap();
        case.set_param("channel", ParamValue::Enum("p".into())).unwrap();
        assert_ne!(before, case.read_view("sample").unwrap(), "the channel applies at once");
        assert!(matches!(
            case.set_param("samples", ParamValue::Int(4)),
            Err(CaseError::NeedsReset(_))
        ));
        let unseen = case_with(Kind::Heteroscedastic, &[("naca", "2412"), ("alpha", "15")]);
        assert!(unseen.notices()[0].contains("outside its training"), "{:?}", unseen.notices());
        let beyond = case_with(Kind::Heteroscedastic, &[("u", "1.75")]);
        assert!(beyond.notices()[0].contains("extrapolation"), "{:?}", beyond.notices());
    }
}
