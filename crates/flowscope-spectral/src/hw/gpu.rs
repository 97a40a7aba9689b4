//! WGSL twin of the Hasegawa–Wakatani solver (`shaders/spectral/hw.wgsl`, the FFT of
//! [`crate::fft::GpuFft2`]). The state stays on the GPU: renderers bind its buffers; read-back is
//! for the statistics, exports and tests.

use super::cpu::{STAGE, WEIGHT};
use super::HwConfig;
use crate::fft::GpuFft2;
use flowscope_gpu::program::{encode, Op, Program};
use flowscope_gpu::{buffers, shader, wgpu, GpuContext};

const SOURCE: &str = include_str!("../../../../shaders/spectral/hw.wgsl");
/// Dispatches recorded into one command buffer at most (GPU watchdogs).
const MAX_DISPATCHES: usize = 4096;

/// Mirrors `Hw` in hw.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Uniform {
    n: u32,
    c1: f32,
    kappa: f32,
    nu: f32,
    inv_dx2: f32,
    bracket_scale: f32,
    inv_2dx: f32,
    weight: f32,
    offset: f32,
    _pad: [u32; 3],
}

/// Mirrors `Stir` in hw.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct StirUniform {
    x: f32,
    y: f32,
    radius: f32,
    amplitude: f32,
    dx: f32,
    length: f32,
    _pad: [u32; 2],
}

/// The uniforms of the four RK4 stages of `config`.
fn stage_uniforms(config: &HwConfig) -> [Uniform; 4] {
    let (dx, dt) = (config.dx(), config.dt as f32);
    std::array::from_fn(|s| Uniform {
        n: config.n as u32,
        c1: config.c1 as f32,
        kappa: config.kappa as f32,
        nu: config.nu as f32,
        inv_dx2: (1.0 / (dx * dx)) as f32,
        bracket_scale: (1.0 / (12.0 * dx * dx)) as f32,
        inv_2dx: (1.0 / (2.0 * dx)) as f32,
        weight: dt * WEIGHT[s],
        offset: STAGE.get(s).map_or(0.0, |a| dt * a),
        _pad: [0; 3],
    })
}

/// A Hasegawa–Wakatani simulation on the GPU.
pub struct GpuHw {
    ctx: GpuContext,
    config: HwConfig,
    uniforms: [wgpu::Buffer; 4],
    stir_uniform: wgpu::Buffer,
    /// `vec2(n, Ω)` per cell, and φ.
    state: wgpu::Buffer,
    phi: wgpu::Buffer,
    /// One RK4 step, recorded once.
    step_ops: Vec<Op>,
    /// φ of the state (after a stir or a new state).
    solve_ops: Vec<Op>,
    stir_op: Op,
    reader: buffers::AsyncRead,
}

