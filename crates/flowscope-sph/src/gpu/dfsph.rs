//! The WGSL twin of [`crate::dfsph::Dfsph`] (`shaders/sph/dfsph.wgsl`): the same step, both
//! pressure solves iterating on the device until their tolerance (indirect dispatches that a
//! converged solve sets to zero), so nothing comes back per step. [`GpuDfsph::request_mirror`]
//! reads the state and the solver statistics back without blocking.
//!
//! A step records a budget of iterations per solve rather than always the whole limit: each
//! recorded iteration costs three dispatches even when empty, and solves mostly converge within
//! a few. The budget starts at the limit; as statistics come back it halves while it exceeds
//! twice what the solves lately needed (four times the most iterations of recent steps, that
//! peak decaying by 5% a step, plus eight; at least 16), and a solve that ran out of budget
//! before its tolerance doubles it again (up to the limit) for the steps recorded after.

use super::{extent, flat, grid_geometry, source_2d, submit_steps, Grid, Views, GROUP};
use crate::dfsph::{Dfsph, DfsphStats};
use crate::kernel::Shape;
use flowscope_gpu::buffers::AsyncRead;
use flowscope_gpu::program::{encode, Op, Program};
use flowscope_gpu::{buffers, wgpu, GpuContext};
use std::sync::{Arc, Mutex};

const SOURCE: &str = include_str!("../../../../shaders/sph/dfsph.wgsl");

/// Mirrors `Params` in dfsph.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n_fluid: u32,
    n_all: u32,
    dims_x: u32,
    dims_y: u32,
    lo_x: f32,
    lo_y: f32,
    cell_x: f32,
    cell_y: f32,
    h: f32,
    radius: f32,
    mass: f32,
    rho0: f32,
    gx: f32,
    gy: f32,
    dt: f32,
    viscosity: f32,
    tolerance: f32,
    /// Iterations recorded per solve (the budget).
    max_iterations: u32,
    shape: u32,
    spectral_radius: f32,
}

/// The smallest budget of iterations per solve.
const LEAST_BUDGET: usize = 16;

/// Bytes of `Solve` in dfsph.wgsl, and where its workgroup counts start.
const SOLVE_BYTES: u64 = 32;
const PARTICLE_ARGS: u64 = 16;

/// The fluid's state as last read back, with the last step's solver statistics.
#[derive(Clone, Debug, Default)]
pub struct DfsphMirror {
    pub x: Vec<[f64; 2]>,
    pub v: Vec<[f64; 2]>,
    pub rho: Vec<f64>,
    /// κ summed over the constant-density solve (κ ρ is the pressure).
    pub kappa: Vec<f64>,
    pub neighbours: Vec<u32>,
    pub stats: DfsphStats,
}

/// An incompressible (DFSPH) fluid on the GPU.
pub struct GpuDfsph {
    ctx: GpuContext,
    params: Params,
    uniform: wgpu::Buffer,
    pos: wgpu::Buffer,
    vel: wgpu::Buffer,
    rho: wgpu::Buffer,
    kappa_sum: wgpu::Buffer,
    neighbours: wgpu::Buffer,
    /// The `Solve` records of the constant-density and divergence-free solves.
    solves: [wgpu::Buffer; 2],
    /// The iteration limit of the solves (`params.max_iterations` is the budget recorded).
    max_iterations: usize,
    /// The step's dispatches, for `params.max_iterations` iterations of each solve.
    step_ops: Vec<Op>,
    program: Program,
    grid: Grid,
    alpha: wgpu::Buffer,
    pred: wgpu::Buffer,
    source: wgpu::Buffer,
    /// The steps the solves' apply kernels take (the constant-density solve's accelerated).
    steps: wgpu::Buffer,
    /// Drawn from the grid of the positions at the end of the last step.
    views: Views,
    read: AsyncRead,
    /// What the latest read-back says: the views' extents, and the budget the solves suggest.
    latest: Arc<Mutex<Latest>>,
    n_fluid: usize,
    pub time: f64,
}

#[derive(Default)]
struct Latest {
    /// Extents of the speed, pressure and density views (set as a read-back arrives).
    extents: [Option<(f32, f32)>; 3],
    /// The budget for the steps recorded next, if it should change.
    budget: Option<usize>,
    /// The most iterations a solve needed lately (decaying by 5% a read-back).
    peak: f64,
}

