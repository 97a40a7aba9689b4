//! `smdp-heat` (contract id): the heat inverse problem of SMDP (Holzschuh, Vegetti, Thuerey
//! 2023). A hidden initial field, a Gaussian random field with power spectrum ∝ |k|^−4 on a
//! periodic 2π box, diffuses under ∂u/∂t = Δu to t = 0.2 in exact spectral steps, each followed
//! by noise g √Δt z; from the blurred, noisy end state alone, the backward process samples
//! plausible initial fields: the inverse spectral step (each mode times exp(|k|² Δt), clipped)
//! plus a learned correction, a UNet with circular padding (training/train_smdp.py). The
//! backward step itself is the nn room's [`flowscope_nn::smdp`]; the spectral steps are the
//! spectral room's [`ExactStep`]. The case plays the forward run, then the backward process
//! step by step, on the CPU or with the backward process on the GPU.

use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    Backend, Case, CaseError, CaseSpec, Domain, Field2, Interaction, InteractionKind,
    ObservableSpec, ParamValue, ParamValues, Plot, Preset, Series, ViewKind, ViewSpec,
};
use flowscope_gpu::{buffers, wgpu, GpuContext};
use flowscope_nn::diffusion::normal;
use flowscope_nn::smdp::{self, GpuBackward, Method};
use flowscope_nn::{GpuModel, Model, Tensor};
use flowscope_spectral::fft::Fft2;
use flowscope_spectral::heat::exact::{wavenumbers_squared, ExactStep, GpuExactStep, StepSpec};
use rustfft::num_complex::Complex32;
use std::f64::consts::TAU;

pub const MODEL_FILE: &str = "smdp-heat.safetensors";

/// A Gaussian random field of `n × n` values with power spectrum ∝ |k|^(−exponent), zero mean
/// and unit standard deviation, from `seed`'s noise (draw 0).
pub fn random_field(n: usize, exponent: f64, seed: u32) -> Vec<f32> {
    let k2 = wavenumbers_squared(n, n, TAU, TAU);
    let mut spectrum: Vec<Complex32> = k2
        .iter()
        .enumerate()
        .map(|(c, &k2)| {
            let amplitude = if k2 == 0.0 { 0.0 } else { k2.powf(-exponent / 4.0) as f32 };
            let (re, im) = (normal(seed, 0, 2 * c as u32), normal(seed, 0, 2 * c as u32 + 1));
            Complex32::new(re, im) * amplitude
        })
        .collect();
    Fft2::new(n, n).inverse(&mut spectrum);
    let u: Vec<f64> = spectrum.iter().map(|c| f64::from(c.re)).collect();
    let mean = u.iter().sum::<f64>() / u.len() as f64;
    let std = (u.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / u.len() as f64).sqrt();
    u.iter().map(|v| ((v - mean) / std.max(1e-30)) as f32).collect()
}

/// The forward problem: box, time grid, noise, and the clip of the inverse step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeatProblem {
    /// Cells per side of the periodic 2π box.
    pub n: usize,
    pub diffusivity: f64,
    pub t_end: f64,
    pub steps: usize,
    /// g: each forward step adds g √Δt z.
    pub noise: f64,
    /// The largest gain of a mode in one backward step.
    pub inverse_clip: f64,
    /// The initial fields' power spectrum falls as |k|^−exponent.
    pub exponent: f64,
}

impl HeatProblem {
    pub fn dt(&self) -> f64 {
        self.t_end / self.steps as f64
    }

    pub fn cells(&self) -> usize {
        self.n * self.n
    }

    pub fn forward_step(&self) -> ExactStep {
        let (n, l) = (self.n, TAU);
        ExactStep::new(n, n, l, l, self.diffusivity, self.dt(), None)
    }

    pub fn inverse_step(&self) -> ExactStep {
        let (n, l) = (self.n, TAU);
        ExactStep::new(n, n, l, l, self.diffusivity, self.dt(), Some(self.inverse_clip))
    }

    /// The hidden initial field of `seed`.
    pub fn truth(&self, seed: u32) -> Vec<f32> {
        random_field(self.n, self.exponent, seed)
    }

    /// Forward step number `s` (1 …) of `u` under `seed`: the exact step, then g √Δt z.
    pub fn noisy_step(&self, step: &ExactStep, u: &mut [f32], seed: u32, s: u32) {
        step.apply(u);
        let spread = (self.noise * self.dt().sqrt()) as f32;
        for (c, v) in u.iter_mut().enumerate() {
            *v += spread * normal(seed, s, c as u32);
        }
    }

    /// The noisy forward run from `u0` under `seed`: every state, `steps + 1` fields one after
    /// the other (the first is `u0`, the last the observation).
    pub fn trajectory(&self, u0: &[f32], seed: u32) -> Vec<f32> {
        let step = self.forward_step();
        let mut u = u0.to_vec();
        let mut all = u.clone();
        for s in 1..=self.steps as u32 {
            self.noisy_step(&step, &mut u, seed, s);
            all.extend_from_slice(&u);
        }
        all
    }

