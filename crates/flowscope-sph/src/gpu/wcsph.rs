//! The WGSL twin of [`crate::wcsph::Wcsph`] (`shaders/sph/wcsph.wgsl`): the same steps (its
//! integrator's), with the neighbour grid rebuilt on the GPU at every evaluation. Nothing comes back per
//! step; [`GpuWcsph::download`] reads the state for exports and tests.

use super::{extent, flat, grid_geometry, source_2d, submit_steps, Grid, Views, GROUP};
use crate::kernel::Shape;
use crate::wcsph::{Integrator, Wcsph, GAMMA};
use flowscope_gpu::program::{Op, Program};
use flowscope_gpu::{buffers, wgpu, GpuContext};

const SOURCE: &str = include_str!("../../../../shaders/sph/wcsph.wgsl");
/// Neighbour slots per particle for [`GpuWcsph::neighbour_lists`].
const MAX_LISTED: u32 = 64;

/// Mirrors `Params` in wcsph.wgsl.
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
    c0: f32,
    stiffness: f32,
    alpha: f32,
    delta: f32,
    gx: f32,
    gy: f32,
    dt: f32,
    shape: u32,
    max_listed: u32,
    nu: f32,
    _pad: [u32; 2],
}

/// The fluid's state as last read back: positions, velocities, densities.
#[derive(Clone, Debug, Default)]
pub struct Mirror {
    pub x: Vec<[f64; 2]>,
    pub v: Vec<[f64; 2]>,
    pub rho: Vec<f64>,
}

#[derive(Default)]
struct MirrorSlot {
    in_flight: bool,
    ready: Option<Mirror>,
    /// Extents of the speed, pressure and density views in the latest state read back.
    extents: [Option<(f32, f32)>; 3],
}

/// What [`GpuWcsph::neighbour_lists`] (native only) builds its dispatches from, on demand: its
/// listing buffer would be large for big fluids.
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
struct Lister {
    program: Program,
    pos: wgpu::Buffer,
    out: wgpu::Buffer,
    start: wgpu::Buffer,
    order: wgpu::Buffer,
    sort_ops: Vec<Op>,
}

/// A WCSPH fluid on the GPU.
pub struct GpuWcsph {
    ctx: GpuContext,
    params: Params,
    uniform: wgpu::Buffer,
    x0: wgpu::Buffer,
    v0: wgpu::Buffer,
    rho_start: wgpu::Buffer,
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    lister: Lister,
    step_ops: Vec<Op>,
    /// Drawn from the grid of the positions at the end of the last step.
    views: Views,
    staging: wgpu::Buffer,
    mirror: std::sync::Arc<std::sync::Mutex<MirrorSlot>>,
    n_fluid: usize,
    pub time: f64,
}

impl GpuWcsph {
    /// Uploads a CPU fluid (particles, walls, parameters). A moving paddle has no GPU twin yet:
    /// a fluid with one runs on the CPU (the cases check).
    pub fn new(ctx: &GpuContext, cpu: &Wcsph) -> Self {
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
            c0: config.c0 as f32,
            stiffness: (config.c0 * config.c0 * config.rho0 / GAMMA) as f32,
            alpha: config.alpha as f32,
            delta: config.delta as f32,
            gx: config.gravity[0] as f32,
            gy: config.gravity[1] as f32,
            dt: 0.0,
            shape: u32::from(config.shape == Shape::WendlandC2),
            max_listed: MAX_LISTED,
            nu: config.viscosity as f32,
            _pad: [0; 2],
        };
        let uniform = buffers::uniform_from(device, queue, "sph params", &params);
        let mut all = cpu.fluid.x.clone();
        all.extend_from_slice(&cpu.walls);
        let rho: Vec<f32> = cpu.rho.iter().map(|&r| r as f32).collect();
        let pos = buffers::storage_from(device, queue, "sph pos", &flat(&all));
        let vel = buffers::storage_zeros(device, "sph vel", 2 * n_fluid);
        let rho_eval = buffers::storage_zeros(device, "sph rho", n_fluid);
        let x0 = buffers::storage_from(device, queue, "sph x0", &flat(&cpu.fluid.x));
        let v0 = buffers::storage_from(device, queue, "sph v0", &flat(&cpu.fluid.v));
        let rho_start = buffers::storage_from(device, queue, "sph rho0", &rho);
        let out = buffers::storage_zeros(device, "sph rates", 4 * n_fluid);
        let grid = Grid::new(device, n_all, dims);
        let (start, order) = (&grid.start, &grid.order);
        let wall = buffers::storage_zeros(device, "sph wall", 2 * n_walls);

