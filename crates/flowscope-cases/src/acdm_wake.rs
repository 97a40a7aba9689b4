//! The learned wake of ACDM (Kohl, Chen, Thuerey 2023): a network trained on `flowscope
//! generate acdm-wake` steps the wake forward frame by frame — as a conditional diffusion model
//! that draws many plausible next states, or as the deterministic UNet baseline — beside the
//! solver that made its data ([`WakeSolver`]). Composes the nn room and the grid case; knows
//! nothing of training/.

use crate::datasets::{self, Dataset, Options, Run, WakeSolver};
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

    /// Records the network on `ctx` for batches of `shape` ([K, C, H, W]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn record_gpu(
        &self,
        ctx: &flowscope_gpu::GpuContext,
        shape: &[usize],
    ) -> Result<WakeGpu, String> {
        let mut cond_shape = shape.to_vec();
        cond_shape[1] = match self.kind {
            Kind::Diffusion { .. } => shape[1] + 1,
            Kind::Deterministic => 1,
        };
        let model = flowscope_nn::GpuModel::new(ctx, &self.model, shape, Some(&cond_shape))
            .map_err(|e| e.to_string())?;
        Ok(WakeGpu { model })
    }

    /// The next states of a batch of wakes `states` ([K, C, H, W], physical units) at `re`, on
    /// the CPU or, given one, on the recorded GPU model. Diffusion draws sample k's noise from
    /// `seeds[k]` and `frame` (so a rollout is reproducible from its seeds, on either backend);
    /// the deterministic model ignores both.
    pub fn step(
        &self,
        states: &Tensor,
        re: f64,
        sampler: Sampler,
        seeds: &[u32],
        frame: u32,
        gpu: Option<&WakeGpu>,
    ) -> Result<Tensor, String> {
        let batch = states.shape[0];
        let plane: usize = states.shape[2..].iter().product();
        let re_plane = ((re - self.re_mean) / self.re_std) as f32;
        let mut plane_shape = states.shape.clone();
        plane_shape[1] = 1;
        let re_channel = Tensor { shape: plane_shape, data: vec![re_plane; batch * plane] };
        let x0 = self.normalise(states);
        let text = |e: flowscope_nn::NnError| e.to_string();
        let next = match &self.kind {
            Kind::Deterministic => {
                let t = vec![0.0; batch];
                match gpu {
                    None => self.model.forward(&x0, Some(&t), Some(&re_channel)).map_err(text)?,
                    Some(gpu) => gpu.forward(&x0, &t, &re_channel)?,
                }
            }
            Kind::Diffusion { betas } => {
                let bars = diffusion::alpha_bars(betas);
                // Each frame its own noise: the samples' seeds mixed with the frame number, the
                // condition's noise from seeds of its own, one draw per step as the sample's.
                let frame_seeds: Vec<u32> =
                    seeds.iter().map(|s| s.wrapping_mul(0x9E37_79B9) ^ frame).collect();
                let cond_seeds: Vec<u32> = frame_seeds.iter().map(|s| s ^ 0x5BD1_E995).collect();
                let cond_at = |t: usize, draw: u32| -> Result<Tensor, String> {
                    let noise = diffusion::noise(&x0.shape, &cond_seeds, draw).map_err(text)?;
                    Self::condition(&x0, re_plane, bars[t], &noise)
                };
                match gpu {
                    None => {
                        let mut draw = 0;
                        let mut epsilon = |x: &Tensor, t: &[f32]| {
                            draw += 1;
                            let cond = cond_at(t[0] as usize, draw)
                                .map_err(flowscope_nn::NnError::Shape)?;
                            self.model.forward(x, Some(t), Some(&cond))
                        };
                        diffusion::sample(&mut epsilon, betas, sampler, &x0.shape, &frame_seeds)
                            .map_err(text)?
                    }
                    Some(gpu) => {
                        gpu.sample(betas, sampler, &frame_seeds, &mut |t, draw| cond_at(t, draw))?
                    }
                }
            }
        };
        Ok(self.denormalise(&next))
    }
}

/// A wake model recorded on the GPU for one batch shape (native: the browser's rollouts will
/// read back asynchronously, so there it cannot exist).
#[cfg(not(target_arch = "wasm32"))]
pub struct WakeGpu {
    model: flowscope_nn::GpuModel,
}

#[cfg(target_arch = "wasm32")]
pub enum WakeGpu {}

impl WakeGpu {
    #[cfg(not(target_arch = "wasm32"))]
    fn forward(&self, x: &Tensor, t: &[f32], cond: &Tensor) -> Result<Tensor, String> {
        self.model.forward_blocking(x, Some(t), Some(cond)).map_err(|e| e.to_string())
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn sample(
        &self,
        betas: &[f64],
        sampler: Sampler,
        seeds: &[u32],
        cond: &mut dyn FnMut(usize, u32) -> Result<Tensor, String>,
    ) -> Result<Tensor, String> {
        let x = diffusion::sample_gpu_with(&self.model, betas, sampler, seeds, &mut |step| {
            cond(step.t, step.draw).map(Some).map_err(flowscope_nn::NnError::Shape)
        })
        .map_err(|e| e.to_string())?;
        self.model.recorder().download(x).map_err(|e| e.to_string())
    }

    #[cfg(target_arch = "wasm32")]
    fn forward(&self, _: &Tensor, _: &[f32], _: &Tensor) -> Result<Tensor, String> {
        match *self {}
    }

    #[cfg(target_arch = "wasm32")]
    fn sample(
        &self,
        _: &[f64],
        _: Sampler,
        _: &[u32],
        _: &mut dyn FnMut(usize, u32) -> Result<Tensor, String>,
    ) -> Result<Tensor, String> {
        match *self {}
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
        let got = model.step(&x0, 150.0, Sampler::Ddpm, &[11, 12], 3, None).unwrap();
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
}
