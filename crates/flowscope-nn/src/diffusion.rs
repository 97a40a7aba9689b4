//! Diffusion sampling: noise schedules, DDPM ancestral sampling, DDIM with any number of steps
//! and the Euler steps of flow matching, from seeded noise so that a sample is reproducible from
//! its seed.
//!
//! The noise is counter-based — the value at (seed, draw, index) is a hash, not the state of a
//! stream — so that a batch of samples equals the samples drawn one by one, and so that a WGSL
//! twin can draw the very same numbers on the GPU.

use crate::{NnError, Tensor};
use flowscope_gpu::program::{encode, Op, Program};
use flowscope_gpu::wgpu;

/// β schedules over `steps` diffusion steps.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Schedule {
    /// β rising linearly from `start` to `end` (Ho et al. 2020; ACDM uses 0.0025 … 0.5).
    Linear { start: f64, end: f64 },
    /// ᾱ(t) = cos²((t/T + s)/(1 + s) · π/2) normalised, β capped at 0.999 (Nichol & Dhariwal
    /// 2021, s = 0.008).
    Cosine { s: f64 },
}

impl Schedule {
    /// `[β_1, …, β_T]`.
    pub fn betas(&self, steps: usize) -> Vec<f64> {
        match *self {
            Schedule::Linear { start, end } => (0..steps)
                .map(|k| start + (end - start) * k as f64 / (steps.max(2) - 1) as f64)
                .collect(),
            Schedule::Cosine { s } => {
                let f = |t: f64| {
                    ((t / steps as f64 + s) / (1.0 + s) * std::f64::consts::FRAC_PI_2).cos().powi(2)
                };
                (0..steps).map(|k| (1.0 - f(k as f64 + 1.0) / f(k as f64)).min(0.999)).collect()
            }
        }
    }
}

/// ᾱ_t = Π_{k ≤ t} (1 − β_k).
pub fn alpha_bars(betas: &[f64]) -> Vec<f64> {
    betas
        .iter()
        .scan(1.0, |product, beta| {
            *product *= 1.0 - beta;
            Some(*product)
        })
        .collect()
}

/// A standard normal number for (seed, draw, index): PCG-style hashing to two uniforms, then
/// Box–Muller. Sample `b` of a batch uses seed `seeds[b]`; each sampling step is one draw.
pub fn normal(seed: u32, draw: u32, index: u32) -> f32 {
    fn hash(mut v: u32) -> u32 {
        // PCG output permutation (O'Neill), as in Jarzynski & Olano, "Hash functions for GPU
        // rendering" (2020).
        v = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
        let word = ((v >> ((v >> 28) + 4)) ^ v).wrapping_mul(277_803_737);
        (word >> 22) ^ word
    }
    let a = hash(seed ^ hash(draw ^ hash(index.wrapping_mul(2))));
    let b = hash(seed ^ hash(draw ^ hash(index.wrapping_mul(2) | 1)));
    // Uniforms in (0, 1]: never zero, so the logarithm is finite.
    let u1 = ((a >> 8) as f32 + 1.0) / 16_777_216.0;
    let u2 = (b >> 8) as f32 / 16_777_216.0;
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Noise of `shape` (`[batch, …]`) for one draw, sample `b` from `seeds[b]`.
pub fn noise(shape: &[usize], seeds: &[u32], draw: u32) -> Result<Tensor, NnError> {
    if shape.first() != Some(&seeds.len()) {
        return Err(NnError::Shape(format!(
            "{} seeds for a batch of shape {shape:?}",
            seeds.len()
        )));
    }
    let per_sample = crate::tensor::elements(&shape[1..])?;
    let data = (0..seeds.len())
        .flat_map(|b| (0..per_sample).map(move |i| normal(seeds[b], draw, i as u32)))
        .collect();
    Tensor::new(shape.to_vec(), data)
}

/// A noise predictor ε(x_t, t): the network, or anything that stands for one.
pub type Epsilon<'a> = dyn FnMut(&Tensor, &[f32]) -> Result<Tensor, NnError> + 'a;

/// How the reverse process steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampler {
    /// Ancestral sampling through every one of the schedule's steps (σ_t² = β_t).
    Ddpm,
    /// DDIM on `steps` evenly spaced steps of the schedule; `eta` 0 is deterministic.
    Ddim { steps: usize, eta: f64 },
    /// Flow matching (x_τ = (1 − τ) x + τ ε, the network predicting v = ε − x at time input
    /// `time_scale` · τ): `steps` Euler steps from τ = 1 to 0. No schedule: `betas` is unused.
    FlowEuler { steps: usize, time_scale: f64 },
}

