//! The WGSL twin of [`crate::gas1d::Gas1d`] (`shaders/sph/gas1d.wgsl`): the same RK4 step with
//! the densities, smoothing lengths and pressures of every stage evaluated on the device, and
//! those of the new state at the step's end, from which the views are drawn there as strips
//! (the SPH interpolant at [`STRIP_POINTS`] points). Nothing comes back per step;
//! [`GpuGas1d::request_mirror`] reads the state back without blocking.

use super::{extent, submit_steps, Grid, GROUP, SORT};
use crate::gas1d::{Ends, Eos, Gas1d};
use crate::kernel::Shape;
use flowscope_gpu::buffers::AsyncRead;
use flowscope_gpu::program::{encode, Op, Program};
use flowscope_gpu::{buffers, wgpu, GpuContext};
use std::sync::{Arc, Mutex};

const SOURCE: &str = include_str!("../../../../shaders/sph/gas1d.wgsl");

/// Points along a 1D gas's view strip.
pub const STRIP_POINTS: usize = 512;

/// The views the GPU draws, in the order of `Strip::quantity`.
pub const GAS_VIEWS: [&str; 4] = ["density", "velocity", "pressure", "energy"];

/// The smallest and largest value of a view, if known.
type Extent = Option<(f32, f32)>;

/// Mirrors `Strip` in gas1d.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Strip {
    points: u32,
    quantity: u32,
    _pad: [u32; 2],
}

/// Mirrors `Params` in gas1d.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n_all: u32,
    dims_x: u32,
    dims_y: u32,
    periodic: u32,
    lo_x: f32,
    lo_y: f32,
    cell_x: f32,
    cell_y: f32,
    a: f32,
    b: f32,
    length: f32,
    shape: u32,
    ideal: u32,
    gamma: f32,
    kappa: f32,
    rho0: f32,
    c0: f32,
    alpha: f32,
    beta: f32,
    eta: f32,
    dt: f32,
    _pad: [u32; 3],
}

/// The gas's state as last read back.
#[derive(Clone, Debug, Default)]
pub struct Gas1dMirror {
    pub x: Vec<f64>,
    pub v: Vec<f64>,
    pub e: Vec<f64>,
    pub h: Vec<f64>,
    pub rho: Vec<f64>,
    pub p: Vec<f64>,
}

/// A 1D particle gas on the GPU.
pub struct GpuGas1d {
    ctx: GpuContext,
    params: Params,
    uniform: wgpu::Buffer,
    base: wgpu::Buffer,
    thermo: wgpu::Buffer,
    step_ops: Vec<Op>,
    /// Per view: the dispatch that draws it into `pixels`.
    views: Vec<Op>,
    pixels: wgpu::Buffer,
    read: AsyncRead,
    /// Extents of the views' per-particle values in the latest state read back (set as it
    /// arrives).
    extents: Arc<Mutex<[Extent; 4]>>,
    pub time: f64,
}

