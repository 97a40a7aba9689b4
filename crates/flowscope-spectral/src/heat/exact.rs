//! The exact step of the heat equation on a periodic box: each Fourier mode decays by
//! exp(−D |k|² Δt) (SMDP's heat set-up). Wavenumbers are 2π m / L for the FFT's integer
//! frequencies m ∈ {0, 1, …, n/2, −n/2 + 1, …, −1}.

use crate::fft::{Fft2, GpuFft2};
use flowscope_gpu::program::{encode, Op, Program};
use flowscope_gpu::{buffers, wgpu, GpuContext};
use rustfft::num_complex::Complex32;

/// |k|² of every Fourier mode of an `nx × ny` field on `[0, lx] × [0, ly]`, row-major.
pub fn wavenumbers_squared(nx: usize, ny: usize, lx: f64, ly: f64) -> Vec<f64> {
    let frequency = |m: usize, n: usize| if m <= n / 2 { m as f64 } else { m as f64 - n as f64 };
    (0..ny)
        .flat_map(|j| {
            (0..nx).map(move |i| {
                let kx = std::f64::consts::TAU * frequency(i, nx) / lx;
                let ky = std::f64::consts::TAU * frequency(j, ny) / ly;
                kx * kx + ky * ky
            })
        })
        .collect()
}

/// The exact step of a real field by `dt`, or its inverse (each mode amplified by
/// exp(D |k|² dt), clipped).
pub struct ExactStep {
    fft: Fft2,
    /// The multiplier of each mode.
    gains: Vec<f32>,
}

/// The multiplier of each mode: exp(−D |k|² dt), or with `inverse` exp(D |k|² dt) clipped.
fn gains(
    nx: usize,
    ny: usize,
    lx: f64,
    ly: f64,
    d: f64,
    dt: f64,
    inverse: Option<f64>,
) -> Vec<f32> {
    wavenumbers_squared(nx, ny, lx, ly)
        .into_iter()
        .map(|k2| match inverse {
            None => (-d * k2 * dt).exp() as f32,
            Some(clip) => (d * k2 * dt).exp().min(clip) as f32,
        })
        .collect()
}

impl ExactStep {
    /// Forward by `dt` with diffusivity `d`; with `inverse`, the backward step instead, each
    /// mode's gain clipped to `clip` (the inverse of diffusion is unbounded).
    pub fn new(
        nx: usize,
        ny: usize,
        lx: f64,
        ly: f64,
        d: f64,
        dt: f64,
        inverse: Option<f64>,
    ) -> Self {
        Self { fft: Fft2::new(nx, ny), gains: gains(nx, ny, lx, ly, d, dt, inverse) }
    }

    /// The step [`StepSpec`] describes.
    pub fn from_spec(spec: StepSpec) -> Self {
        let StepSpec { nx, ny, lx, ly, d, dt, inverse } = spec;
        Self::new(nx, ny, lx, ly, d, dt, inverse)
    }

    pub fn apply(&self, u: &mut [f32]) {
        let mut spectrum: Vec<Complex32> = u.iter().map(|&v| Complex32::new(v, 0.0)).collect();
        self.fft.forward(&mut spectrum);
        for (c, g) in spectrum.iter_mut().zip(&self.gains) {
            *c *= *g;
        }
        self.fft.inverse(&mut spectrum);
        for (v, c) in u.iter_mut().zip(spectrum) {
            *v = c.re;
        }
    }
}

const SOURCE: &str = include_str!("../../../../shaders/spectral/exact.wgsl");

/// [`ExactStep`] on the GPU for a batch of fields: reads them from one buffer, writes the
/// stepped fields to another (the same buffer is fine), all recorded into the caller's encoder.
pub struct GpuExactStep {
    fft: GpuFft2,
    gains: wgpu::Buffer,
    load: Op,
    scale: Op,
    store: Op,
}

/// The box, coefficients and direction of an exact step (as [`ExactStep::new`] takes them).
#[derive(Clone, Copy, Debug)]
pub struct StepSpec {
    pub nx: usize,
    pub ny: usize,
    pub lx: f64,
    pub ly: f64,
    pub d: f64,
    pub dt: f64,
    pub inverse: Option<f64>,
}