impl Sampler {
    pub fn name(&self) -> &'static str {
        match self {
            Sampler::Ddpm => "ddpm",
            Sampler::Ddim { .. } => "ddim",
            Sampler::FlowEuler { .. } => "flow-euler",
        }
    }
}

/// One reverse step as `x ← a·x + b·ε + σ·z` (ε: the network's output): the network sees the
/// time input `level`, and `z` is noise draw `draw`. `t` is the schedule's step index (0 for
/// flow matching).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    pub t: usize,
    pub level: f32,
    pub a: f64,
    pub b: f64,
    pub sigma: f64,
    pub draw: u32,
    /// With x₀ clipping ([`clip_x0`]), the step is `x ← c0·clamp(x̂₀) + c1·x + σ·z` instead.
    pub clip: Option<ClipX0>,
}

/// The clipped form of a step: the network's ε gives the estimate x̂₀ = p·x + q·ε, clamped to
/// ±`limit` (the data's range), and the step continues from it as `x ← c0·x̂₀ + c1·x + σ·z` — the
/// same step as `a·x + b·ε` where nothing is clipped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClipX0 {
    pub p: f64,
    pub q: f64,
    pub c0: f64,
    pub c1: f64,
    pub limit: f64,
}

/// Rewrites diffusion steps (DDPM, DDIM) on the schedule `betas` to clip their estimate of x₀
/// to ±`limit`, as the improved-DDPM samplers do: with a cosine schedule the first reverse steps
/// divide by √ᾱ ≈ 0, and an unclipped estimate blows up into samples far outside the data.
pub fn clip_x0(steps: &mut [Step], betas: &[f64], limit: f64) {
    let bars = alpha_bars(betas);
    for step in steps {
        let bar = bars[step.t];
        let (root, rest) = (bar.sqrt(), (1.0 - bar).sqrt());
        // ε = (x − √ᾱ x̂₀)/√(1 − ᾱ), so a·x + b·ε = (a + b/√(1 − ᾱ))·x − b√ᾱ/√(1 − ᾱ)·x̂₀.
        step.clip = Some(ClipX0 {
            p: 1.0 / root,
            q: -rest / root,
            c0: -step.b * root / rest,
            c1: step.a + step.b / rest,
            limit,
        });
    }
}