        let mut program = Program::new(device, "wcsph.wgsl", &source_2d(SOURCE));
        let u = &uniform;
        let evaluate = |program: &mut Program| {
            let mut ops = grid.sort(program, u, &pos, n_all);
            ops.push(program.op_1d(
                "wall_pressure",
                &[(0, u), (1, &pos), (3, &rho_eval), (12, start), (13, order), (14, &wall)],
                n_walls,
                GROUP,
            ));
            ops.push(program.op_1d(
                "rates",
                &[
                    (0, u),
                    (1, &pos),
                    (2, &vel),
                    (3, &rho_eval),
                    (7, &out),
                    (12, start),
                    (13, order),
                    (14, &wall),
                ],
                n_fluid,
                GROUP,
            ));
            ops
        };
        let continuity = program.op_1d(
            "continuity",
            &[(0, u), (1, &pos), (2, &vel), (7, &out), (12, start), (13, order)],
            n_fluid,
            GROUP,
        );
        let state = [(4, &x0), (5, &v0), (6, &rho_start)];
        let mut load_bindings = vec![(0, u), (1, &pos), (2, &vel), (3, &rho_eval)];
        load_bindings.extend(state);
        let load = program.op_1d("load", &load_bindings, n_fluid, GROUP);
        let mut step_ops = vec![load.clone()];
        step_ops.extend(evaluate(&mut program));
        match config.integrator {
            Integrator::SymplecticEuler => {
                let bindings = [(0, u), (2, &vel), (5, &v0), (7, &out)];
                step_ops.push(program.op_1d("kick", &bindings, n_fluid, GROUP));
                step_ops.push(continuity);
                let mut bindings = vec![(0, u), (2, &vel), (7, &out)];
                bindings.extend(state);
                step_ops.push(program.op_1d("drift", &bindings, n_fluid, GROUP));
            }
            Integrator::Midpoint => {
                step_ops.push(continuity.clone());
                let mut half_bindings = load_bindings.clone();
                half_bindings.push((7, &out));
                step_ops.push(program.op_1d("half_step", &half_bindings, n_fluid, GROUP));
                step_ops.extend(evaluate(&mut program));
                step_ops.push(continuity);
                let mut full_bindings = vec![(0, u), (2, &vel), (7, &out)];
                full_bindings.extend(state);
                step_ops.push(program.op_1d("full_step", &full_bindings, n_fluid, GROUP));
            }
        }