    /// The baseline: the clipped inverse step alone, `steps` times from the observation.
    pub fn naive_inverse(&self, observation: &[f32]) -> Vec<f32> {
        let inverse = self.inverse_step();
        let mut u = observation.to_vec();
        (0..self.steps).for_each(|_| inverse.apply(&mut u));
        u
    }
}

/// The learned correction c_θ(x, t) = scale · f(x, t/Δt) ≈ g² ∇ log p_t(x) of the network f,
/// with the problem it was trained for.
pub struct HeatScore {
    pub model: Model,
    pub problem: HeatProblem,
    /// c_θ per unit of the network's output (1/Δt: f is the step's correction Δt c_θ).
    pub scale: f64,
}

impl HeatScore {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let extra = crate::model_extra(bytes, "smdp-heat")?;
        if !extra["time_input"].as_str().is_some_and(|s| s.starts_with("t / dt")) {
            return Err(
                "the model's time input is not t / dt: retrain with training/train_smdp.py".into(),
            );
        }
        let heat = &extra["heat"];
        let number = |key: &str| {
            heat[key].as_f64().ok_or_else(|| format!("the model's 'heat' metadata has no '{key}'"))
        };
        let problem = HeatProblem {
            n: number("n")? as usize,
            diffusivity: number("diffusivity")?,
            t_end: number("t_end")?,
            steps: number("steps")? as usize,
            noise: number("noise")?,
            inverse_clip: number("inverse_clip")?,
            exponent: number("exponent")?,
        };
        if problem.n < 4
            || !problem.n.is_power_of_two()
            || problem.steps == 0
            || !(problem.t_end > 0.0 && problem.inverse_clip >= 1.0)
        {
            return Err(format!("the model's heat problem is not usable: {problem:?}"));
        }
        let scale =
            extra["correction_scale"].as_f64().filter(|s| s.is_finite() && *s > 0.0).ok_or(
                "the model has no positive 'correction_scale': retrain with training/train_smdp.py",
            )?;
        let (_, model) = Model::from_bytes(bytes).map_err(|e| e.to_string())?;
        Ok(Self { model, problem, scale })
    }

    /// c_θ of a batch of fields `x` (`[K · n · n]`) at step `step` (time step · Δt).
    pub fn correction(&self, x: &[f32], step: usize) -> Result<Vec<f32>, String> {
        let n = self.problem.n;
        let batch = x.len() / self.problem.cells();
        let input = Tensor::new(vec![batch, 1, n, n], x.to_vec()).map_err(|e| e.to_string())?;
        let t = vec![step as f32; batch];
        let f = self.model.forward(&input, Some(&t), None).map_err(|e| e.to_string())?.data;
        Ok(f.into_iter().map(|v| (f64::from(v) * self.scale) as f32).collect())
    }

    /// One backward step of a batch of fields from step `step` to `step − 1`, field k's noise
    /// from `seeds[k]` (the ODE draws none).
    pub fn backward(
        &self,
        inverse: &ExactStep,
        x: &[f32],
        step: usize,
        method: Method,
        seeds: &[u32],
    ) -> Result<Vec<f32>, String> {
        let cells = self.problem.cells();
        let mut stepped = x.to_vec();
        stepped.chunks_mut(cells).for_each(|u| inverse.apply(u));
        let correction = self.correction(x, step)?;
        let (g, dt) = (self.problem.noise, self.problem.dt());
        Ok(smdp::backward_step(&stepped, &correction, g, dt, method, seeds, cells, step as u32))
    }

    /// `seeds.len()` posterior samples of the initial field given the observation, by the whole
    /// backward process; `each` sees the batch after every step (its step number, then the
    /// fields).
    pub fn sample(
        &self,
        observation: &[f32],
        method: Method,
        seeds: &[u32],
        mut each: impl FnMut(usize, &[f32]),
    ) -> Result<Vec<f32>, String> {
        let inverse = self.problem.inverse_step();
        let start: Vec<f32> =
            observation.iter().copied().cycle().take(seeds.len() * observation.len()).collect();
        (1..=self.problem.steps).rev().try_fold(start, |x, step| {
            let next = self.backward(&inverse, &x, step, method, seeds)?;
            each(step - 1, &next);
            Ok(next)
        })
    }
}

/// The backward process on the GPU for a batch of samples: the inverse spectral step
/// (spectral room), the network (nn room) and the SMDP update, all on the device; the samples
/// live in the network's input buffer, [`GpuHeatSampler::samples`].
pub struct GpuHeatSampler {
    model: GpuModel,
    inverse: GpuExactStep,
    backward: GpuBackward,
    problem: HeatProblem,
    scale: f64,
    batch: usize,
}