/// The reverse steps of `sampler` on the training schedule `betas` (shared by the CPU and GPU
/// samplers, so that both take the same steps).
pub fn steps(betas: &[f64], sampler: Sampler) -> Result<Vec<Step>, NnError> {
    if let Sampler::FlowEuler { steps, time_scale } = sampler {
        if steps == 0 {
            return Err(NnError::Shape("flow matching needs at least one Euler step".into()));
        }
        let dtau = 1.0 / steps as f64;
        return Ok((0..steps)
            .map(|k| {
                let tau = 1.0 - k as f64 * dtau;
                let level = (time_scale * tau) as f32;
                Step { t: 0, level, a: 1.0, b: -dtau, sigma: 0.0, draw: k as u32 + 1, clip: None }
            })
            .collect());
    }
    let bars = alpha_bars(betas);
    let total = betas.len();
    let timesteps: Vec<usize> = match sampler {
        Sampler::Ddpm | Sampler::FlowEuler { .. } => (0..total).rev().collect(),
        Sampler::Ddim { steps, .. } => {
            if steps == 0 || steps > total {
                return Err(NnError::Shape(format!(
                    "DDIM steps must be 1 to {total}, got {steps}"
                )));
            }
            (0..steps).rev().map(|k| k * total / steps).collect()
        }
    };
    Ok(timesteps
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            let bar = bars[t];
            let (a, b, sigma) = match sampler {
                Sampler::Ddpm | Sampler::FlowEuler { .. } => {
                    let beta = betas[t];
                    let a = 1.0 / (1.0 - beta).sqrt();
                    // The last step adds no noise.
                    (a, -beta / (1.0 - bar).sqrt() * a, if t > 0 { beta.sqrt() } else { 0.0 })
                }
                Sampler::Ddim { eta, .. } => {
                    let prev = timesteps.get(k + 1).map_or(1.0, |&p| bars[p]);
                    let sigma =
                        eta * ((1.0 - prev) / (1.0 - bar) * (1.0 - bar / prev)).max(0.0).sqrt();
                    let a = (prev / bar).sqrt();
                    // x0 = (x − √(1−ᾱ) ε)/√ᾱ, then √ᾱ' x0 + √(1 − ᾱ' − σ²) ε + σ z.
                    let b = (1.0 - prev - sigma * sigma).max(0.0).sqrt() - a * (1.0 - bar).sqrt();
                    (a, b, sigma)
                }
            };
            Step { t, level: t as f32, a, b, sigma, draw: k as u32 + 1, clip: None }
        })
        .collect())
}

/// Samples `x_0` of `shape` (one sample per seed) with the noise predictor `epsilon(x_t, t)`,
/// where `t` is the 0-based step index of the schedule for each batch entry (what the UNet was
/// trained on). `betas` is the training schedule.
pub fn sample(
    epsilon: &mut Epsilon<'_>,
    betas: &[f64],
    sampler: Sampler,
    shape: &[usize],
    seeds: &[u32],
) -> Result<Tensor, NnError> {
    sample_steps(epsilon, &steps(betas, sampler)?, shape, seeds)
}

/// [`sample`] along given steps (e.g. with [`clip_x0`] applied).
pub fn sample_steps(
    epsilon: &mut Epsilon<'_>,
    steps: &[Step],
    shape: &[usize],
    seeds: &[u32],
) -> Result<Tensor, NnError> {
    let mut x = noise(shape, seeds, 0)?;
    for step in steps {
        let eps = epsilon(&x, &vec![step.level; seeds.len()])?;
        reverse_step(&mut x, &eps, step, seeds)?;
    }
    Ok(x)
}

/// One reverse step of the sample `x` (one entry per seed) given the network's output `eps`
/// at the step's level: what [`sample_steps`] does between network passes, for callers that
/// spread the passes out (a page drawing samples frame by frame).
pub fn reverse_step(
    x: &mut Tensor,
    eps: &Tensor,
    step: &Step,
    seeds: &[u32],
) -> Result<(), NnError> {
    if eps.shape != x.shape {
        return Err(NnError::Shape(format!(
            "the noise prediction {:?} does not match the sample {:?}",
            eps.shape, x.shape
        )));
    }
    let z = noise(&x.shape, seeds, step.draw)?;
    for ((x, e), z) in x.data.iter_mut().zip(&eps.data).zip(&z.data) {
        let (xv, ev, zv) = (f64::from(*x), f64::from(*e), f64::from(*z));
        *x = match step.clip {
            None => step.a * xv + step.b * ev + step.sigma * zv,
            Some(c) => {
                let x0 = (c.p * xv + c.q * ev).clamp(-c.limit, c.limit);
                c.c0 * x0 + c.c1 * xv + step.sigma * zv
            }
        } as f32;
    }
    Ok(())
}

pub(crate) const GPU_SOURCE: &str = include_str!("../../../shaders/nn/diffusion.wgsl");

/// [`sample`] on the GPU with a recorded network and a fixed conditioning: the sample lives in
/// the network's input buffer, nothing is read back. The batch is the recorded one, one seed per
/// entry; returns the buffer holding `x_0`.
pub fn sample_gpu<'m>(
    model: &'m crate::GpuModel,
    betas: &[f64],
    sampler: Sampler,
    seeds: &[u32],
    cond: Option<&Tensor>,
) -> Result<&'m crate::gpu::GpuTensor, NnError> {
    if let (Some(buffer), Some(cond)) = (model.condition(), cond) {
        model.recorder().write(buffer, cond)?;
    }
    GpuSampler::new(model, None)?.run(model, betas, sampler, seeds, &[])?;
    Ok(model.input())
}