fn solve_buffer(device: &wgpu::Device, label: &str) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: SOLVE_BYTES,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::INDIRECT
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
}

impl GpuDfsph {
    /// Uploads a CPU fluid (particles at rest or moving, walls, parameters); the densities and
    /// factors are computed on the device.
    pub fn new(ctx: &GpuContext, cpu: &Dfsph) -> Self {
        let (device, queue) = (&ctx.device, &ctx.queue);
        let (n_fluid, n_walls) = (cpu.fluid.len(), cpu.walls.len());
        let n_all = n_fluid + n_walls;
        let radius = cpu.kernel.support(cpu.h);
        let (lo, cell, dims) = grid_geometry(&cpu.tank, radius);
        let config = cpu.config;
        let params = Params {
            n_fluid: n_fluid as u32,
            n_all: n_all as u32,
            dims_x: dims[0],
            dims_y: dims[1],
            lo_x: lo[0],
            lo_y: lo[1],
            cell_x: cell[0],
            cell_y: cell[1],
            h: cpu.h as f32,
            radius: radius as f32,
            mass: cpu.fluid.mass as f32,
            rho0: config.rho0 as f32,
            gx: config.gravity[0] as f32,
            gy: config.gravity[1] as f32,
            dt: 0.0,
            viscosity: config.viscosity as f32,
            tolerance: config.tolerance as f32,
            max_iterations: config.max_iterations.max(1) as u32,
            shape: u32::from(config.shape == Shape::WendlandC2),
            spectral_radius: config.spectral_radius as f32,
        };
        let uniform = buffers::uniform_from(device, queue, "dfsph params", &params);
        let mut all = cpu.fluid.x.clone();
        all.extend_from_slice(&cpu.walls);
        let pos = buffers::storage_from(device, queue, "dfsph pos", &flat(&all));
        let vel = buffers::storage_from(device, queue, "dfsph vel", &flat(&cpu.fluid.v));
        let field = |label| buffers::storage_zeros(device, label, n_fluid);
        let (rho, alpha, neighbours) =
            (field("dfsph rho"), field("dfsph alpha"), field("dfsph neighbours"));
        let source = buffers::storage_zeros(device, "dfsph source", 2 * n_fluid);
        let kappa: Vec<f32> = cpu.kappa.iter().map(|k| *k as f32).collect();
        let kappa_sum = buffers::storage_from(device, queue, "dfsph kappa", &kappa);
        let pred = buffers::storage_zeros(device, "dfsph pred", 2 * n_fluid);
        let steps = buffers::storage_zeros(device, "dfsph steps", n_fluid);
        let solves =
            [solve_buffer(device, "dfsph density solve"), solve_buffer(device, "divergence solve")];
        let grid = Grid::new(device, n_all, dims);
        let mut program = Program::new(device, "dfsph.wgsl", &source_2d(SOURCE));

        // The grid and factors of the initial positions.
        let mut first = grid.sort(&mut program, &uniform, &pos, n_all);
        first.push(program.op_1d(
            "factors",
            &[
                (0, &uniform),
                (1, &pos),
                (3, &rho),
                (4, &alpha),
                (12, &grid.start),
                (13, &grid.order),
                (14, &neighbours),
            ],
            n_fluid,
            GROUP,
        ));
        let mut encoder = device.create_command_encoder(&Default::default());
        encode(&mut encoder, &first);
        ctx.queue.submit([encoder.finish()]);

        let views = Views::new(
            device,
            queue,
            &mut program,
            &cpu.tank,
            &[],
            &[
                (0, &uniform),
                (1, &pos),
                (2, &vel),
                (3, &rho),
                (7, &kappa_sum),
                (12, &grid.start),
                (13, &grid.order),
                (14, &neighbours),
            ],
        );
        let read = AsyncRead::new(
            device,
            "dfsph mirror",
            &[2 * n_fluid, 2 * n_fluid, n_fluid, n_fluid, n_fluid, 8, 8],
        );
        let mut gpu = Self {
            ctx: ctx.clone(),
            params,
            uniform,
            pos,
            vel,
            rho,
            kappa_sum,
            neighbours,
            solves,
            step_ops: Vec::new(),
            program,
            grid,
            alpha,
            pred,
            source,
            steps,
            views,
            read,
            max_iterations: config.max_iterations.max(1),
            latest: Arc::default(),
            n_fluid,
            time: cpu.time,
        };
        gpu.step_ops = gpu.record_step();
        gpu
    }