impl GpuHeatSampler {
    pub fn new(ctx: &GpuContext, score: &HeatScore, batch: usize) -> Result<Self, String> {
        let problem = score.problem;
        let n = problem.n;
        let model =
            GpuModel::new(ctx, &score.model, &[batch, 1, n, n], None).map_err(|e| e.to_string())?;
        let stepped = buffers::storage_zeros(&ctx.device, "smdp B(x)", batch * n * n);
        let spec = StepSpec {
            nx: n,
            ny: n,
            lx: TAU,
            ly: TAU,
            d: problem.diffusivity,
            dt: problem.dt(),
            inverse: Some(problem.inverse_clip),
        };
        let inverse = GpuExactStep::new(ctx, spec, batch, &model.input().buffer, &stepped)?;
        let backward = GpuBackward::new(&model, &stepped).map_err(|e| e.to_string())?;
        Ok(Self { model, inverse, backward, problem, scale: score.scale, batch })
    }

    /// Every sample starts from the observation.
    pub fn start(&self, observation: &[f32]) -> Result<(), String> {
        let n = self.problem.n;
        let start = Tensor::new(
            vec![self.batch, 1, n, n],
            observation.iter().copied().cycle().take(self.batch * n * n).collect(),
        )
        .map_err(|e| e.to_string())?;
        self.model.recorder().write(self.model.input(), &start).map_err(|e| e.to_string())
    }

    /// Submits the backward step from step `step` to `step − 1`.
    pub fn submit_step(&self, step: usize, method: Method, seeds: &[u32]) -> Result<(), String> {
        let (g, dt) = (self.problem.noise, self.problem.dt());
        self.model.set_noise_levels(&vec![step as f32; self.batch]).map_err(|e| e.to_string())?;
        self.backward
            .prepare(&self.model, g, dt, self.scale, method, seeds, step as u32)
            .map_err(|e| e.to_string())?;
        let ctx = self.model.recorder().context();
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        self.inverse.encode(&mut encoder);
        self.model.recorder().encode(&mut encoder);
        self.backward.encode(&mut encoder);
        ctx.queue.submit([encoder.finish()]);
        Ok(())
    }

    /// The buffer of the samples (f32 `[batch, n, n]`).
    pub fn samples(&self) -> &wgpu::Buffer {
        &self.model.input().buffer
    }

    /// The whole backward process from the observation, read back at the end (native: the
    /// CLI, tests and benchmarks); `each` is called after each step's submission.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn sample_blocking(
        &self,
        observation: &[f32],
        method: Method,
        seeds: &[u32],
        mut each: impl FnMut(),
    ) -> Result<Vec<f32>, String> {
        self.start(observation)?;
        for step in (1..=self.problem.steps).rev() {
            self.submit_step(step, method, seeds)?;
            each();
        }
        let ctx = self.model.recorder().context();
        buffers::read_blocking(&ctx.device, &ctx.queue, self.samples())
    }
}

/// The seeds of the backward process's noise for `count` samples under `seed` (apart from the
/// forward run's).
pub fn backward_seeds(count: usize, seed: u32) -> Vec<u32> {
    crate::smdp_toy::backward_seeds(count, seed)
}

/// The radially averaged power spectrum of an `n × n` field: mean |û|² per integer shell
/// |k| ∈ [m − ½, m + ½), m = 1 … n/2 (û normalised by the cell count).
pub fn power_spectrum(u: &[f32], n: usize) -> Vec<f64> {
    let mut spectrum: Vec<Complex32> = u.iter().map(|&v| Complex32::new(v, 0.0)).collect();
    Fft2::new(n, n).forward(&mut spectrum);
    let k2 = wavenumbers_squared(n, n, TAU, TAU);
    let (mut sum, mut count) = (vec![0.0; n / 2], vec![0usize; n / 2]);
    let scale = 1.0 / (n * n) as f64;
    for (c, &k2) in spectrum.iter().zip(&k2) {
        let shell = k2.sqrt().round() as usize;
        if (1..=n / 2).contains(&shell) {
            sum[shell - 1] += f64::from(c.norm_sqr()) * scale * scale;
            count[shell - 1] += 1;
        }
    }
    sum.iter().zip(&count).map(|(s, &c)| s / c.max(1) as f64).collect()
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "method",
        label: "Backward process",
        unit: "",
        help: "The reverse-time SDE draws a different initial field per sample; the \
            probability-flow ODE gives one, without noise.",
        kind: ParamKind::Enum { options: &["sde", "ode"], default: "sde" },
        needs_reset: true,
    },
    ParamSpec {
        name: "samples",
        label: "Samples",
        unit: "",
        help: "Posterior samples drawn at once (the ODE's are all the same).",
        kind: ParamKind::Int { min: 1, max: 16, default: 4 },
        needs_reset: true,
    },
    ParamSpec {
        name: "seed",
        label: "Seed",
        unit: "",
        help: "Chooses the hidden initial field and the noise; the same seed gives what \
            `flowscope sample smdp-heat` draws. Paint on the field before it starts to change it.",
        kind: ParamKind::Int { min: 0, max: 999_999, default: 0 },
        needs_reset: true,
    },
];