impl GpuHw {
    /// A simulation from `state` (`[n, Ω]` per cell); φ is solved from Ω. Fails where the FFT
    /// cannot take the grid (a power of two).
    pub fn new(ctx: &GpuContext, config: HwConfig, state: &[[f32; 2]]) -> Result<Self, String> {
        let n = config.n;
        let cells = n * n;
        assert_eq!(state.len(), cells, "the state has one [n, Ω] pair per cell");
        let (device, queue) = (&ctx.device, &ctx.queue);
        let fft = GpuFft2::new(ctx, n, n)?;
        let uniforms =
            stage_uniforms(&config).map(|u| buffers::uniform_from(device, queue, "hw stage", &u));
        let stir_uniform =
            buffers::uniform_from(device, queue, "hw stir", &StirUniform::zeroed_for(&config));
        let state_buffer = buffers::storage_from(device, queue, "hw state", state);
        let phi = buffers::storage_zeros(device, "hw phi", cells);
        let stage_phi = buffers::storage_zeros(device, "hw stage phi", cells);
        let pairs = |label| buffers::storage_zeros(device, label, 2 * cells);
        let next = pairs("hw next");
        let stages = [pairs("hw stage a"), pairs("hw stage b")];
        let laps = [pairs("hw laplacian"), pairs("hw bilaplacian")];
        let factor = buffers::storage_from(device, queue, "hw 1/k²", &config.inverse_laplacian());

        let mut program = Program::new(device, "spectral/hw.wgsl", SOURCE);
        let groups_1d = {
            let groups = (cells as u32).div_ceil(64);
            [groups.min(65_535), groups.div_ceil(65_535), 1]
        };
        let groups_2d = {
            let g = shader::groups(n as u32, 8);
            [g, g, 1]
        };
        let uniform = &uniforms[0];
        let spectrum = fft.buffer();
        let solve = |program: &mut Program, from: &wgpu::Buffer, to: &wgpu::Buffer| {
            let mut ops =
                vec![program.op("pack", &[(0, uniform), (1, from), (2, spectrum)], groups_1d)];
            ops.extend(fft.ops(false));
            ops.push(program.op("solve", &[(0, uniform), (3, &factor), (4, spectrum)], groups_1d));
            ops.extend(fft.ops(true));
            ops.push(program.op("unpack", &[(0, uniform), (5, spectrum), (6, to)], groups_1d));
            ops
        };
        let solve_ops = solve(&mut program, &state_buffer, &phi);

        let mut step_ops = vec![Op::copy(&state_buffer, &next)];
        for s in 0..4 {
            // Stage inputs: the state, then the stages in turn (a, b, a).
            let (input, input_phi) =
                if s == 0 { (&state_buffer, &phi) } else { (&stages[(s + 1) % 2], &stage_phi) };
            let output = &stages[s % 2];
            step_ops.push(program.op(
                "laplacian",
                &[(0, &uniforms[s]), (7, input), (8, &laps[0])],
                groups_2d,
            ));
            step_ops.push(program.op(
                "laplacian",
                &[(0, &uniforms[s]), (7, &laps[0]), (8, &laps[1])],
                groups_2d,
            ));
            // The last stage writes no next stage (its offset is 0); the binding stays valid.
            let bindings = [
                (0, &uniforms[s]),
                (9, input),
                (10, input_phi),
                (11, &laps[1]),
                (12, &state_buffer),
                (13, &next),
                (14, output),
            ];
            step_ops.push(program.op("rates", &bindings, groups_2d));
            if s < 3 {
                step_ops.extend(solve(&mut program, output, &stage_phi));
            }
        }
        step_ops.push(Op::copy(&next, &state_buffer));
        step_ops.extend(solve_ops.iter().cloned());
        let stir_op = program.op(
            "stir",
            &[(0, uniform), (15, &stir_uniform), (16, &state_buffer)],
            groups_2d,
        );
        let reader = buffers::AsyncRead::new(device, "hw read-back", &[2 * cells, cells]);
        let hw = Self {
            ctx: ctx.clone(),
            config,
            uniforms,
            stir_uniform,
            state: state_buffer,
            phi,
            step_ops,
            solve_ops,
            stir_op,
            reader,
        };
        hw.submit(&hw.solve_ops);
        Ok(hw)
    }

    pub fn config(&self) -> &HwConfig {
        &self.config
    }

    /// Live coefficients (c1, κ, ν, dt); the grid stays.
    pub fn reconfigure(&mut self, config: HwConfig) {
        assert_eq!(config.n, self.config.n, "the grid is fixed for a simulation");
        self.config = config;
        for (buffer, uniform) in self.uniforms.iter().zip(stage_uniforms(&config)) {
            self.ctx.queue.write_buffer(buffer, 0, bytemuck::bytes_of(&uniform));
        }
    }

    /// `vec2(n, Ω)` per cell.
    pub fn state_buffer(&self) -> &wgpu::Buffer {
        &self.state
    }

    pub fn phi_buffer(&self) -> &wgpu::Buffer {
        &self.phi
    }

    /// Encodes and submits `steps` RK4 steps, in command buffers of bounded length.
    pub fn step(&mut self, steps: u32) {
        let per_buffer = (MAX_DISPATCHES / self.step_ops.len()).max(1);
        let mut left = steps as usize;
        while left > 0 {
            let batch = left.min(per_buffer);
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            for _ in 0..batch {
                encode(&mut encoder, &self.step_ops);
            }
            self.ctx.queue.submit([encoder.finish()]);
            left -= batch;
        }
    }