impl GpuExactStep {
    /// The step of `batch` fields from `input` into `output` (f32 storage buffers of
    /// `batch · nx · ny` values); nx and ny powers of two.
    pub fn new(
        ctx: &GpuContext,
        spec: StepSpec,
        batch: usize,
        input: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> Result<Self, String> {
        let StepSpec { nx, ny, lx, ly, d, dt, inverse } = spec;
        let len = batch * nx * ny;
        for buffer in [input, output] {
            if buffer.size() < 4 * len as u64 {
                return Err(format!("a buffer of {} bytes for {len} values", buffer.size()));
            }
        }
        let fft = GpuFft2::batched(ctx, nx, ny, batch)?;
        let (device, queue) = (&ctx.device, &ctx.queue);
        let sizes = buffers::uniform_from(
            device,
            queue,
            "exact step sizes",
            &[len as u32, (nx * ny) as u32, 0, 0],
        );
        let gains = buffers::storage_from(
            device,
            queue,
            "exact step gains",
            &gains(nx, ny, lx, ly, d, dt, inverse),
        );
        let mut program = Program::new(device, "spectral/exact.wgsl", SOURCE);
        let groups = (len as u32).div_ceil(64);
        let size = [groups.min(65_535), groups.div_ceil(65_535), 1];
        let spectrum = fft.buffer();
        let load = program.op("to_complex", &[(0, &sizes), (1, input), (2, spectrum)], size);
        let scale = program.op("scale_modes", &[(0, &sizes), (2, spectrum), (3, &gains)], size);
        let store = program.op("real_part", &[(0, &sizes), (2, spectrum), (4, output)], size);
        Ok(Self { fft, load, scale, store, gains })
    }

    /// Changes the coefficients (same grid and batch): new gains, nothing rebuilt.
    pub fn retune(&self, ctx: &GpuContext, spec: StepSpec) {
        let StepSpec { nx, ny, lx, ly, d, dt, inverse } = spec;
        let values = gains(nx, ny, lx, ly, d, dt, inverse);
        ctx.queue.write_buffer(&self.gains, 0, bytemuck::cast_slice(&values));
    }

    /// Records one step into `encoder`.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder) {
        encode(encoder, std::slice::from_ref(&self.load));
        self.fft.encode(encoder, false);
        encode(encoder, std::slice::from_ref(&self.scale));
        self.fft.encode(encoder, true);
        encode(encoder, std::slice::from_ref(&self.store));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mode_decays_by_its_exact_factor_and_the_inverse_undoes_it() {
        let (n, l) = (32, std::f64::consts::TAU);
        // sin(3x) cos(2y): |k|² = 13.
        let u: Vec<f32> = (0..n * n)
            .map(|c| {
                let (x, y) = ((c % n) as f64 * l / n as f64, (c / n) as f64 * l / n as f64);
                ((3.0 * x).sin() * (2.0 * y).cos()) as f32
            })
            .collect();
        let mut stepped = u.clone();
        ExactStep::new(n, n, l, l, 1.0, 0.01, None).apply(&mut stepped);
        let factor = (-13.0f64 * 0.01).exp() as f32;
        assert!(u.iter().zip(&stepped).all(|(a, b)| (a * factor - b).abs() < 1e-5));
        ExactStep::new(n, n, l, l, 1.0, 0.01, Some(1e3)).apply(&mut stepped);
        assert!(u.iter().zip(&stepped).all(|(a, b)| (a - b).abs() < 1e-5));
    }

    #[test]
    fn the_gpu_step_of_a_batch_is_the_cpu_step_of_each_field() {
        let Some(ctx) = flowscope_gpu::context_for_tests() else { return };
        let (n, l, batch) = (32, std::f64::consts::TAU, 3);
        let fields: Vec<f32> =
            (0..batch * n * n).map(|c| (c * 7919 % 1000) as f32 / 500.0 - 1.0).collect();
        for inverse in [None, Some(1.1)] {
            let spec = StepSpec { nx: n, ny: n, lx: l, ly: l, d: 1.0, dt: 0.01, inverse };
            let buffer = buffers::storage_from(&ctx.device, &ctx.queue, "fields", &fields);
            let step = GpuExactStep::new(&ctx, spec, batch, &buffer, &buffer).unwrap();
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            step.encode(&mut encoder);
            ctx.queue.submit([encoder.finish()]);
            let got: Vec<f32> = buffers::read_blocking(&ctx.device, &ctx.queue, &buffer).unwrap();
            let mut expected = fields.clone();
            let cpu = ExactStep::new(n, n, l, l, 1.0, 0.01, inverse);
            expected.chunks_mut(n * n).for_each(|u| cpu.apply(u));
            let error = expected.iter().zip(&got).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(error < 1e-5, "{inverse:?}: the GPU step is off by {error}");
        }
    }
}
