//! The 2D FFT of a periodic box, unnormalised forward and 1/(nx·ny)-normalised inverse (numpy's
//! convention): rustfft on the CPU ([`Fft2`]) and its WGSL twin ([`GpuFft2`],
//! `shaders/spectral/fft.wgsl`, radix-2 Stockham passes) for power-of-two sizes. Complex values
//! are `[re, im]` pairs, row-major `[j][i]` with `nx` values per row.

use flowscope_gpu::program::{encode, Op, Program};
use flowscope_gpu::{buffers, wgpu, GpuContext};
use rustfft::num_complex::Complex32;
use rustfft::FftPlanner;
use std::sync::{Arc, Mutex};

/// A 2D FFT of one size on the CPU (plans made once).
pub struct Fft2 {
    nx: usize,
    ny: usize,
    rows: [Arc<dyn rustfft::Fft<f32>>; 2],
    columns: [Arc<dyn rustfft::Fft<f32>>; 2],
    /// Scratch for the column pass, kept between calls.
    transposed: Mutex<Vec<Complex32>>,
}

impl Fft2 {
    pub fn new(nx: usize, ny: usize) -> Self {
        let mut planner = FftPlanner::new();
        Self {
            nx,
            ny,
            rows: [planner.plan_fft_forward(nx), planner.plan_fft_inverse(nx)],
            columns: [planner.plan_fft_forward(ny), planner.plan_fft_inverse(ny)],
            transposed: Mutex::new(Vec::new()),
        }
    }

    pub fn forward(&self, data: &mut [Complex32]) {
        self.transform(data, 0);
    }

    /// The inverse, divided by nx·ny: `inverse(forward(x)) = x`.
    pub fn inverse(&self, data: &mut [Complex32]) {
        self.transform(data, 1);
        let scale = 1.0 / (self.nx * self.ny) as f32;
        data.iter_mut().for_each(|v| *v *= scale);
    }

    fn transform(&self, data: &mut [Complex32], direction: usize) {
        let (nx, ny) = (self.nx, self.ny);
        assert_eq!(data.len(), nx * ny, "an {nx} × {ny} FFT of {} values", data.len());
        lines(&*self.rows[direction], data, nx);
        // Columns as rows of the transpose.
        let mut transposed = self.transposed.lock().expect("no FFT panicked holding it");
        transposed.clear();
        transposed.extend((0..nx * ny).map(|k| data[(k % ny) * nx + k / ny]));
        lines(&*self.columns[direction], &mut transposed, ny);
        for (k, v) in transposed.iter().enumerate() {
            data[(k % ny) * nx + k / ny] = *v;
        }
    }
}

/// Transforms the consecutive lines of `len` values in `data`, a block of lines per thread.
fn lines(fft: &dyn rustfft::Fft<f32>, data: &mut [Complex32], len: usize) {
    let count = data.len() / len;
    let per_block = count.div_ceil(flowscope_parallel::threads()).max(1);
    flowscope_parallel::for_each_chunk_mut(data, per_block * len, |_, block| fft.process(block));
}

/// Mirrors `Stage` in fft.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Stage {
    n: u32,
    p: u32,
    stride: u32,
    line_stride: u32,
    lines: u32,
    sign: f32,
    scale: f32,
    field_lines: u32,
    field_stride: u32,
    _pad: [u32; 3],
}

const SOURCE: &str = include_str!("../../../shaders/spectral/fft.wgsl");

/// A 2D FFT of one size on the GPU, of a batch of fields: the data live in [`GpuFft2::buffer`]
/// (`vec2<f32>` per value, field after field), transformed in place by the recorded passes.
pub struct GpuFft2 {
    buffers: [wgpu::Buffer; 2],
    /// The recorded passes, forward and inverse, each ending in `buffers[0]`.
    passes: [Vec<Op>; 2],
}