/// [`sample`] on the GPU for one recorded network and batch, its kernels and buffers made once:
/// the sample lives in the network's input buffer, each step runs the network and updates the
/// sample in place, nothing is read back. With a noised condition (ACDM), each step first
/// writes x₀ noised to the step's level, √ᾱ·x₀ + √(1 − ᾱ)·z, into the leading channels of the
/// network's conditioning, x₀ being a tensor on the device; the further channels keep what was
/// written there.
pub struct GpuSampler {
    initial: Op,
    reverse: Op,
    condition: Option<Op>,
    seeds: wgpu::Buffer,
    cond_seeds: wgpu::Buffer,
    step: wgpu::Buffer,
    cond_step: wgpu::Buffer,
    /// Values of the sample, and per batch entry.
    len: u32,
    per_sample: u32,
    /// Values of x₀, per entry, and an entry's stride in the conditioning.
    cond_len: u32,
    cond_per_sample: u32,
    cond_stride: u32,
}

/// Dispatch size for one invocation per value (spilling into y beyond 65 535 groups).
fn groups(len: u32) -> [u32; 3] {
    let groups = len.div_ceil(64).max(1);
    [groups.min(65_535), groups.div_ceil(65_535), 1]
}

impl GpuSampler {
    /// The sampler of `model`'s recorded batch; `noised` is x₀ of a noised condition, shaped as
    /// the batch's leading conditioning channels.
    pub fn new(
        model: &crate::GpuModel,
        noised: Option<&crate::gpu::GpuTensor>,
    ) -> Result<Self, NnError> {
        use flowscope_gpu::buffers;
        let x = model.input();
        let batch = x.shape[0];
        let ctx = model.recorder().context();
        let (device, queue) = (&ctx.device, &ctx.queue);
        let mut kernels = Program::new(device, "nn/diffusion.wgsl", GPU_SOURCE);
        let seeds = buffers::storage_from(device, queue, "diffusion seeds", &vec![0u32; batch]);
        let cond_seeds =
            buffers::storage_from(device, queue, "condition seeds", &vec![0u32; batch]);
        let step = buffers::uniform_from(device, queue, "diffusion step", &[0u32; 12]);
        let cond_step = buffers::uniform_from(device, queue, "condition step", &[0u32; 12]);
        let (len, per_sample) = (x.len() as u32, (x.len() / batch) as u32);
        let initial =
            kernels.op("initial_noise", &[(0, &step), (2, &seeds), (3, &x.buffer)], groups(len));
        let reverse = kernels.op(
            "reverse_step",
            &[(0, &step), (1, &model.output().buffer), (2, &seeds), (3, &x.buffer)],
            groups(len),
        );
        let (mut cond_len, mut cond_per_sample, mut cond_stride) = (0, 0, 0);
        let condition = match noised {
            None => None,
            Some(x0) => {
                let cond = model.condition().ok_or_else(|| {
                    NnError::Shape("a noised condition needs a model recorded with one".into())
                })?;
                let fits = x0.shape.len() == cond.shape.len()
                    && x0.shape[0] == batch
                    && x0.shape[1] <= cond.shape[1]
                    && x0.shape[2..] == cond.shape[2..];
                if !fits {
                    return Err(NnError::Shape(format!(
                        "x₀ of shape {:?} is not the leading channels of the conditioning {:?}",
                        x0.shape, cond.shape
                    )));
                }
                (cond_len, cond_per_sample) = (x0.len() as u32, (x0.len() / batch) as u32);
                cond_stride = (cond.len() / batch) as u32;
                Some(kernels.op(
                    "noised_condition",
                    &[(0, &cond_step), (1, &x0.buffer), (2, &cond_seeds), (3, &cond.buffer)],
                    groups(cond_len),
                ))
            }
        };
        Ok(Self {
            initial,
            reverse,
            condition,
            seeds,
            cond_seeds,
            step,
            cond_step,
            len,
            per_sample,
            cond_len,
            cond_per_sample,
            cond_stride,
        })
    }