const fn field_view(
    name: &'static str,
    label: &'static str,
    colormap: &'static str,
    range: (f32, f32),
) -> ViewSpec {
    ViewSpec { name, label, unit: "", kind: ViewKind::Scalar, range: Some(range), colormap }
}
/// The model and the fixed buffers, then what each of the `samples` adds; measured by
/// tests/budget.rs.
fn cost(params: &ParamValues) -> flowscope_core::Cost {
    let each = params.int("samples") as u64;
    flowscope_core::Cost {
        bytes: (1 << 20) + each * (64 << 10),
        set_by: &["samples"],
        ..Default::default()
    }
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "smdp-heat",
    title: "Un-blurring heat (SMDP)",
    summary: "A field blurred by diffusion and noise; a learned score samples where it began.",
    explanation: "A hidden initial field (a random smooth pattern, or paint your own) diffuses \
        under ∂u/∂t = Δu until t = 0.2, with a little noise added at every step: the fine detail \
        is gone. Running diffusion backwards amplifies every speck of noise, so the inverse \
        physics alone can only sharpen the blur a little. The backward process adds a learned \
        correction — a small network trained on this site's own forward runs, the score of the \
        fields at each time — and draws many different initial fields that all fit the blurred \
        end state: the reverse SDE gives distinct, sharp samples (their spread shows what the \
        observation cannot tell), the probability-flow ODE one smoother field. The first 20 \
        steps run the physics forward, the next 20 run it back.",
    reference: "B. Holzschuh, S. Vegetti, N. Thuerey, Solving inverse physics problems with score \
        matching, NeurIPS 2023 (SMDP).",
    group: "learned",
    params: PARAMS,
    views: &[
        field_view("samples", "The posterior samples, side by side", "coolwarm", (-3.0, 3.0)),
        field_view("truth", "The hidden initial field (ground truth)", "coolwarm", (-3.0, 3.0)),
        field_view(
            "observation",
            "The forward run: its state now, then what was observed",
            "coolwarm",
            (-3.0, 3.0),
        ),
        field_view("mean", "The samples' mean", "coolwarm", (-3.0, 3.0)),
        field_view("std", "The samples' standard deviation", "inferno", (0.0, 1.0)),
    ],
    observables: &[
        ObservableSpec {
            name: "mse",
            label: "MSE of the samples' mean against the forward run",
            unit: "",
        },
        ObservableSpec {
            name: "spread",
            label: "Mean standard deviation of the samples",
            unit: "",
        },
        ObservableSpec {
            name: "naive_mse",
            label: "MSE of the naive inverse (the clipped inverse step alone) against the truth",
            unit: "",
        },
    ],
    interactions: &[InteractionKind::PaintScalar],
    presets: &[
        Preset { name: "sde", label: "Reverse SDE: four posterior samples", params: &[] },
        Preset { name: "many", label: "Sixteen samples", params: &[("samples", "16")] },
        Preset {
            name: "ode",
            label: "Probability-flow ODE",
            params: &[("method", "ode"), ("samples", "1")],
        },
    ],
    exchange: None,
    models: &[MODEL_FILE],
    gpu: true,
    cost,
};

/// The backward process on the device, with its read-backs in flight.
struct HeatGpu {
    ctx: GpuContext,
    sampler: GpuHeatSampler,
    /// Read-backs of the samples after a step, with the step they came from (the number of
    /// steps taken once it lands).
    pending: std::collections::VecDeque<(buffers::PendingRead, usize)>,
    /// Steps submitted (forward and backward), ahead of `taken` while reads are in flight.
    submitted: usize,
}

pub struct SmdpHeatCase {
    params: ParamValues,
    score: HeatScore,
    method: Method,
    seed: u32,
    seeds: Vec<u32>,
    truth: Vec<f32>,
    /// The forward run's states so far (the first is the truth as painted).
    forward: Vec<Vec<f32>>,
    /// The samples as last known on the CPU, `[K · n · n]`.
    samples: Vec<f32>,
    /// Steps taken: forward 1 … S, then backward S + 1 … 2S.
    taken: usize,
    /// MSE of the samples' mean against the forward run's state, per backward time.
    errors: Vec<[f64; 2]>,
    /// MSE of the naive inverse against the truth, once observed.
    naive: Option<f64>,
    gpu: Option<HeatGpu>,
    notices: Vec<String>,
}