impl GpuFft2 {
    /// The FFT of `nx × ny` values; both must be powers of two, at least 2.
    pub fn new(ctx: &GpuContext, nx: usize, ny: usize) -> Result<Self, String> {
        Self::batched(ctx, nx, ny, 1)
    }

    /// The FFTs of `batch` fields of `nx × ny` values at once.
    pub fn batched(ctx: &GpuContext, nx: usize, ny: usize, batch: usize) -> Result<Self, String> {
        for n in [nx, ny] {
            if n < 2 || !n.is_power_of_two() {
                return Err(format!("the GPU FFT takes powers of two ≥ 2, got {nx} × {ny}"));
            }
        }
        if batch == 0 {
            return Err("the GPU FFT needs at least one field".into());
        }
        let (device, queue) = (&ctx.device, &ctx.queue);
        let buffers = [0, 1].map(|_| buffers::storage_zeros(device, "fft", 2 * nx * ny * batch));
        let mut program = Program::new(device, "spectral/fft.wgsl", SOURCE);
        let record = |program: &mut Program, sign: f32| {
            // Rows (n = nx along stride 1), then columns (n = ny along stride nx).
            let axes = [(nx, 1, nx, ny), (ny, nx, 1, nx)];
            let stages: Vec<(usize, Stage)> = axes
                .iter()
                .flat_map(|&(n, stride, line_stride, lines)| {
                    (0..n.trailing_zeros()).map(move |s| {
                        let stage = Stage {
                            n: n as u32,
                            p: 1 << s,
                            stride: stride as u32,
                            line_stride: line_stride as u32,
                            lines: (lines * batch) as u32,
                            sign,
                            scale: 1.0,
                            field_lines: lines as u32,
                            field_stride: (nx * ny) as u32,
                            _pad: [0; 3],
                        };
                        (n / 2 * lines * batch, stage)
                    })
                })
                .collect();
            let last = stages.len() - 1;
            let mut ops: Vec<Op> = stages
                .into_iter()
                .enumerate()
                .map(|(k, (items, mut stage))| {
                    if sign > 0.0 && k == last {
                        stage.scale = 1.0 / (nx * ny) as f32;
                    }
                    let uniform = buffers::uniform_from(device, queue, "fft stage", &stage);
                    let groups = (items as u32).div_ceil(64);
                    let size = [groups.min(65_535), groups.div_ceil(65_535), 1];
                    let (from, to) = (&buffers[k % 2], &buffers[(k + 1) % 2]);
                    program.op("stockham", &[(0, &uniform), (1, from), (2, to)], size)
                })
                .collect();
            if ops.len() % 2 == 1 {
                ops.push(Op::copy(&buffers[1], &buffers[0]));
            }
            ops
        };
        let passes = [record(&mut program, -1.0), record(&mut program, 1.0)];
        Ok(Self { buffers, passes })
    }