impl GpuGas1d {
    /// Uploads a CPU gas (state, masses, smoothing lengths, equation of state, ends).
    pub fn new(ctx: &GpuContext, cpu: &Gas1d) -> Self {
        let (device, queue) = (&ctx.device, &ctx.queue);
        let n = cpu.x.len();
        let (a, b) = cpu.domain;
        let h_max = cpu.h.iter().cloned().fold(0.0, f64::max);
        // Cells as wide as the initial support; searches span as many cells as a particle's
        // support needs later.
        let cell = cpu.kernel.support(h_max).max((b - a) / 65_536.0);
        // Periodic: a whole number of cells (each at least the support) across the domain.
        let periodic = cpu.ends == Ends::Periodic;
        let cells = (b - a) / cell;
        let dims = (if periodic { cells.floor() } else { cells.ceil() } as u32).max(1);
        let cell = if periodic { (b - a) / f64::from(dims) } else { cell };
        let (ideal, gamma, kappa, rho0, c0) = match cpu.eos {
            Eos::IdealGas { gamma } => (1, gamma, 0.0, 0.0, 0.0),
            Eos::Barotropic { kappa, rho0, c0 } => (0, 0.0, kappa, rho0, c0),
        };
        let params = Params {
            n_all: n as u32,
            dims_x: dims,
            // One row of cells, [-1, 1) across: the particles sit at y = 0.
            dims_y: 1,
            periodic: u32::from(periodic),
            lo_x: a as f32,
            lo_y: -1.0,
            cell_x: cell as f32,
            cell_y: 2.0,
            a: a as f32,
            b: b as f32,
            length: (b - a) as f32,
            shape: u32::from(cpu.kernel.shape == Shape::WendlandC2),
            ideal,
            gamma: gamma as f32,
            kappa: kappa as f32,
            rho0: rho0 as f32,
            c0: c0 as f32,
            alpha: cpu.alpha as f32,
            beta: cpu.beta as f32,
            eta: cpu.eta.unwrap_or(0.0) as f32,
            dt: 0.0,
            _pad: [0; 3],
        };
        let uniform = buffers::uniform_from(device, queue, "gas params", &params);
        let state: Vec<[f32; 4]> =
            (0..n).map(|i| [cpu.x[i] as f32, cpu.v[i] as f32, cpu.e[i] as f32, 0.0]).collect();
        let thermo: Vec<[f32; 4]> = (0..n)
            .map(|i| {
                let c = cpu.sound_speed(cpu.rho[i], cpu.p[i]);
                [cpu.h[i] as f32, cpu.rho[i] as f32, cpu.p[i] as f32, c as f32]
            })
            .collect();
        let masses: Vec<f32> = cpu.m.iter().map(|&m| m as f32).collect();
        let base = buffers::storage_from(device, queue, "gas base", &state);
        let thermo = buffers::storage_from(device, queue, "gas thermo", &thermo);
        let mass = buffers::storage_from(device, queue, "gas mass", &masses);
        let pos = buffers::storage_zeros(device, "gas pos", 2 * n);
        let moving = buffers::storage_zeros(device, "gas moving", 2 * n);
        let rates = buffers::storage_zeros(device, "gas rates", 4 * n);
        let total = buffers::storage_zeros(device, "gas total", 4 * n);
        let h_max = buffers::storage_zeros(device, "gas h max", 1);
        let grid = Grid::new(device, n, [dims, 1]);
        let (start, order) = (&grid.start, &grid.order);
        let mut program = Program::new(device, "gas1d.wgsl", &format!("{SOURCE}\n{SORT}"));
        let u = &uniform;

        let load = program.op_1d("load", &[(0, u), (1, &pos), (2, &moving), (3, &base)], n, GROUP);
        // The densities (and smoothing lengths) and pressures of the positions in `pos`.
        let thermodynamics = |program: &mut Program| {
            let mut ops = grid.sort(program, u, &pos, n);
            let passes = if cpu.eta.is_some() { 3 } else { 1 };
            let density = program.op_1d(
                "density",
                &[(0, u), (1, &pos), (4, &thermo), (5, &mass), (12, start), (13, order)],
                n,
                GROUP,
            );
            ops.extend(std::iter::repeat_n(density, passes));
            ops.push(program.op_1d("pressure", &[(0, u), (2, &moving), (4, &thermo)], n, GROUP));
            ops
        };
        let evaluate = |program: &mut Program| {
            let mut ops = thermodynamics(program);
            ops.push(program.op("reduce_h", &[(0, u), (4, &thermo), (8, &h_max)], [1, 1, 1]));
            ops.push(program.op_1d(
                "evaluate",
                &[
                    (0, u),
                    (1, &pos),
                    (2, &moving),
                    (4, &thermo),
                    (5, &mass),
                    (6, &rates),
                    (8, &h_max),
                    (12, start),
                    (13, order),
                ],
                n,
                GROUP,
            ));
            ops
        };
        let staged = [(0, u), (1, &pos), (2, &moving), (3, &base), (6, &rates), (7, &total)];
        let mut step_ops = vec![load.clone()];
        for stage in ["stage1", "stage2", "stage3"] {
            step_ops.extend(evaluate(&mut program));
            step_ops.push(program.op_1d(stage, &staged, n, GROUP));
        }
        step_ops.extend(evaluate(&mut program));
        step_ops.push(program.op_1d(
            "finish",
            &[(0, u), (3, &base), (6, &rates), (7, &total)],
            n,
            GROUP,
        ));
        step_ops.push(load.clone());
        step_ops.extend(thermodynamics(&mut program));
        let largest_h = program.op("reduce_h", &[(0, u), (4, &thermo), (8, &h_max)], [1, 1, 1]);
        step_ops.push(largest_h.clone());

        let pixels = buffers::storage_zeros(device, "gas strip", STRIP_POINTS);
        let views = (0..GAS_VIEWS.len() as u32)
            .map(|quantity| {
                let layout = Strip { points: STRIP_POINTS as u32, quantity, _pad: [0; 2] };
                let strip = buffers::uniform_from(device, queue, "gas strip layout", &layout);
                let bindings = [
                    (0, u),
                    (1, &pos),
                    (2, &moving),
                    (4, &thermo),
                    (5, &mass),
                    (8, &h_max),
                    (12, start),
                    (13, order),
                    (18, &strip),
                    (19, &pixels),
                ];
                program.op_1d("draw_strip", &bindings, STRIP_POINTS, GROUP)
            })
            .collect();
        // The grid and largest h of the initial state, for views before the first step.
        let mut first = vec![load];
        first.extend(grid.sort(&mut program, u, &pos, n));
        first.push(largest_h);
        let mut encoder = device.create_command_encoder(&Default::default());
        encode(&mut encoder, &first);
        ctx.queue.submit([encoder.finish()]);

        let read = AsyncRead::new(device, "gas mirror", &[4 * n, 4 * n]);
        Self {
            ctx: ctx.clone(),
            params,
            uniform,
            base,
            thermo,
            step_ops,
            views,
            pixels,
            read,
            extents: Arc::default(),
            time: cpu.time,
        }
    }