impl SmdpHeatCase {
    pub fn new(
        params: &ParamValues,
        models: &crate::ModelFiles,
        gpu: Option<&GpuContext>,
    ) -> Result<Self, CaseError> {
        let params = SPEC.complete(params)?;
        let bytes = models
            .get(MODEL_FILE)
            .ok_or(CaseError::MissingModel { case: SPEC.id, file: MODEL_FILE })?;
        let score = HeatScore::from_bytes(bytes).map_err(CaseError::Model)?;
        let method = Method::parse(params.choice("method")).map_err(CaseError::Model)?;
        let (count, seed) = (params.int("samples") as usize, params.int("seed") as u32);
        let truth = score.problem.truth(seed);
        let gpu = match gpu {
            None => None,
            Some(ctx) => Some(HeatGpu {
                sampler: GpuHeatSampler::new(ctx, &score, count).map_err(CaseError::Gpu)?,
                ctx: ctx.clone(),
                pending: Default::default(),
                submitted: 0,
            }),
        };
        Ok(Self {
            params,
            method,
            seed,
            seeds: backward_seeds(count, seed),
            forward: vec![truth.clone()],
            samples: Vec::new(),
            truth,
            taken: 0,
            errors: Vec::new(),
            naive: None,
            gpu,
            notices: vec![
                "Paint on the hidden field now if you like; the first 20 steps blur it".into()
            ],
            score,
        })
    }

    fn cells(&self) -> usize {
        self.score.problem.cells()
    }

    fn count(&self) -> usize {
        self.seeds.len()
    }

    /// The forward step from the last state (the dataset's noise for this seed).
    fn forward_step(&mut self) -> Result<(), CaseError> {
        let problem = &self.score.problem;
        let s = self.forward.len() as u32;
        let mut u = self.forward.last().expect("the truth").clone();
        problem.noisy_step(&problem.forward_step(), &mut u, self.seed, s);
        self.forward.push(u);
        if self.forward.len() == problem.steps + 1 {
            let observation = self.forward[problem.steps].clone();
            self.samples = observation.repeat(self.count());
            self.naive = Some(mse(&problem.naive_inverse(&observation), &self.forward[0]));
            self.notices.push("Observed at t = 0.2: now the backward process".into());
            if let Some(gpu) = &self.gpu {
                // The device starts from what the CPU observed (the forward run stays here).
                gpu.sampler.start(&observation).map_err(CaseError::Gpu)?;
            }
        }
        Ok(())
    }

    /// Takes in backward samples that reached step `from − 1`.
    fn arrived(&mut self, samples: Vec<f32>, from: usize) -> Result<(), CaseError> {
        if let Some(bad) = samples.iter().find(|v| !v.is_finite()) {
            return Err(CaseError::Diverged(format!(
                "the backward process is no longer finite at t = {:.2} (value {bad})",
                (from - 1) as f64 * self.score.problem.dt()
            )));
        }
        self.samples = samples;
        let t = (from - 1) as f64 * self.score.problem.dt();
        let error = mse(&sample_mean(&self.samples, self.cells()), &self.forward[from - 1]);
        self.errors.push([t, error]);
        self.taken += 1;
        if self.taken == 2 * self.score.problem.steps {
            self.notices.push("Back at t = 0: reset or change the seed to draw again".into());
        }
        Ok(())
    }

    /// One step of either run; on the GPU a backward step is submitted and lands later.
    fn slice(&mut self) -> Result<(), CaseError> {
        let steps = self.score.problem.steps;
        let at = self.gpu.as_ref().map_or(self.taken, |gpu| gpu.submitted.max(self.taken));
        if at < steps {
            self.forward_step()?;
            self.taken += 1;
            if let Some(gpu) = &mut self.gpu {
                gpu.submitted = self.taken;
            }
            return Ok(());
        }
        if at >= 2 * steps {
            return Ok(());
        }
        let from = 2 * steps - at;
        match &mut self.gpu {
            None => {
                let inverse = self.score.problem.inverse_step();
                let next = self
                    .score
                    .backward(&inverse, &self.samples, from, self.method, &self.seeds)
                    .map_err(CaseError::Model)?;
                self.arrived(next, from)
            }
            Some(gpu) => {
                gpu.sampler.submit_step(from, self.method, &self.seeds).map_err(CaseError::Gpu)?;
                let len = self.seeds.len() * self.score.problem.cells();
                let read = buffers::PendingRead::start(
                    &gpu.ctx.device,
                    &gpu.ctx.queue,
                    gpu.sampler.samples(),
                    len,
                );
                gpu.pending.push_back((read, from));
                gpu.submitted = at + 1;
                Ok(())
            }
        }
    }

    /// On the GPU: takes in the read-backs that have landed, in order; true while more are on
    /// their way.
    fn take_in(&mut self) -> Result<bool, CaseError> {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(gpu) = &self.gpu {
            let _ = gpu.ctx.device.poll(wgpu::PollType::Poll);
        }
        loop {
            let Some(gpu) = &mut self.gpu else { return Ok(false) };
            let Some(values) = gpu.pending.front().and_then(|(read, _)| read.try_take()) else {
                return Ok(!gpu.pending.is_empty());
            };
            let (_, from) = gpu.pending.pop_front().expect("the front arrived");
            let values = values.map_err(CaseError::Gpu)?;
            if let Err(e) = self.arrived(values, from) {
                if let Some(gpu) = &mut self.gpu {
                    gpu.pending.clear();
                }
                return Err(e);
            }
        }
    }