    /// Submits the whole reverse process of `sampler` on the training schedule `betas`: one
    /// sample per seed (the recorded batch), the condition's noise from `cond_seeds` (ignored
    /// without a noised condition). The samples end in the network's input buffer.
    pub fn run(
        &self,
        model: &crate::GpuModel,
        betas: &[f64],
        sampler: Sampler,
        seeds: &[u32],
        cond_seeds: &[u32],
    ) -> Result<(), NnError> {
        self.run_steps(model, betas, &steps(betas, sampler)?, seeds, cond_seeds)
    }

    /// [`GpuSampler::run`] along given steps (e.g. with [`clip_x0`] applied).
    pub fn run_steps(
        &self,
        model: &crate::GpuModel,
        betas: &[f64],
        steps: &[Step],
        seeds: &[u32],
        cond_seeds: &[u32],
    ) -> Result<(), NnError> {
        self.start(model, seeds, cond_seeds)?;
        let bars = alpha_bars(betas);
        steps.iter().try_for_each(|step| self.submit_step(model, &bars, step))
    }

    /// Submits the initial noise of a batch, one sample per seed (the recorded batch), the
    /// condition's noise from `cond_seeds` (ignored without a noised condition).
    pub fn start(
        &self,
        model: &crate::GpuModel,
        seeds: &[u32],
        cond_seeds: &[u32],
    ) -> Result<(), NnError> {
        let batch = model.input().shape[0];
        let noised = self.condition.is_some();
        if seeds.len() != batch || (noised && cond_seeds.len() != batch) {
            return Err(NnError::Shape(format!(
                "{} seeds ({} for the condition) for a recorded batch of {batch}",
                seeds.len(),
                cond_seeds.len()
            )));
        }
        let queue = &model.recorder().context().queue;
        queue.write_buffer(&self.seeds, 0, bytemuck::cast_slice(seeds));
        if noised {
            queue.write_buffer(&self.cond_seeds, 0, bytemuck::cast_slice(cond_seeds));
        }
        queue.write_buffer(
            &self.step,
            0,
            bytemuck::cast_slice(&step_words(self.len, self.per_sample, 0, 0, [0.0; 3])),
        );
        self.submit(model, None, false, &self.initial);
        Ok(())
    }

    /// Submits one reverse step (a network pass and the update) of the batch [`GpuSampler::start`]
    /// began; `bars` are the schedule's ᾱ ([`alpha_bars`]). The queue orders each step's
    /// uniforms, written now, after the work submitted before.
    pub fn submit_step(
        &self,
        model: &crate::GpuModel,
        bars: &[f64],
        step: &Step,
    ) -> Result<(), NnError> {
        let batch = model.input().shape[0];
        let queue = &model.recorder().context().queue;
        let write = |buffer: &wgpu::Buffer, words: [u32; 12]| {
            queue.write_buffer(buffer, 0, bytemuck::cast_slice(&words));
        };
        model.set_noise_levels(&vec![step.level; batch])?;
        if self.condition.is_some() {
            let bar = bars[step.t];
            let (len, per, stride) = (self.cond_len, self.cond_per_sample, self.cond_stride);
            let weights = [bar.sqrt(), (1.0 - bar).sqrt(), 0.0];
            write(&self.cond_step, step_words(len, per, step.draw, stride, weights));
        }
        let mut reverse =
            step_words(self.len, self.per_sample, step.draw, 0, [step.a, step.b, step.sigma]);
        if let Some(c) = step.clip {
            let f = |v: f64| (v as f32).to_bits();
            reverse[7..].copy_from_slice(&[f(c.limit), f(c.p), f(c.q), f(c.c0), f(c.c1)]);
        }
        write(&self.step, reverse);
        self.submit(model, self.condition.as_ref(), true, &self.reverse);
        Ok(())
    }