    /// The dispatches of one step.
    fn record_step(&mut self) -> Vec<Op> {
        let (n_fluid, n_all) = (self.n_fluid, self.params.n_all as usize);
        let program = &mut self.program;
        let u = &self.uniform;
        let (pos, vel, rho, alpha, pred, source, kappa_sum, neighbours) = (
            &self.pos,
            &self.vel,
            &self.rho,
            &self.alpha,
            &self.pred,
            &self.source,
            &self.kappa_sum,
            &self.neighbours,
        );
        let steps = &self.steps;
        let (start, order) = (&self.grid.start, &self.grid.order);
        let mut ops = vec![program.op_1d(
            "accelerate",
            &[
                (0, u),
                (1, pos),
                (2, vel),
                (3, rho),
                (5, pred),
                (7, kappa_sum),
                (12, start),
                (13, order),
            ],
            n_fluid,
            GROUP,
        )];
        let solve = |program: &mut Program, ops: &mut Vec<Op>, k: usize| {
            let record = &self.solves[k];
            let (source_entry, reduce_entry, apply_entry) = [
                ("density_source", "reduce_density", "apply_density"),
                ("divergence_source", "reduce_divergence", "apply_divergence"),
            ][k];
            let mut source_bindings =
                vec![(0, u), (1, pos), (5, pred), (6, source), (12, start), (13, order)];
            let mut apply_bindings = vec![
                (0, u),
                (1, pos),
                (3, rho),
                (4, alpha),
                (5, pred),
                (12, start),
                (13, order),
                (15, steps),
            ];
            if k == 0 {
                source_bindings.extend([(3, rho), (4, alpha), (7, kappa_sum)]);
                apply_bindings.push((7, kappa_sum));
            } else {
                source_bindings.push((14, neighbours));
            }
            let sources =
                program.op_indirect(source_entry, &source_bindings, record, PARTICLE_ARGS);
            let reduce = program.op(
                reduce_entry,
                &[(0, u), (6, source), (8, record), (15, steps)],
                [1, 1, 1],
            );
            let apply = program.op_indirect(apply_entry, &apply_bindings, record, PARTICLE_ARGS);
            ops.push(program.op("begin_solve", &[(0, u), (8, record)], [1, 1, 1]));
            for _ in 0..self.params.max_iterations {
                ops.extend([sources.clone(), reduce.clone(), apply.clone()]);
            }
        };
        solve(program, &mut ops, 0);
        ops.push(program.op_1d("advance", &[(0, u), (1, pos), (5, pred)], n_fluid, GROUP));
        ops.extend(self.grid.sort(program, u, pos, n_all));
        ops.push(program.op_1d(
            "factors",
            &[(0, u), (1, pos), (3, rho), (4, alpha), (12, start), (13, order), (14, neighbours)],
            n_fluid,
            GROUP,
        ));
        solve(program, &mut ops, 1);
        ops.push(program.op_1d("finish", &[(0, u), (2, vel), (5, pred)], n_fluid, GROUP));
        ops
    }

    /// Sets the viscosity, tolerance and iteration limit of the steps encoded next.
    pub fn configure(&mut self, viscosity: f64, tolerance: f64, max_iterations: usize) {
        self.params.viscosity = viscosity as f32;
        self.params.tolerance = tolerance as f32;
        self.max_iterations = max_iterations.max(1);
        self.set_budget(self.budget().min(self.max_iterations));
    }

    fn set_budget(&mut self, budget: usize) {
        if budget as u32 != self.params.max_iterations {
            self.params.max_iterations = budget as u32;
            self.step_ops = self.record_step();
        }
    }

    /// Iterations recorded per solve in the steps encoded next.
    pub fn budget(&self) -> usize {
        self.params.max_iterations as usize
    }

