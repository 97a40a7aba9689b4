//! SMDP, score matching through differentiable physics (Holzschuh, Vegetti, Thuerey 2023): a
//! diffusive process dx = P(x) dt + g dW run backwards in time. A backward step is the physics
//! stepped back approximately, B(x) ≈ x − Δt P(x), plus a learned correction: the network's
//! c_θ(x, t) ≈ g² ∇ log p_t(x), the score of the states at time t scaled by g² (what
//! training/train_smdp.py learns by rolling the data back through the physics). Sampling the
//! reverse-time SDE gives many different plausible starts; the probability-flow ODE gives one,
//! deterministically. The physics comes in as values (what the caller's inverse step made), so
//! this module knows no solver.

use crate::diffusion;
use crate::{GpuModel, NnError};
use flowscope_gpu::program::{encode, Op, Program};
use flowscope_gpu::{buffers, wgpu};

/// How the backward process steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The reverse-time SDE: x ← B(x) + Δt c + g √Δt z, a different sample per seed.
    Sde,
    /// The probability-flow ODE: x ← B(x) + ½ Δt c, no noise.
    Ode,
}

impl Method {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "sde" => Ok(Method::Sde),
            "ode" => Ok(Method::Ode),
            other => Err(format!("method must be 'sde' or 'ode', got '{other}'")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Method::Sde => "sde",
            Method::Ode => "ode",
        }
    }
}

/// One backward step over `dt` of a batch of states: `inverse` holds the physics stepped back,
/// B(x) (the toy's x − Δt P(x), the heat equation's inverse spectral step), `correction` the
/// network's c_θ(x, t) at the same entries, `g` the process's noise amplitude. Sample `b` of
/// the batch (entries `b·per_sample …`) draws its noise from `seeds[b]` and `draw` (the step's
/// number), as the diffusion samplers do.
#[allow(clippy::too_many_arguments)]
pub fn backward_step(
    inverse: &[f32],
    correction: &[f32],
    g: f64,
    dt: f64,
    method: Method,
    seeds: &[u32],
    per_sample: usize,
    draw: u32,
) -> Vec<f32> {
    let drift = match method {
        Method::Sde => dt,
        Method::Ode => 0.5 * dt,
    };
    let spread = g * dt.sqrt();
    inverse
        .iter()
        .zip(correction)
        .enumerate()
        .map(|(k, (&b, &s))| {
            let mut x = f64::from(b) + drift * f64::from(s);
            if method == Method::Sde {
                let (sample, index) = (k / per_sample.max(1), (k % per_sample.max(1)) as u32);
                x += spread * f64::from(diffusion::normal(seeds[sample], draw, index));
            }
            x as f32
        })
        .collect()
}

/// [`backward_step`] on the GPU for a recorded network: reads B(x) from a buffer the caller
/// filled (the physics' inverse step, run on the network's input), the network's output as
/// the correction, and writes the new state into the network's input, ready for the next step.
pub struct GpuBackward {
    op: Op,
    step: wgpu::Buffer,
    seeds: wgpu::Buffer,
    len: u32,
    per_sample: u32,
    batch: usize,
}

impl GpuBackward {
    /// The step of `model`'s recorded batch, B(x) in `inverse` (as many f32 as the input).
    pub fn new(model: &GpuModel, inverse: &wgpu::Buffer) -> Result<Self, NnError> {
        let x = model.input();
        if model.output().shape != x.shape {
            return Err(NnError::Shape(format!(
                "the correction {:?} is not shaped as the state {:?}",
                model.output().shape,
                x.shape
            )));
        }
        if inverse.size() < 4 * x.len() as u64 {
            return Err(NnError::Shape("B(x) holds fewer values than the state".into()));
        }
        let batch = x.shape[0];
        let ctx = model.recorder().context();
        let (device, queue) = (&ctx.device, &ctx.queue);
        let seeds = buffers::storage_from(device, queue, "smdp seeds", &vec![0u32; batch]);
        let step = buffers::uniform_from(device, queue, "smdp step", &[0u32; 12]);
        let mut kernels = Program::new(device, "nn/diffusion.wgsl", diffusion::GPU_SOURCE);
        let len = x.len() as u32;
        let groups = len.div_ceil(64);
        let op = kernels.op(
            "smdp_step",
            &[(0, &step), (1, &model.output().buffer), (2, &seeds), (3, &x.buffer), (4, inverse)],
            [groups.min(65_535), groups.div_ceil(65_535), 1],
        );
        Ok(Self { op, step, seeds, len, per_sample: len / batch as u32, batch })
    }

    /// Writes the step's coefficients and the batch's seeds (before the submission that
    /// encodes it; the queue orders the write after earlier work). The correction is `scale`
    /// times the network's output.
    #[allow(clippy::too_many_arguments)]
    pub fn prepare(
        &self,
        model: &GpuModel,
        g: f64,
        dt: f64,
        scale: f64,
        method: Method,
        seeds: &[u32],
        draw: u32,
    ) -> Result<(), NnError> {
        if seeds.len() != self.batch {
            return Err(NnError::Shape(format!(
                "{} seeds for a recorded batch of {}",
                seeds.len(),
                self.batch
            )));
        }
        let (a, sigma) = match method {
            Method::Sde => (dt * scale, g * dt.sqrt()),
            Method::Ode => (0.5 * dt * scale, 0.0),
        };
        let queue = &model.recorder().context().queue;
        let words = [
            self.len,
            self.per_sample,
            draw,
            0,
            (a as f32).to_bits(),
            0,
            (sigma as f32).to_bits(),
            0,
            0,
            0,
            0,
            0,
        ];
        queue.write_buffer(&self.step, 0, bytemuck::cast_slice(&words));
        queue.write_buffer(&self.seeds, 0, bytemuck::cast_slice(seeds));
        Ok(())
    }

    /// Records the step into `encoder`.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder) {
        encode(encoder, std::slice::from_ref(&self.op));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ode_adds_half_the_sde_drift_and_no_noise() {
        let (inverse, correction) = ([1.0f32, -1.0], [2.0f32, 4.0]);
        let ode = backward_step(&inverse, &correction, 0.5, 0.1, Method::Ode, &[3, 4], 1, 7);
        assert!((ode[0] - (1.0 + 0.5 * 0.1 * 2.0)).abs() < 1e-6);
        assert!((ode[1] - (-1.0 + 0.5 * 0.1 * 4.0)).abs() < 1e-6);
        let a = backward_step(&inverse, &correction, 0.5, 0.1, Method::Sde, &[3, 4], 1, 7);
        let b = backward_step(&inverse, &correction, 0.5, 0.1, Method::Sde, &[3, 4], 1, 7);
        let c = backward_step(&inverse, &correction, 0.5, 0.1, Method::Sde, &[3, 5], 1, 7);
        assert_eq!(a, b, "the same seeds, the same step");
        assert_ne!(a[1], c[1], "another seed, another draw");
        assert_eq!(a[0], c[0]);
        assert!(Method::parse("sde").is_ok() && Method::parse("SDE").is_err());
    }
}