    /// The buffer the transforms work in: write the input there, read the output there.
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffers[0]
    }

    /// Records the forward transform (or the inverse, divided by nx·ny) into `encoder`.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder, inverse: bool) {
        encode(encoder, &self.passes[usize::from(inverse)]);
    }

    /// The recorded passes of the forward transform (or the inverse), for a solver that records
    /// them into its own sequence.
    pub fn ops(&self, inverse: bool) -> impl Iterator<Item = Op> + '_ {
        self.passes[usize::from(inverse)].iter().cloned()
    }

    /// Transforms `data` on `ctx` (the FFT's device) and reads it back (native: tests and
    /// benchmarks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn transform_blocking(
        &self,
        ctx: &GpuContext,
        data: &[Complex32],
        inverse: bool,
    ) -> Vec<Complex32> {
        assert_eq!(
            8 * data.len() as u64,
            self.buffers[0].size(),
            "one value per cell of the batch"
        );
        let (device, queue) = (&ctx.device, &ctx.queue);
        let pairs: Vec<[f32; 2]> = data.iter().map(|c| [c.re, c.im]).collect();
        queue.write_buffer(&self.buffers[0], 0, bytemuck::cast_slice(&pairs));
        let mut encoder = device.create_command_encoder(&Default::default());
        self.encode(&mut encoder, inverse);
        queue.submit([encoder.finish()]);
        let values: Vec<[f32; 2]> =
            buffers::read_blocking(device, queue, &self.buffers[0]).expect("FFT read-back");
        values.into_iter().map(|[re, im]| Complex32::new(re, im)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reproducible field of complex values in [−1, 1].
    fn field(nx: usize, ny: usize, seed: u32) -> Vec<Complex32> {
        let mut state = seed.wrapping_mul(747_796_405).wrapping_add(1);
        let mut next = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1 << 23) as f32 - 1.0
        };
        (0..nx * ny).map(|_| Complex32::new(next(), next())).collect()
    }

    #[test]
    fn the_cpu_fft_is_the_dft_and_inverts() {
        let (nx, ny) = (8, 4);
        let x = field(nx, ny, 1);
        let mut y = x.clone();
        let fft = Fft2::new(nx, ny);
        fft.forward(&mut y);
        for (kx, ky) in [(0, 0), (3, 1), (7, 3)] {
            let mut sum = Complex32::new(0.0, 0.0);
            for j in 0..ny {
                for i in 0..nx {
                    let angle = -std::f32::consts::TAU
                        * (kx as f32 * i as f32 / nx as f32 + ky as f32 * j as f32 / ny as f32);
                    sum += x[j * nx + i] * Complex32::from_polar(1.0, angle);
                }
            }
            assert!((y[ky * nx + kx] - sum).norm() < 1e-4, "({kx}, {ky})");
        }
        fft.inverse(&mut y);
        assert!(x.iter().zip(&y).all(|(a, b)| (a - b).norm() < 1e-5));
    }

    #[test]
    fn the_gpu_fft_matches_rustfft() {
        let Some(ctx) = flowscope_gpu::context_for_tests() else { return };
        for (nx, ny) in [(32, 32), (64, 16), (256, 128)] {
            let x = field(nx, ny, nx as u32);
            let gpu = GpuFft2::new(&ctx, nx, ny).unwrap();
            let cpu = Fft2::new(nx, ny);
            let mut expected = x.clone();
            cpu.forward(&mut expected);
            let got = gpu.transform_blocking(&ctx, &x, false);
            let scale = expected.iter().fold(0.0f32, |m, v| m.max(v.norm()));
            let error = expected.iter().zip(&got).fold(0.0f32, |m, (a, b)| m.max((a - b).norm()));
            assert!(error < 2e-6 * scale, "{nx} × {ny}: forward off by {error} (scale {scale})");
            let back = gpu.transform_blocking(&ctx, &got, true);
            let error = x.iter().zip(&back).fold(0.0f32, |m, (a, b)| m.max((a - b).norm()));
            assert!(error < 1e-5, "{nx} × {ny}: the inverse returns x to {error}");
        }
        assert!(GpuFft2::new(&ctx, 48, 32).is_err(), "not a power of two");
        // A batch transforms each field as it would alone.
        let (nx, ny, batch) = (16, 8, 3);
        let fields: Vec<Vec<Complex32>> = (0..batch).map(|k| field(nx, ny, 40 + k)).collect();
        let gpu = GpuFft2::batched(&ctx, nx, ny, batch as usize).unwrap();
        let got = gpu.transform_blocking(&ctx, &fields.concat(), false);
        for (k, x) in fields.iter().enumerate() {
            let mut expected = x.clone();
            Fft2::new(nx, ny).forward(&mut expected);
            let part = &got[k * nx * ny..(k + 1) * nx * ny];
            let error = expected.iter().zip(part).fold(0.0f32, |m, (a, b)| m.max((a - b).norm()));
            assert!(error < 1e-4, "field {k} of the batch off by {error}");
        }
    }
}
