//! Airfoil flows with uncertainty (Liu & Thuerey, AIAA Journal 62(8), 2024): learned models that
//! draw many plausible flow fields around a wing section at once, trained on the snapshots of the
//! unsteady `airfoil` solver (`flowscope generate airfoil-uncertainty`). Three models share the
//! UNet: DDPM, flow matching, and the heteroscedastic baseline (mean and log σ²).
//!
//! [`Surrogate`] holds one trained model with its normalisation and samples it at a condition
//! (NACA code, AoA, speed) on the CPU or the GPU; [`truth`] gives the solver's own per-cell mean
//! and standard deviation at a condition, from the dataset's snapshots or computed on the fly.

use crate::datasets::airfoil_uncertainty::{AirfoilUncertainty, SnapshotSolver};
use crate::datasets::{self, Dataset, Options, Run};
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
        let passes_per_batch = plan.len().max(1);
        let total = passes_per_batch * seeds.len().div_ceil(BATCH);
        let mut done = 0;
        let mut out = Vec::with_capacity(seeds.len() * 3 * size * size);
        for chunk in seeds.chunks(BATCH) {
            let cond = self.inputs(mask, alpha, u, chunk.len())?;
            let normalised = match self.kind {
                Kind::Heteroscedastic => {
                    let levels = vec![0.0; chunk.len()];
                    let y = self
                        .model
                        .forward(&cond, Some(&levels), None)
                        .map_err(|e| e.to_string())?;
                    done += 1;
                    progress(done, total);
                    gaussian_draws(&y, chunk)?
                }
                _ => {
                    let mut epsilon = |x: &Tensor, t: &[f32]| {
                        let y = self.model.forward(x, Some(t), Some(&cond));
                        done += 1;
                        progress(done, total);
                        y
                    };
                    let shape = [chunk.len(), 3, size, size];
                    diffusion::sample_steps(&mut epsilon, &plan, &shape, chunk)
                        .map_err(|e| e.to_string())?
                        .data
                }
            };
            out.extend(self.to_data_units(&normalised, mask, u));
        }
        if let Some(bad) = out.iter().find(|v| !v.is_finite()) {
            return Err(format!("the {} samples are not finite (value {bad})", self.kind.name()));
        }
        Ok(out)
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

    /// The GPU twin of [`Surrogate::sample`]: the network recorded for a batch of `count`, the
    /// reverse process on the device (native, blocking).
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
        let size = self.size()?;
        let plan = self.plan(steps)?;
        let text = |e: flowscope_nn::NnError| e.to_string();
        let count = seeds.len();
        let cond = self.inputs(mask, alpha, u, count)?;
        let shape = [count, 3, size, size];
        let normalised = match self.kind {
            Kind::Heteroscedastic => {
                let gpu =
                    flowscope_nn::GpuModel::new(ctx, &self.model, &shape, None).map_err(text)?;
                let y = gpu.forward_blocking(&cond, Some(&vec![0.0; count]), None).map_err(text)?;
                gaussian_draws(&y, seeds)?
            }
            _ => {
                let gpu = flowscope_nn::GpuModel::new(ctx, &self.model, &shape, Some(&shape))
                    .map_err(text)?;
                let condition = gpu.condition().ok_or("the model takes no conditioning")?;
                gpu.recorder().write(condition, &cond).map_err(text)?;
                diffusion::GpuSampler::new(&gpu, None)
                    .map_err(text)?
                    .run_steps(&gpu, &self.betas, &plan, seeds, &[])
                    .map_err(text)?;
                gpu.recorder().download(gpu.input()).map_err(text)?.data
            }
        };
        let out = self.to_data_units(&normalised, mask, u);
        if let Some(bad) = out.iter().find(|v| !v.is_finite()) {
            return Err(format!("the {} samples are not finite (value {bad})", self.kind.name()));
        }
        Ok(out)
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
}