    /// The samples side by side, in a near-square grid of tiles (blank tiles at 0).
    fn mosaic(&self) -> Field2 {
        let n = self.score.problem.n;
        let count = self.count();
        let columns = (count as f64).sqrt().ceil() as usize;
        let rows = count.div_ceil(columns);
        let (nx, ny) = (columns * n, rows * n);
        let mut data = vec![0.0; nx * ny];
        // Before the backward process, every sample is where it will start: the forward state.
        let now = self.forward.last().expect("the truth");
        let tiles: Vec<&[f32]> = if self.samples.is_empty() {
            vec![now; count]
        } else {
            self.samples.chunks(n * n).collect()
        };
        for (k, sample) in tiles.into_iter().enumerate() {
            // Sample 0 at the top left: tile rows count down from the top.
            let (tx, ty) = (k % columns, rows - 1 - k / columns);
            for j in 0..n {
                let row = (ty * n + j) * nx + tx * n;
                data[row..row + n].copy_from_slice(&sample[j * n..(j + 1) * n]);
            }
        }
        Field2 { nx, ny, data }
    }

    fn backward_started(&self) -> bool {
        !self.samples.is_empty()
    }
}

/// Mean squared difference of two fields.
pub fn mse(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum::<f64>() / a.len().max(1) as f64
}

/// The mean of a batch of fields, cell by cell.
pub fn sample_mean(x: &[f32], cells: usize) -> Vec<f32> {
    let k = (x.len() / cells).max(1);
    (0..cells).map(|c| x.iter().skip(c).step_by(cells).sum::<f32>() / k as f32).collect()
}

/// The standard deviation of a batch of fields, cell by cell (0 for a single field).
pub fn sample_std(x: &[f32], cells: usize) -> Vec<f32> {
    let k = x.len() / cells;
    let mean = sample_mean(x, cells);
    (0..cells)
        .map(|c| {
            if k < 2 {
                return 0.0;
            }
            let sum: f64 =
                x.iter().skip(c).step_by(cells).map(|v| f64::from(v - mean[c]).powi(2)).sum();
            (sum / (k - 1) as f64).sqrt() as f32
        })
        .collect()
}

impl Case for SmdpHeatCase {
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

    fn set_param(&mut self, name: &str, _: ParamValue) -> Result<(), CaseError> {
        SPEC.param(name).ok_or_else(|| CaseError::UnknownCase(format!("no parameter '{name}'")))?;
        Err(CaseError::NeedsReset(name.into()))
    }

    /// `n` steps; on the GPU the backward ones are submitted back to back and, natively, waited
    /// for (in the browser they come in through [`crate::Simulation::poll`]).
    fn step(&mut self, n: u32) -> Result<(), CaseError> {
        for _ in 0..n {
            self.slice()?;
        }
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(gpu) = &self.gpu {
            buffers::wait_idle(&gpu.ctx.device).map_err(CaseError::Gpu)?;
        }
        self.take_in()?;
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.taken as u64
    }

    fn time(&self) -> f64 {
        let steps = self.score.problem.steps;
        let at = if self.taken <= steps { self.taken } else { 2 * steps - self.taken };
        at as f64 * self.score.problem.dt()
    }

    fn dt(&self) -> f64 {
        self.score.problem.dt()
    }

    fn domain(&self) -> Domain {
        [[0.0, TAU], [0.0, TAU]]
    }

    fn shape(&self) -> Option<[usize; 2]> {
        Some([self.score.problem.n, self.score.problem.n])
    }

    fn read_view(&self, name: &str) -> Result<Field2, CaseError> {
        let n = self.score.problem.n;
        let field = |data: Vec<f32>| Field2 { nx: n, ny: n, data };
        let cells = self.cells();
        Ok(match name {
            "samples" => self.mosaic(),
            "truth" => field(self.forward[0].clone()),
            "observation" => field(self.forward.last().expect("the truth").clone()),
            "mean" if self.backward_started() => field(sample_mean(&self.samples, cells)),
            "std" if self.backward_started() => field(sample_std(&self.samples, cells)),
            "mean" | "std" => field(vec![0.0; cells]),
            _ => return Err(flowscope_core::case::unknown_view(&SPEC, name)),
        })
    }

    fn observables(&self) -> Result<Vec<f64>, CaseError> {
        let naive = self.naive.unwrap_or(0.0);
        if !self.backward_started() {
            return Ok(vec![0.0, 0.0, naive]);
        }
        let cells = self.cells();
        let spread = sample_std(&self.samples, cells).iter().map(|&v| f64::from(v)).sum::<f64>()
            / cells as f64;
        Ok(vec![self.errors.last().map_or(0.0, |e| e[1]), spread, naive])
    }