        let mut sort_ops = vec![load.clone()];
        sort_ops.extend(grid.sort(&mut program, u, &pos, n_all));
        let views = Views::new(
            device,
            queue,
            &mut program,
            &cpu.tank,
            &sort_ops,
            &[(0, u), (1, &pos), (2, &vel), (3, &rho_eval), (7, &out), (12, start), (13, order)],
        );
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("sph mirror staging"),
            size: (20 * n_fluid) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self {
            ctx: ctx.clone(),
            params,
            uniform,
            x0,
            v0,
            rho_start,
            lister: Lister {
                program,
                pos,
                out,
                start: grid.start.clone(),
                order: grid.order.clone(),
                sort_ops,
            },
            step_ops,
            views,
            staging,
            mirror: std::sync::Arc::default(),
            n_fluid,
            time: cpu.time,
        }
    }

    /// Draws view `name` (one of [`super::VIEWS`]) into the image buffer (`image.0 × image.1` f32,
    /// NaN where there is no fluid) and returns it.
    pub fn view(&self, name: &str) -> Option<&wgpu::Buffer> {
        self.views.draw(&self.ctx, name)
    }

    /// Size (columns, rows) of the view images.
    pub fn image(&self) -> (u32, u32) {
        self.views.image
    }

    /// Draws particles as discs `scale` times the default size in the views (at most 2: the
    /// splat looks for particles in the neighbouring cells only).
    pub fn set_disc_scale(&mut self, scale: f64) {
        self.views.set_disc_scale(&self.ctx.queue, scale);
    }

    /// Starts copying the fluid's state back without waiting (at most one copy in flight);
    /// [`GpuWcsph::take_mirror`] returns it once it has arrived.
    pub fn request_mirror(&self) {
        let Ok(mut slot) = self.mirror.lock() else { return };
        if slot.in_flight {
            return;
        }
        slot.in_flight = true;
        drop(slot);
        let n = self.n_fluid as u64;
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.x0, 0, &self.staging, 0, 8 * n);
        encoder.copy_buffer_to_buffer(&self.v0, 0, &self.staging, 8 * n, 8 * n);
        encoder.copy_buffer_to_buffer(&self.rho_start, 0, &self.staging, 16 * n, 4 * n);
        self.ctx.queue.submit([encoder.finish()]);
        let (staging, slot, n) = (self.staging.clone(), self.mirror.clone(), self.n_fluid);
        let (rho0, stiffness) = (f64::from(self.params.rho0), f64::from(self.params.stiffness));
        self.staging.slice(..).map_async(wgpu::MapMode::Read, move |result| {
            let mirror = result.ok().and_then(|()| {
                let bytes = staging.slice(..).get_mapped_range().ok()?;
                let floats: &[f32] = bytemuck::cast_slice(&bytes);
                let pairs = |from: usize| -> Vec<[f64; 2]> {
                    (0..n)
                        .map(|i| {
                            [f64::from(floats[from + 2 * i]), f64::from(floats[from + 2 * i + 1])]
                        })
                        .collect()
                };
                Some(Mirror {
                    x: pairs(0),
                    v: pairs(2 * n),
                    rho: floats[4 * n..5 * n].iter().map(|&r| f64::from(r)).collect(),
                })
            });
            staging.unmap();
            if let Ok(mut slot) = slot.lock() {
                slot.in_flight = false;
                if let Some(state) = mirror {
                    let pressure = |rho: f64| stiffness * ((rho / rho0).powi(7) - 1.0);
                    slot.extents = [
                        extent(state.v.iter().map(|v| v[0].hypot(v[1]))),
                        extent(state.rho.iter().map(|&r| pressure(r))),
                        extent(state.rho.iter().copied()),
                    ];
                    slot.ready = Some(state);
                }
            }
        });
    }

    /// The extent of view `name` (speed, pressure or density) in the latest state read back.
    pub fn view_extent(&self, name: &str) -> Option<(f32, f32)> {
        let k = super::VIEWS.iter().position(|v| *v == name).filter(|&k| k < 3)?;
        self.mirror.lock().ok()?.extents[k]
    }

    /// The state a finished [`GpuWcsph::request_mirror`] delivered, if any.
    pub fn take_mirror(&self) -> Option<Mirror> {
        self.mirror.lock().ok().and_then(|mut slot| slot.ready.take())
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Sets the artificial viscosity α of the steps encoded next.
    pub fn set_alpha(&mut self, alpha: f64) {
        self.params.alpha = alpha as f32;
    }

    /// Sets the kinematic viscosity ν of the steps encoded next.
    pub fn set_viscosity(&mut self, viscosity: f64) {
        self.params.nu = viscosity as f32;
    }

    /// Encodes and submits `n` steps of `dt`.
    pub fn step(&mut self, dt: f64, n: u32) {
        self.params.dt = dt as f32;
        submit_steps(&self.ctx, &self.uniform, &self.params, &self.step_ops, n);
        self.time += dt * f64::from(n);
    }

    /// Positions, velocities and densities of the fluid particles (blocking; native only).
    #[cfg(not(target_arch = "wasm32"))]
    #[allow(clippy::type_complexity)]
    pub fn download(&self) -> Result<(Vec<[f64; 2]>, Vec<[f64; 2]>, Vec<f64>), String> {
        let (device, queue) = (&self.ctx.device, &self.ctx.queue);
        let pairs = |buffer| -> Result<Vec<[f64; 2]>, String> {
            let data: Vec<[f32; 2]> = buffers::read_blocking(device, queue, buffer)?;
            Ok(data.iter().map(|p| [f64::from(p[0]), f64::from(p[1])]).collect())
        };
        let rho: Vec<f32> = buffers::read_blocking(device, queue, &self.rho_start)?;
        Ok((pairs(&self.x0)?, pairs(&self.v0)?, rho.into_iter().map(f64::from).collect()))
    }

    /// Every fluid particle's neighbours at the current positions, as the GPU's counting-sort
    /// grid finds them (blocking; native only; at most 64 listed per particle).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn neighbour_lists(&mut self) -> Result<Vec<Vec<u32>>, String> {
        let (device, queue) = (&self.ctx.device, &self.ctx.queue);
        let listing =
            buffers::storage_zeros(device, "sph listing", self.n_fluid * MAX_LISTED as usize);
        let l = &mut self.lister;
        let bindings = [
            (0, &self.uniform),
            (1, &l.pos),
            (7, &l.out),
            (12, &l.start),
            (13, &l.order),
            (17, &listing),
        ];
        let list = l.program.op_1d("list_neighbours", &bindings, self.n_fluid, GROUP);
        let mut encoder = device.create_command_encoder(&Default::default());
        flowscope_gpu::program::encode(&mut encoder, &l.sort_ops);
        flowscope_gpu::program::encode(&mut encoder, std::slice::from_ref(&list));
        queue.submit([encoder.finish()]);
        let rates: Vec<[f32; 4]> = buffers::read_blocking(device, queue, &self.lister.out)?;
        let listing: Vec<u32> = buffers::read_blocking(device, queue, &listing)?;
        Ok(rates
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let k = i * MAX_LISTED as usize;
                listing[k..k + (r[3] as u32).min(MAX_LISTED) as usize].to_vec()
            })
            .collect())
    }
}