    /// Encodes and submits `n` steps of `dt`.
    pub fn step(&mut self, dt: f64, n: u32) {
        let budget = self.latest.lock().ok().and_then(|mut latest| latest.budget.take());
        if let Some(budget) = budget {
            self.set_budget(budget.clamp(1, self.max_iterations));
        }
        self.params.dt = dt as f32;
        submit_steps(&self.ctx, &self.uniform, &self.params, &self.step_ops, n);
        self.time += dt * f64::from(n);
    }

    /// Draws view `name` (one of [`super::VIEWS`]) and returns the image buffer.
    pub fn view(&self, name: &str) -> Option<&wgpu::Buffer> {
        self.views.draw(&self.ctx, name)
    }

    /// Size (columns, rows) of the view images.
    pub fn image(&self) -> (u32, u32) {
        self.views.image
    }

    /// Draws particles as discs `scale` times the default size in the views.
    pub fn set_disc_scale(&mut self, scale: f64) {
        self.views.set_disc_scale(&self.ctx.queue, scale);
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Starts reading the state back without waiting (at most one read in flight);
    /// [`GpuDfsph::take_mirror`] returns it once it has arrived.
    pub fn request_mirror(&self) {
        let sources = [
            &self.pos,
            &self.vel,
            &self.rho,
            &self.kappa_sum,
            &self.neighbours,
            &self.solves[0],
            &self.solves[1],
        ];
        let latest = self.latest.clone();
        self.read.request_with(&self.ctx.device, &self.ctx.queue, &sources, move |arrays| {
            let (v, rho, kappa) = (&arrays[1], &arrays[2], &arrays[3]);
            let found = [
                extent(v.chunks_exact(2).map(|v| f64::from(v[0].hypot(v[1])))),
                extent(kappa.iter().zip(rho).map(|(k, r)| f64::from(k * r))),
                extent(rho.iter().map(|&r| f64::from(r))),
            ];
            if let Ok(mut latest) = latest.lock() {
                latest.extents = found;
            }
        });
    }

    /// The state a finished [`GpuDfsph::request_mirror`] delivered, if any.
    pub fn take_mirror(&self) -> Option<DfsphMirror> {
        let arrays = self.read.take()?;
        let pairs = |values: &[f32]| -> Vec<[f64; 2]> {
            values.chunks_exact(2).map(|p| [f64::from(p[0]), f64::from(p[1])]).collect()
        };
        let wide = |values: &[f32]| -> Vec<f64> { values.iter().map(|&v| f64::from(v)).collect() };
        // `Solve`: done, k, iterations (u32), error (f32).
        let iterations = |solve: &[f32]| solve[2].to_bits() as usize;
        let mirror = DfsphMirror {
            x: pairs(&arrays[0]),
            v: pairs(&arrays[1]),
            rho: wide(&arrays[2]),
            kappa: wide(&arrays[3]),
            neighbours: arrays[4].iter().map(|v| v.to_bits()).collect(),
            stats: DfsphStats {
                density_iterations: iterations(&arrays[5]),
                divergence_iterations: iterations(&arrays[6]),
                density_error: f64::from(arrays[5][3]),
            },
        };
        if let Ok(mut latest) = self.latest.lock() {
            // A solve stopped by the budget reports the budget as its iterations.
            let stats = mirror.stats;
            let (budget, needed) =
                (self.budget(), stats.density_iterations.max(stats.divergence_iterations));
            latest.peak = (needed as f64).max(0.95 * latest.peak);
            let ample = (4.0 * latest.peak) as usize + 8;
            if needed >= budget {
                latest.budget = Some(2 * budget);
            } else if ample.max(LEAST_BUDGET) < budget / 2 {
                // Halving at most, and slowly: a solve's needs jump as a fluid starts to move.
                latest.budget = Some(budget / 2);
            }
        }
        Some(mirror)
    }

    /// The extent of view `name` (speed, pressure or density) in the latest state read back.
    pub fn view_extent(&self, name: &str) -> Option<(f32, f32)> {
        let k = super::VIEWS.iter().position(|v| *v == name).filter(|&k| k < 3)?;
        self.latest.lock().ok()?.extents[k]
    }

    /// The state and statistics now (blocking; native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn download(&self) -> Result<DfsphMirror, String> {
        self.request_mirror();
        buffers::wait_idle(&self.ctx.device)?;
        self.take_mirror().ok_or_else(|| "the GPU state could not be read back".to_string())
    }
}