    fn interact(&mut self, interaction: &Interaction) -> Result<(), CaseError> {
        let Interaction::Paint { x, y, radius, value } = *interaction else {
            return Err(CaseError::BadInteraction(
                "the hidden field is painted, not dragged".into(),
            ));
        };
        if !(x.is_finite() && y.is_finite() && radius.is_finite() && value.is_finite()) {
            return Err(CaseError::BadInteraction("paint position must be finite".into()));
        }
        if self.taken > 0 {
            return Err(CaseError::BadInteraction(
                "the hidden field is painted before the forward run: reset to paint".into(),
            ));
        }
        let n = self.score.problem.n;
        let cell = TAU / n as f64;
        let blob = flowscope_spectral::heat::PaintBlob {
            cx: (x / cell) as f32,
            cy: (y / cell) as f32,
            radius: (radius / cell).max(0.5) as f32,
            // The fields have unit variance: paint up to 2.5 of it.
            value: 2.5 * value.clamp(0.0, 1.0),
        };
        flowscope_spectral::heat::cpu::paint(&mut self.forward[0], n, n, &blob);
        self.truth = self.forward[0].clone();
        Ok(())
    }

    fn notices(&self) -> &[String] {
        &self.notices
    }

    fn plots(&self) -> Result<Vec<Plot>, CaseError> {
        let n = self.score.problem.n;
        let shells = |e: Vec<f64>| -> Vec<[f64; 2]> {
            e.iter().enumerate().map(|(m, v)| [(m + 1) as f64, v.max(1e-30).log10()]).collect()
        };
        let mut series = vec![Series::markers("truth", shells(power_spectrum(&self.truth, n)))];
        if self.backward_started() {
            let k = self.count();
            let mut mean = vec![0.0; n / 2];
            for sample in self.samples.chunks(n * n) {
                for (m, v) in power_spectrum(sample, n).into_iter().enumerate() {
                    mean[m] += v / k as f64;
                }
            }
            series.push(Series::line("samples (mean spectrum)", shells(mean)));
        }
        let observed = self.forward.last().expect("the truth");
        series.push(Series::line("forward run now", shells(power_spectrum(observed, n))));
        Ok(vec![
            Plot {
                name: "spectra",
                title: "Power spectra: truth against the samples".into(),
                x_label: "|k|",
                y_label: "log10 |û|² per mode",
                series,
            },
            Plot {
                name: "error",
                title: "The samples' mean against the forward run, over backward time".into(),
                x_label: "t",
                y_label: "MSE",
                series: vec![Series::line("MSE of the mean", self.errors.clone())],
            },
        ])
    }
}