    fn submit(&self, model: &crate::GpuModel, first: Option<&Op>, network: bool, last: &Op) {
        let ctx = model.recorder().context();
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        if let Some(op) = first {
            encode(&mut encoder, std::slice::from_ref(op));
        }
        if network {
            model.recorder().encode(&mut encoder);
        }
        encode(&mut encoder, std::slice::from_ref(last));
        ctx.queue.submit([encoder.finish()]);
    }
}

/// A step's uniform words: lengths, noise draw, stride and the three weights (clip words 0).
fn step_words(len: u32, per_sample: u32, draw: u32, stride: u32, weights: [f64; 3]) -> [u32; 12] {
    let f = |v: f64| (v as f32).to_bits();
    let [a, b, s] = weights;
    [len, per_sample, draw, stride, f(a), f(b), f(s), 0, 0, 0, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_x0_changes_a_step_only_where_the_estimate_leaves_the_range() {
        let betas = Schedule::Cosine { s: 0.008 }.betas(50);
        let plain = super::steps(&betas, Sampler::Ddim { steps: 10, eta: 1.0 }).unwrap();
        let (mut wide, mut tight) = (plain.clone(), plain.clone());
        clip_x0(&mut wide, &betas, 1e9);
        clip_x0(&mut tight, &betas, 0.3);
        let mut epsilon = |x: &Tensor, _: &[f32]| {
            Tensor::new(x.shape.clone(), x.data.iter().map(|v| 0.5 * v).collect())
        };
        let shape = [2, 8];
        let run = |plan: &[Step], epsilon: &mut Epsilon<'_>| {
            sample_steps(epsilon, plan, &shape, &[5, 6]).unwrap().data
        };
        let (a, b) = (run(&plain, &mut epsilon), run(&wide, &mut epsilon));
        assert!(a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 1e-4 * (1.0 + a.abs())));
        let c = run(&tight, &mut epsilon);
        assert!(c.iter().all(|v| v.abs() <= 0.3 + 1e-5), "the last step lands on x̂₀: {c:?}");
        assert!(a.iter().any(|v| v.abs() > 0.3), "the unclipped run leaves ±0.3: {a:?}");
    }

    #[test]
    fn flow_matching_euler_steps_reach_a_point_mass_with_its_exact_velocity() {
        // Data all at c: x_τ = (1 − τ) c + τ ε, so v = ε − c = (x − c)/τ, and the Euler steps
        // move x straight to c, the last one (τ = 1/S) exactly.
        let (c, scale, steps) = (0.7f32, 200.0, 7);
        let sampler = Sampler::FlowEuler { steps, time_scale: scale };
        let plan = super::steps(&[], sampler).unwrap();
        assert_eq!(plan.len(), steps);
        assert_eq!((plan[0].level, plan[steps - 1].level), (200.0, 200.0 / 7.0));
        let mut velocity = |x: &Tensor, t: &[f32]| {
            let tau = t[0] / scale as f32;
            Tensor::new(x.shape.clone(), x.data.iter().map(|v| (v - c) / tau).collect())
        };
        let x = sample(&mut velocity, &[], sampler, &[2, 5], &[1, 2]).unwrap();
        assert!(x.data.iter().all(|v| (v - c).abs() < 1e-5), "{:?}", x.data);
        let zero = Sampler::FlowEuler { steps: 0, time_scale: scale };
        assert!(super::steps(&[], zero).is_err());
    }

    #[test]
    fn schedules_decrease_the_signal_monotonically() {
        for schedule in
            [Schedule::Linear { start: 0.0025, end: 0.5 }, Schedule::Cosine { s: 0.008 }]
        {
            let betas = schedule.betas(200);
            assert!(betas.iter().all(|b| *b > 0.0 && *b < 1.0));
            let bars = alpha_bars(&betas);
            assert!(bars.windows(2).all(|w| w[1] < w[0]));
        }
        let linear = Schedule::Linear { start: 0.0025, end: 0.5 }.betas(20);
        assert_eq!((linear[0], linear[19]), (0.0025, 0.5));
        // Cosine: ᾱ_T/2 = f(T/2)/f(0), about 0.49 for s = 0.008.
        let bars = alpha_bars(&Schedule::Cosine { s: 0.008 }.betas(1000));
        let f = |t: f64| ((t + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2).cos().powi(2);
        assert!((bars[499] - f(0.5) / f(0.0)).abs() < 1e-9);
    }

    #[test]
    fn noise_is_standard_normal_and_reproducible_per_seed() {
        let n = 200_000u32;
        let values: Vec<f64> = (0..n).map(|i| f64::from(normal(7, 3, i))).collect();
        let mean = values.iter().sum::<f64>() / f64::from(n);
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / f64::from(n);
        let kurtosis =
            values.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / f64::from(n) / var.powi(2);
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.01 && (kurtosis - 3.0).abs() < 0.05,
            "{mean} {var} {kurtosis}"
        );
        let batch = noise(&[2, 5], &[11, 12], 4).unwrap();
        let alone = noise(&[1, 5], &[12], 4).unwrap();
        assert_eq!(&batch.data[5..], &alone.data[..], "a batch draws what the samples draw alone");
        assert_ne!(noise(&[1, 5], &[11], 4).unwrap(), noise(&[1, 5], &[11], 5).unwrap());
    }

    /// For data x0 ~ N(μ, s²) per value the best noise prediction is known exactly, so the
    /// samplers must reproduce that distribution.
    fn oracle(
        betas: &[f64],
        mu: f64,
        s: f64,
    ) -> impl FnMut(&Tensor, &[f32]) -> Result<Tensor, NnError> + '_ {
        let bars = alpha_bars(betas);
        move |x: &Tensor, t: &[f32]| {
            let bar = bars[t[0] as usize];
            Ok(x.clone().map(|v| {
                ((1.0 - bar).sqrt() * (f64::from(v) - bar.sqrt() * mu) / (bar * s * s + 1.0 - bar))
                    as f32
            }))
        }
    }

    fn moments(x: &Tensor) -> (f64, f64) {
        let n = x.len() as f64;
        let mean = x.data.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        (mean, (x.data.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n).sqrt())
    }

    /// (With few steps DDIM under-disperses — each step starts from the posterior mean of x0 —
    /// so the DDIM runs use enough steps for the discretisation to stay below the tolerance.)
    #[test]
    fn samplers_reproduce_a_gaussian_data_distribution() {
        let (mu, s) = (1.5, 0.3);
        for (schedule, sampler) in [
            (Schedule::Linear { start: 1e-4, end: 0.02 }, Sampler::Ddpm),
            (Schedule::Cosine { s: 0.008 }, Sampler::Ddpm),
            (Schedule::Linear { start: 1e-4, end: 0.02 }, Sampler::Ddim { steps: 250, eta: 0.0 }),
            (Schedule::Cosine { s: 0.008 }, Sampler::Ddim { steps: 200, eta: 1.0 }),
        ] {
            let betas = schedule.betas(1000);
            let seeds: Vec<u32> = (0..4).collect();
            let x =
                sample(&mut oracle(&betas, mu, s), &betas, sampler, &[4, 1024], &seeds).unwrap();
            let (mean, std) = moments(&x);
            assert!(
                (mean - mu).abs() < 0.02 && (std - s).abs() < 0.02,
                "{schedule:?} {sampler:?}: N({mean:.3}, {std:.3}²)"
            );
        }
    }

    #[test]
    fn a_sample_is_reproducible_from_its_seed_alone() {
        let betas = Schedule::Linear { start: 0.0025, end: 0.5 }.betas(20);
        let run = |seeds: &[u32]| {
            sample(
                &mut oracle(&betas, 0.0, 1.0),
                &betas,
                Sampler::Ddpm,
                &[seeds.len(), 3, 4, 4],
                seeds,
            )
            .unwrap()
        };
        let batch = run(&[5, 9]);
        assert_eq!(&batch.data[48..], &run(&[9]).data[..]);
        assert_ne!(run(&[5]).data, run(&[6]).data);
    }
}
