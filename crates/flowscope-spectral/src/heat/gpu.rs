//! WGSL twin of the heat solver (`shaders/spectral/heat.wgsl`). The state stays on the GPU:
//! renderers bind [`GpuHeat::field_buffer`] directly; read-back is for exports and tests.

use super::exact::GpuExactStep;
use super::{HeatConfig, PaintBlob, Scheme};
use flowscope_gpu::{buffers, shader, wgpu, GpuContext};

const SOURCE: &str = include_str!("../../../../shaders/spectral/heat.wgsl");
const WORKGROUP: u32 = 8;
/// Steps of `scheme` that fit in one command buffer of at most [`MAX_DISPATCHES`] dispatches.
fn steps_per_buffer(scheme: Scheme) -> u32 {
    let per_step = match scheme {
        Scheme::Implicit { iterations } => iterations.max(1),
        _ => 1,
    };
    (MAX_DISPATCHES / per_step).max(1)
}

/// Dispatches recorded into one command buffer at most: a link asking for thousands of steps
/// of many Jacobi sweeps would otherwise make one buffer long enough to trip GPU watchdogs.
pub const MAX_DISPATCHES: u32 = 4096;

/// Mirrors `HeatParams` in heat.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct HeatParams {
    nx: u32,
    ny: u32,
    rx: f32,
    ry: f32,
    paint_x: f32,
    paint_y: f32,
    paint_radius: f32,
    paint_value: f32,
}

const _: () = assert!(std::mem::size_of::<HeatParams>() == 32);

/// A heat simulation on the GPU.
pub struct GpuHeat {
    ctx: GpuContext,
    config: HeatConfig,
    params: wgpu::Buffer,
    /// Ping-pong state buffers; `fields[current]` holds the state.
    fields: [wgpu::Buffer; 2],
    rhs: wgpu::Buffer,
    current: usize,
    explicit: wgpu::ComputePipeline,
    jacobi: wgpu::ComputePipeline,
    paint: wgpu::ComputePipeline,
    /// `[from 0 to 1, from 1 to 0]` for each of the two step kernels.
    explicit_groups: [wgpu::BindGroup; 2],
    jacobi_groups: [wgpu::BindGroup; 2],
    paint_groups: [wgpu::BindGroup; 2],
    /// Non-blocking read-back of the state (the browser's observables and exports).
    reader: buffers::AsyncRead,
    /// The spectral scheme's step, in place on `fields[.1]` (made on first use).
    exact: Option<(GpuExactStep, usize)>,
}