impl crate::Simulation for SmdpHeatCase {
    fn gpu_view(&self, _: &str) -> Option<crate::GpuView<'_>> {
        None
    }

    fn step_slice(&mut self) -> Result<(), CaseError> {
        self.take_in()?;
        // At most two backward steps in flight: the views follow the process closely.
        if self.gpu.as_ref().is_some_and(|gpu| gpu.pending.len() >= 2) {
            return Ok(());
        }
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

    fn problem() -> HeatProblem {
        HeatProblem {
            n: 32,
            diffusivity: 1.0,
            t_end: 0.2,
            steps: 20,
            noise: 0.1,
            inverse_clip: 1.1,
            exponent: 4.0,
        }
    }

    #[test]
    fn the_naive_inverse_sharpens_the_observation_towards_the_truth() {
        let p = problem();
        let truth = p.truth(7);
        let run = p.trajectory(&truth, 7);
        let observation = &run[p.steps * p.cells()..];
        let mse = |a: &[f32]| {
            a.iter().zip(&truth).map(|(x, y)| f64::from(x - y).powi(2)).sum::<f64>()
                / a.len() as f64
        };
        let naive = p.naive_inverse(observation);
        assert!(
            mse(&naive) < 0.7 * mse(observation),
            "naive inverse {} against the observation's {}",
            mse(&naive),
            mse(observation)
        );
    }

    #[test]
    fn a_single_mode_shows_in_its_shell_of_the_spectrum() {
        let n = 32;
        // cos(3x): |k| = 3, mean square ½ in the two modes ±3, each (½)².
        let u: Vec<f32> =
            (0..n * n).map(|c| (3.0 * TAU * (c % n) as f64 / n as f64).cos() as f32).collect();
        let spectrum = power_spectrum(&u, n);
        let top = spectrum.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(top, 2, "shell |k| = 3 holds the energy: {spectrum:?}");
        assert!(spectrum.iter().enumerate().all(|(m, &e)| m == 2 || e < 1e-10));
    }

    fn shipped() -> (Vec<u8>, HeatScore) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../public/models");
        let (bytes, _) = crate::read_model(&dir, MODEL_FILE).unwrap();
        let score = HeatScore::from_bytes(&bytes).unwrap();
        (bytes, score)
    }

    /// The shipped model on fields it never saw: finite samples that differ per seed, whose
    /// mean is nearer the truth than the naive inverse of the same clip; the ODE draws no noise.
    #[test]
    fn the_shipped_model_samples_plausible_fields_nearer_than_the_naive_inverse() {
        let (_, score) = shipped();
        let p = score.problem;
        assert_eq!((p.n, p.steps, p.t_end, p.noise), (32, 20, 0.2, 0.1));
        let (mut learned, mut naive) = (0.0, 0.0);
        for seed in 900_000..900_004 {
            let truth = p.truth(seed);
            let run = p.trajectory(&truth, seed);
            let observation = &run[p.steps * p.cells()..];
            let samples = score
                .sample(observation, Method::Sde, &backward_seeds(4, seed), |_, _| {})
                .unwrap();
            assert!(samples.iter().all(|v| v.is_finite()), "seed {seed}");
            assert_ne!(samples[..p.cells()], samples[p.cells()..2 * p.cells()]);
            learned += mse(&sample_mean(&samples, p.cells()), &truth);
            naive += mse(&p.naive_inverse(observation), &truth);
        }
        assert!(learned < naive, "the samples' mean {learned} against the naive inverse's {naive}");
        let truth = p.truth(5);
        let observation = &p.trajectory(&truth, 5)[p.steps * p.cells()..];
        let ode = score.sample(observation, Method::Ode, &backward_seeds(2, 1), |_, _| {}).unwrap();
        assert_eq!(ode[..p.cells()], ode[p.cells()..], "the ODE draws no noise");
    }

    /// The case draws what `flowscope sample smdp-heat` draws for its seed, on the CPU and (to
    /// float rounding) on the GPU, whose step of the batch runs the same kernels' twins.
    #[test]
    fn the_case_draws_the_cli_samples_on_both_backends() {
        let (bytes, score) = shipped();
        let p = score.problem;
        let mut params = SPEC.defaults();
        SPEC.set_text(&mut params, "seed", "7").unwrap();
        let models = crate::ModelFiles::from([(MODEL_FILE.to_string(), bytes)]);
        let truth = p.truth(7);
        let observation = p.trajectory(&truth, 7)[p.steps * p.cells()..].to_vec();
        let expected =
            score.sample(&observation, Method::Sde, &backward_seeds(4, 7), |_, _| {}).unwrap();
        let mut cpu = SmdpHeatCase::new(&params, &models, None).unwrap();
        cpu.step(2 * p.steps as u32).unwrap();
        assert_eq!(cpu.time(), 0.0);
        assert_eq!(cpu.samples, expected);
        assert_eq!(cpu.read_view("samples").unwrap().nx, 2 * p.n, "four samples in 2 × 2 tiles");
        let [error, spread, naive] = cpu.observables().unwrap()[..] else { panic!() };
        assert!(error > 0.0 && spread > 0.0, "{error} {spread}");
        assert!(error < naive, "the samples' mean {error} against the naive inverse's {naive}");
        assert_eq!(cpu.plots().unwrap()[1].series[0].points.len(), p.steps);
        assert!(cpu
            .interact(&Interaction::Paint { x: 1.0, y: 1.0, radius: 0.5, value: 1.0 })
            .is_err());

        let Some(ctx) = flowscope_gpu::context_for_tests() else { return };
        let mut gpu = SmdpHeatCase::new(&params, &models, Some(&ctx)).unwrap();
        gpu.step(p.steps as u32).unwrap();
        gpu.step(p.steps as u32).unwrap();
        assert_eq!(gpu.steps(), 2 * p.steps as u64);
        let error =
            gpu.samples.iter().zip(&expected).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(error < 1e-3, "the GPU's samples are the CPU's to {error}");
    }

    #[test]
    fn painting_changes_the_hidden_field_before_the_run_only() {
        let (bytes, _) = shipped();
        let models = crate::ModelFiles::from([(MODEL_FILE.to_string(), bytes)]);
        let mut case = SmdpHeatCase::new(&SPEC.defaults(), &models, None).unwrap();
        let before = case.read_view("truth").unwrap();
        case.interact(&Interaction::Paint { x: 3.0, y: 3.0, radius: 0.6, value: 1.0 }).unwrap();
        let after = case.read_view("truth").unwrap();
        assert_ne!(before, after);
        assert!(after.data.iter().fold(0.0f32, |m, &v| m.max(v)) >= 2.4, "a blob of 2.5");
        let bad = Interaction::Paint { x: f64::NAN, y: 0.0, radius: 0.5, value: 1.0 };
        assert!(case.interact(&bad).is_err());
        case.step(1).unwrap();
        assert_eq!(case.read_view("observation").unwrap().data.len(), 32 * 32);
        // Before the backward process the samples' tiles show where they will start.
        let tiles = case.read_view("samples").unwrap();
        assert!(tiles.data.iter().fold(0.0f32, |m, &v| m.max(v.abs())) > 0.5, "blank tiles");
    }
}