    /// Adds a Gaussian of vorticity (as [`super::stir`]) and solves φ again.
    pub fn stir(&mut self, x: f64, y: f64, radius: f64, amplitude: f64) {
        let uniform = StirUniform {
            x: x as f32,
            y: y as f32,
            radius: radius as f32,
            amplitude: amplitude as f32,
            ..StirUniform::zeroed_for(&self.config)
        };
        self.ctx.queue.write_buffer(&self.stir_uniform, 0, bytemuck::bytes_of(&uniform));
        let mut ops = vec![self.stir_op.clone()];
        ops.extend(self.solve_ops.iter().cloned());
        self.submit(&ops);
    }

    fn submit(&self, ops: &[Op]) {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encode(&mut encoder, ops);
        self.ctx.queue.submit([encoder.finish()]);
    }

    /// Starts a read-back of the state and φ unless one is in flight (the browser), handing
    /// them to `on_arrival` when they come.
    pub fn request_state(&self, on_arrival: impl FnOnce(&[[f32; 2]], &[f32]) + Send + 'static) {
        let sources = [&self.state, &self.phi];
        self.reader.request_with(&self.ctx.device, &self.ctx.queue, &sources, move |arrays| {
            on_arrival(bytemuck::cast_slice(&arrays[0]), &arrays[1]);
        });
    }

    /// The state and φ, waiting for the GPU (native: tests, the CLI).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_state(&self) -> Result<(Vec<[f32; 2]>, Vec<f32>), String> {
        let (device, queue) = (&self.ctx.device, &self.ctx.queue);
        let state: Vec<[f32; 2]> = buffers::read_blocking(device, queue, &self.state)?;
        let phi: Vec<f32> = buffers::read_blocking(device, queue, &self.phi)?;
        Ok((state, phi))
    }

    /// The statistics of the current state (native).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn stats(&self) -> Result<super::HwStats, String> {
        let (state, phi) = self.read_state()?;
        Ok(super::HwStats::of(&self.config, &state, &phi))
    }
}

impl StirUniform {
    fn zeroed_for(config: &HwConfig) -> Self {
        Self {
            x: 0.0,
            y: 0.0,
            radius: 1.0,
            amplitude: 0.0,
            dx: config.dx() as f32,
            length: config.length() as f32,
            _pad: [0; 2],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{initial_state, stir, CpuHw};
    use super::*;

    fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
    }

    /// The WGSL solver follows the CPU reference step for step from the same start, before chaos
    /// separates them: state and φ within float tolerance of the state's scale.
    #[test]
    fn the_gpu_solver_matches_the_cpu_reference() {
        let Some(ctx) = flowscope_gpu::context_for_tests() else { return };
        let config = HwConfig::reference(64);
        let start = initial_state(64, 11);
        let mut cpu = CpuHw::new(config, start.clone());
        let mut gpu = GpuHw::new(&ctx, config, &start).unwrap();
        let (_, phi) = gpu.read_state().unwrap();
        assert!(largest_difference(&phi, cpu.phi()) < 1e-6, "φ of the start");
        for _ in 0..3 {
            cpu.step(50);
            gpu.step(50);
            let (state, phi) = gpu.read_state().unwrap();
            let flat = |s: &[[f32; 2]]| s.iter().flatten().copied().collect::<Vec<f32>>();
            let scale = flat(cpu.state()).iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let error = largest_difference(&flat(&state), &flat(cpu.state()));
            assert!(error < 1e-4 * scale, "state off by {error} (scale {scale})");
            let error = largest_difference(&phi, cpu.phi());
            assert!(error < 1e-4 * scale, "φ off by {error}");
        }
        let mut stirred = cpu.state().to_vec();
        stir(&config, &mut stirred, 10.0, 20.0, 3.0, 0.5);
        cpu.set_state(stirred);
        gpu.stir(10.0, 20.0, 3.0, 0.5);
        let (state, phi) = gpu.read_state().unwrap();
        let omega = |s: &[[f32; 2]]| s.iter().map(|c| c[1]).collect::<Vec<f32>>();
        assert!(largest_difference(&omega(&state), &omega(cpu.state())) < 1e-4, "stirred Ω");
        assert!(largest_difference(&phi, cpu.phi()) < 1e-3, "stirred φ");
        assert!(GpuHw::new(&ctx, HwConfig::reference(48), &initial_state(48, 1)).is_err());
    }
}