impl GpuHeat {
    pub fn new(ctx: &GpuContext, config: HeatConfig, initial: &[f32]) -> Self {
        assert_eq!(initial.len(), config.nx * config.ny, "initial field has the wrong size");
        let (device, queue) = (&ctx.device, &ctx.queue);
        let module = shader::module(device, "heat.wgsl", SOURCE);
        let explicit = shader::compute_pipeline(device, "heat explicit", &module, "explicit_step");
        let jacobi = shader::compute_pipeline(device, "heat jacobi", &module, "jacobi_sweep");
        let paint = shader::compute_pipeline(device, "heat paint", &module, "paint");
        let params =
            buffers::uniform_from(device, queue, "heat params", &Self::params_for(&config, None));
        let fields = [
            buffers::storage_from(device, queue, "heat field 0", initial),
            buffers::storage_from(device, queue, "heat field 1", initial),
        ];
        let rhs = buffers::storage_from(device, queue, "heat rhs", initial);

        let group = |pipeline: &wgpu::ComputePipeline, entries: &[(u32, &wgpu::Buffer)]| {
            let entries: Vec<_> = entries
                .iter()
                .map(|(binding, buffer)| wgpu::BindGroupEntry {
                    binding: *binding,
                    resource: buffer.as_entire_binding(),
                })
                .collect();
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            })
        };
        let explicit_groups = [0, 1].map(|from| {
            group(&explicit, &[(0, &params), (1, &fields[from]), (3, &fields[1 - from])])
        });
        let jacobi_groups = [0, 1].map(|from| {
            group(&jacobi, &[(0, &params), (1, &fields[from]), (2, &rhs), (3, &fields[1 - from])])
        });
        let paint_groups = [0, 1].map(|at| group(&paint, &[(0, &params), (4, &fields[at])]));

        Self {
            reader: buffers::AsyncRead::new(
                &ctx.device,
                "heat read-back",
                &[config.nx * config.ny],
            ),
            ctx: ctx.clone(),
            config,
            params,
            fields,
            rhs,
            current: 0,
            explicit,
            jacobi,
            paint,
            explicit_groups,
            jacobi_groups,
            paint_groups,
            exact: None,
        }
    }

    fn params_for(config: &HeatConfig, blob: Option<&PaintBlob>) -> HeatParams {
        let (rx, ry) = config.ratios();
        let blob = blob.copied().unwrap_or(PaintBlob { cx: 0.0, cy: 0.0, radius: 1.0, value: 0.0 });
        HeatParams {
            nx: config.nx as u32,
            ny: config.ny as u32,
            rx,
            ry,
            paint_x: blob.cx,
            paint_y: blob.cy,
            paint_radius: blob.radius,
            paint_value: blob.value,
        }
    }

    pub fn config(&self) -> &HeatConfig {
        &self.config
    }

    /// Changes coefficients that need no new grid (diffusivity, dt, scheme).
    pub fn reconfigure(&mut self, config: HeatConfig) {
        assert_eq!((config.nx, config.ny), (self.config.nx, self.config.ny));
        self.config = config;
        self.write_params(None);
        if let Some((exact, _)) = &self.exact {
            exact.retune(&self.ctx, config.exact_spec());
        }
    }

    fn write_params(&self, blob: Option<&PaintBlob>) {
        let params = Self::params_for(&self.config, blob);
        self.ctx.queue.write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
    }

    fn dispatch_grid(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.dispatch_workgroups(
            shader::groups(self.config.nx as u32, WORKGROUP),
            shader::groups(self.config.ny as u32, WORKGROUP),
            1,
        );
    }

    /// Encodes and submits `n` steps, at most [`MAX_DISPATCHES`] dispatches a command buffer.
    pub fn step(&mut self, n: u32) {
        let per_buffer = steps_per_buffer(self.config.scheme);
        let mut left = n;
        while left > 0 {
            let batch = left.min(per_buffer);
            self.encode_steps(batch);
            left -= batch;
        }
    }

    fn encode_steps(&mut self, n: u32) {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        for _ in 0..n {
            match self.config.scheme {
                Scheme::Explicit => {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    pass.set_pipeline(&self.explicit);
                    pass.set_bind_group(0, &self.explicit_groups[self.current], &[]);
                    self.dispatch_grid(&mut pass);
                    drop(pass);
                    self.current = 1 - self.current;
                }
                Scheme::Implicit { iterations } => {
                    encoder.copy_buffer_to_buffer(
                        &self.fields[self.current],
                        0,
                        &self.rhs,
                        0,
                        None,
                    );
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    pass.set_pipeline(&self.jacobi);
                    for _ in 0..iterations {
                        pass.set_bind_group(0, &self.jacobi_groups[self.current], &[]);
                        self.dispatch_grid(&mut pass);
                        self.current = 1 - self.current;
                    }
                }
                // nx and ny are powers of two here (the case checks; else the step is skipped).
                Scheme::Spectral => {
                    if self.exact.as_ref().is_none_or(|(_, at)| *at != self.current) {
                        let field = &self.fields[self.current];
                        let spec = self.config.exact_spec();
                        self.exact = GpuExactStep::new(&self.ctx, spec, 1, field, field)
                            .ok()
                            .map(|step| (step, self.current));
                    }
                    if let Some((exact, _)) = &self.exact {
                        exact.encode(&mut encoder);
                    }
                }
            }
        }
        self.ctx.queue.submit([encoder.finish()]);
    }

    pub fn paint(&mut self, blob: &PaintBlob) {
        self.write_params(Some(blob));
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.paint);
            pass.set_bind_group(0, &self.paint_groups[self.current], &[]);
            self.dispatch_grid(&mut pass);
        }
        self.ctx.queue.submit([encoder.finish()]);
        // Later steps read the same uniform; the queue orders this write after the paint pass.
        self.write_params(None);
    }

    /// The buffer holding the current state (`nx × ny` f32, row-major `[j][i]`).
    pub fn field_buffer(&self) -> &wgpu::Buffer {
        &self.fields[self.current]
    }

    /// Starts reading the state back without blocking (skipped while a read is in flight).
    pub fn request_field(&self) {
        self.reader.request(&self.ctx.device, &self.ctx.queue, &[self.field_buffer()]);
    }

    /// Issues a [`GpuHeat::request_field`] skipped while another read was in flight, once that
    /// has landed; true while the state last asked for is still on its way.
    pub fn catch_up_field(&self) -> bool {
        self.reader.catch_up(&self.ctx.device, &self.ctx.queue, &[self.field_buffer()])
    }

    /// The state of the last completed [`GpuHeat::request_field`], once.
    pub fn take_field(&self) -> Option<Vec<f32>> {
        self.reader.take()?.pop()
    }

    /// Blocking read-back of the state (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_field(&self) -> Result<Vec<f32>, String> {
        buffers::read_blocking(&self.ctx.device, &self.ctx.queue, self.field_buffer())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link's `step(100000)` of 500 Jacobi sweeps was one command buffer of 50 M dispatches.
    #[test]
    fn long_runs_are_split_into_bounded_command_buffers() {
        assert_eq!(steps_per_buffer(Scheme::Implicit { iterations: 500 }), 8);
        assert_eq!(steps_per_buffer(Scheme::Implicit { iterations: 10_000 }), 1);
        assert_eq!(steps_per_buffer(Scheme::Explicit), MAX_DISPATCHES);
        for scheme in [Scheme::Explicit, Scheme::Implicit { iterations: 30 }, Scheme::Spectral] {
            let per_step = match scheme {
                Scheme::Implicit { iterations } => iterations,
                _ => 1,
            };
            assert!(steps_per_buffer(scheme) * per_step <= MAX_DISPATCHES);
        }
    }
}