    /// Draws view `name` (one of [`GAS_VIEWS`]) and returns the strip buffer
    /// ([`STRIP_POINTS`] f32).
    pub fn view(&self, name: &str) -> Option<&wgpu::Buffer> {
        let k = GAS_VIEWS.iter().position(|v| *v == name)?;
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encode(&mut encoder, std::slice::from_ref(&self.views[k]));
        self.ctx.queue.submit([encoder.finish()]);
        Some(&self.pixels)
    }

    /// The extent of view `name`'s per-particle values in the latest state read back.
    pub fn view_extent(&self, name: &str) -> Option<(f32, f32)> {
        let k = GAS_VIEWS.iter().position(|v| *v == name)?;
        self.extents.lock().ok()?[k]
    }

    /// Encodes and submits `n` steps of `dt`.
    pub fn step(&mut self, dt: f64, n: u32) {
        self.params.dt = dt as f32;
        submit_steps(&self.ctx, &self.uniform, &self.params, &self.step_ops, n);
        self.time += dt * f64::from(n);
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Starts reading the state back without waiting (at most one read in flight);
    /// [`GpuGas1d::take_mirror`] returns it once it has arrived.
    pub fn request_mirror(&self) {
        let extents = self.extents.clone();
        let sources = [&self.base, &self.thermo];
        self.read.request_with(&self.ctx.device, &self.ctx.queue, &sources, move |arrays| {
            // density, velocity, pressure, energy: thermo's ρ and p, the state's v and e.
            let column = |array: &[f32], k: usize| {
                extent(array.chunks_exact(4).map(move |q| f64::from(q[k])))
            };
            let found = [
                column(&arrays[1], 1),
                column(&arrays[0], 1),
                column(&arrays[1], 2),
                column(&arrays[0], 2),
            ];
            if let Ok(mut extents) = extents.lock() {
                *extents = found;
            }
        });
    }

    /// The state a finished [`GpuGas1d::request_mirror`] delivered, if any.
    pub fn take_mirror(&self) -> Option<Gas1dMirror> {
        let arrays = self.read.take()?;
        let column = |array: &[f32], k: usize| -> Vec<f64> {
            array.chunks_exact(4).map(|q| f64::from(q[k])).collect()
        };
        let mirror = Gas1dMirror {
            x: column(&arrays[0], 0),
            v: column(&arrays[0], 1),
            e: column(&arrays[0], 2),
            h: column(&arrays[1], 0),
            rho: column(&arrays[1], 1),
            p: column(&arrays[1], 2),
        };
        Some(mirror)
    }

    /// The state now (blocking; native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn download(&self) -> Result<Gas1dMirror, String> {
        self.request_mirror();
        buffers::wait_idle(&self.ctx.device)?;
        self.take_mirror().ok_or_else(|| "the GPU state could not be read back".to_string())
    }
}
