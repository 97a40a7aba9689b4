//! The WGSL twin of [`crate::flow::IncompressibleFlow`]: the same operator-split step
//! (advect, diffuse, force, make incompressible) with the same schemes, running
//! `shaders/grid/flow.wgsl` and [`pressure`]'s MGPCG on the shared device, in f32.
//!
//! Everything stays on the GPU. After each batch of steps the host may read a few scalars
//! ([`GpuFlow::sync`]: largest speed, largest divergence, pressure iterations and residual);
//! whole fields come back only for exports and tests ([`GpuFlow::download`]).

pub mod pressure;

use crate::advect::Integrator;
use crate::diffuse::{ImplicitViscosity, Viscosity};
use crate::flow::{Advection, FlowError, IncompressibleFlow, ScalarForcing, StepStats};
use crate::grid::{Grid, Side, Velocity};
use crate::pressure::SolveStats;
use flowscope_gpu::program::{encode, Op, Program};
use flowscope_gpu::{buffers, wgpu, GpuContext};
use pressure::{CgState, GpuPressure};
use std::sync::{Arc, Mutex};

const SOURCE: &str = include_str!("../../../../shaders/grid/flow.wgsl");
const GROUP: u32 = 256;
/// Workgroup size of the reductions (flow.wgsl `GROUP`).
const REDUCE: u32 = 64;
/// Pressure iterations encoded per step: at first; at least; beyond the last solve's count;
/// at most.
const INITIAL_BUDGET: u32 = 16;
const MIN_BUDGET: u32 = 4;
const BUDGET_MARGIN: u32 = 3;
const MAX_BUDGET: u32 = 256;

/// Mirrors `Grid` in flow.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct GridParams {
    nx: u32,
    ny: u32,
    dx: f32,
    dy: f32,
    periodic_x: u32,
    periodic_y: u32,
    has_solid: u32,
    dt: f32,
    ghost: [u32; 4],
    wall: [f32; 4],
    inflow_kind: u32,
    inflow_speed: f32,
    inflow_y0: f32,
    inflow_y1: f32,
    right_outflow: u32,
    extrapolate_outflow: u32,
    viscous_x: f32,
    viscous_y: f32,
    source_rate: f32,
    buoyancy: f32,
    nu: f32,
    confinement: f32,
    /// 0: midpoint rule, 1: Euler.
    integrator: u32,
    _pad: [u32; 3],
}

const _: () = assert!(std::mem::size_of::<GridParams>() == 128);

/// Mirrors `Stats` in flow.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct FlowStats {
    max_u: f32,
    max_v: f32,
    max_divergence: f32,
    speed_before: f32,
    force_x: f32,
    force_y: f32,
    recorded: u32,
    _pad: u32,
}

impl GridParams {
    fn new(grid: &Grid) -> Self {
        let sides = grid.sides;
        let tangential = |side: Side| match side {
            Side::NoSlip { tangential } => (1, tangential as f32),
            Side::Inflow { .. } => (1, 0.0),
            Side::FreeSlip | Side::Outflow { .. } | Side::Periodic => (0, 0.0),
        };
        let [left, right, bottom, top] =
            [sides.left, sides.right, sides.bottom, sides.top].map(tangential);
        let (inflow_kind, inflow_speed) = match sides.left {
            Side::Inflow { speed, parabolic } => (1 + u32::from(parabolic), speed as f32),
            _ => (0, 0.0),
        };
        Self {
            nx: grid.nx as u32,
            ny: grid.ny as u32,
            dx: grid.dx() as f32,
            dy: grid.dy() as f32,
            periodic_x: sides.periodic_x().into(),
            periodic_y: sides.periodic_y().into(),
            has_solid: (!grid.solid.is_empty()).into(),
            ghost: [left.0, right.0, bottom.0, top.0],
            wall: [left.1, right.1, bottom.1, top.1],
            inflow_kind,
            inflow_speed,
            inflow_y0: grid.inflow_span.0 as f32,
            inflow_y1: grid.inflow_span.1 as f32,
            right_outflow: matches!(sides.right, Side::Outflow { .. }).into(),
            extrapolate_outflow: (sides.right == Side::Outflow { convective: false }).into(),
            ..Self::default()
        }
    }
}

struct ScalarBuffers {
    value: wgpu::Buffer,
    forcing: ScalarForcing,
    /// transport, source (before the velocity step).
    transport: Vec<Op>,
    /// buoyancy (after viscosity, before the projection).
    buoyancy: Op,
}

/// An incompressible flow on the GPU.
pub struct GpuFlow {
    ctx: GpuContext,
    pub grid: Grid,
    pub nu: f64,
    pub advection: Advection,
    pub integrator: Integrator,
    pub tolerance: f64,
    pub time: f64,
    /// Statistics of the last step, as far as the last [`GpuFlow::sync`] knows them.
    pub last: StepStats,
    /// Largest velocity component after the last synced step.
    speed: f64,
    /// Pressure iterations encoded per step; the solver stops early at the tolerance.
    budget: u32,
    base: GridParams,
    /// Uniforms of the step: forward (dt), backward (−dt, MacCormack's return trip), walls
    /// (no outflow extrapolation, after the projection).
    forward: wgpu::Buffer,
    backward: wgpu::Buffer,
    walls: wgpu::Buffer,
    u: wgpu::Buffer,
    v: wgpu::Buffer,
    stats: wgpu::Buffer,
    view: wgpu::Buffer,
    pressure: GpuPressure,
    scalar: Option<ScalarBuffers>,
    viscosity: Viscosity,
    /// The implicit viscosity's solvers, built when it is first chosen.
    implicit: Option<GpuImplicit>,
    semi_lagrangian: Vec<Op>,
    mac_cormack: Vec<Op>,
    diffusion_substep: Vec<Op>,
    /// Vorticity confinement (encoded when its strength is positive).
    confinement_ops: Vec<Op>,
    pub confinement: f64,
    /// Before the pressure solve: its right-hand side. After: the gradient, walls, statistics.
    pressure_rhs: Vec<Op>,
    after_solve: Vec<Op>,
    /// Per view: the kernel that computes it (none for the scalar) and its extent.
    views: Vec<(&'static str, Vec<Op>)>,
    extent: wgpu::Buffer,
    extent_staging: wgpu::Buffer,
    /// The extent last read back, with the view it belongs to.
    extent_slot: Arc<Mutex<ExtentSlot>>,
    // Kept to build the scalar's dispatches later.
    program: Program,
    scratch: Scratch,
    /// Asynchronous statistics read-back (the browser cannot block): the staging buffer and
    /// what its callback delivered.
    staging: wgpu::Buffer,
    delivered: Arc<Mutex<StatsSlot>>,
    /// Obstacle force per step (when measured): the dispatches, the per-batch record, and
    /// `(time, fx, fy)` of the steps the last statistics read covered.
    force_ops: Vec<Op>,
    history: wgpu::Buffer,
    pub forces: Vec<(f64, f64, f64)>,
    batch: Batch,
    /// The state read back without blocking (the browser's plots, probes and exports), built
    /// on first use.
    snapshot_reader: Option<buffers::AsyncRead>,
}

/// Implicit viscosity on the GPU: one Helmholtz solver per velocity component.
struct GpuImplicit {
    u: GpuPressure,
    v: GpuPressure,
    /// Set up u's system, solve (encoded separately), store; the same for v; then the walls.
    setup_u: Op,
    store_u: Op,
    setup_v: Op,
    store_v: Op,
    enforce: Vec<Op>,
    /// Iterations encoded per solve, adapted like the pressure's.
    budget: u32,
}

/// A batch of steps as the host encoded it: start time, dt, count.
#[derive(Clone, Copy, Debug, Default)]
struct Batch {
    start: f64,
    dt: f64,
    steps: u32,
}

/// What a statistics read delivers.
struct Delivery {
    stats: FlowStats,
    cg: CgState,
    /// The implicit viscosity's two solves, when it ran.
    viscous: Option<[CgState; 2]>,
    /// Obstacle force per step of the batch.
    forces: Vec<[f32; 2]>,
    batch: Batch,
}

#[derive(Default)]
struct ExtentSlot {
    in_flight: bool,
    latest: Option<(&'static str, (f32, f32))>,
}

/// The two dispatches that find the smallest and largest finite value of `data`.
fn extent_ops(
    program: &mut Program,
    data: &wgpu::Buffer,
    partials: &wgpu::Buffer,
    extent: &wgpu::Buffer,
    items: usize,
) -> [Op; 2] {
    [
        program.op_1d("extent_partial", &[(3, data), (11, partials)], items, REDUCE),
        program.op("finish_extent", &[(3, data), (11, partials), (14, extent)], [1, 1, 1]),
    ]
}

#[derive(Default)]
struct StatsSlot {
    in_flight: bool,
    ready: Option<Delivery>,
}

/// Steps whose obstacle force one batch can record.
pub const FORCE_HISTORY: u32 = 1024;
const STATS_BYTES: u64 = std::mem::size_of::<FlowStats>() as u64;
const CG_BYTES: u64 = std::mem::size_of::<CgState>() as u64;
const HISTORY_BYTES: u64 = 8 * FORCE_HISTORY as u64;

/// Work buffers shared by the kernels.
struct Scratch {
    u1: wgpu::Buffer,
    v1: wgpu::Buffer,
    forward: wgpu::Buffer,
    back: wgpu::Buffer,
    lo: wgpu::Buffer,
    hi: wgpu::Buffer,
    lo2: wgpu::Buffer,
    hi2: wgpu::Buffer,
    solid: wgpu::Buffer,
    partials: wgpu::Buffer,
}

fn to_f32(data: &[f64]) -> Vec<f32> {
    data.iter().map(|&x| x as f32).collect()
}

/// What every transport reads: the step's uniforms (forward and backward) and the velocity.
struct Carrier<'a> {
    forward: &'a wgpu::Buffer,
    backward: &'a wgpu::Buffer,
    u: &'a wgpu::Buffer,
    v: &'a wgpu::Buffer,
}

/// The three dispatches of a MacCormack step of one component `data` into `out` (layout
/// `entry`): forward transport with its bounds, the return trip, the clamped correction.
fn mac_cormack_ops(
    program: &mut Program,
    entry: &'static str,
    by: &Carrier,
    (data, out): (&wgpu::Buffer, &wgpu::Buffer),
    s: &Scratch,
    items: usize,
) -> [Op; 3] {
    let transport = |program: &mut Program, uniform, from, to, lo, hi| {
        let bindings = [(0, uniform), (1, by.u), (2, by.v), (3, from), (4, to), (5, lo), (6, hi)];
        program.op_1d(entry, &bindings, items, GROUP)
    };
    [
        transport(program, by.forward, data, &s.forward, &s.lo, &s.hi),
        transport(program, by.backward, &s.forward, &s.back, &s.lo2, &s.hi2),
        program.op_1d(
            "mac_cormack_correct",
            &[(3, data), (4, out), (5, &s.lo), (6, &s.hi), (7, &s.forward), (8, &s.back)],
            items,
            GROUP,
        ),
    ]
}

/// Every encoded iteration costs dispatches even once converged: encode a few more than the last
/// solve needed, twice as many when it ran out.
fn next_budget(budget: u32, cg: &CgState, tolerance: f64) -> u32 {
    if cg.iterations >= budget && f64::from(cg.residual) > tolerance {
        (budget * 2).min(MAX_BUDGET)
    } else {
        (cg.iterations + BUDGET_MARGIN).clamp(MIN_BUDGET, MAX_BUDGET)
    }
}

/// A GPU flow's state copied to the CPU, in f64.
#[derive(Clone)]
pub struct Snapshot {
    pub velocity: Velocity,
    pub phi: Vec<f64>,
    pub scalar: Option<Vec<f64>>,
}

impl GpuFlow {
    /// Uploads a CPU flow (grid, velocity, pressure, coefficients) to the GPU.
    pub fn new(ctx: &GpuContext, flow: &IncompressibleFlow) -> Self {
        let (device, queue) = (&ctx.device, &ctx.queue);
        let grid = flow.grid.clone();
        let (u_len, v_len, cells) = (grid.u_len(), grid.v_len(), grid.cells());
        let largest = u_len.max(v_len);
        let mut program = Program::new(device, "flow.wgsl", SOURCE);
        let base = GridParams::new(&grid);
        let uniform = |label| buffers::uniform_from(device, queue, label, &base);
        let (forward, backward, walls) =
            (uniform("flow forward"), uniform("flow backward"), uniform("flow walls"));
        let u = buffers::storage_from(device, queue, "flow u", &to_f32(&flow.velocity.u));
        let v = buffers::storage_from(device, queue, "flow v", &to_f32(&flow.velocity.v));
        let zeros = |label, len| buffers::storage_zeros(device, label, len);
        let solid: Vec<u32> =
            (0..cells).map(|k| grid.is_solid(k % grid.nx, k / grid.nx).into()).collect();
        let scratch = Scratch {
            u1: zeros("flow u'", u_len),
            v1: zeros("flow v'", v_len),
            forward: zeros("advect forward", largest),
            back: zeros("advect back", largest),
            lo: zeros("advect lo", largest),
            hi: zeros("advect hi", largest),
            lo2: zeros("advect lo'", largest),
            hi2: zeros("advect hi'", largest),
            solid: buffers::storage_from(device, queue, "flow solid", &solid),
            partials: zeros("flow partials", 2 * largest.div_ceil(REDUCE as usize)),
        };
        let speed = flow.velocity.max_abs() as f32;
        let initial = FlowStats { max_u: speed, max_v: speed, ..FlowStats::default() };
        let stats = buffers::storage_from(device, queue, "flow stats", &[initial]);
        let view = zeros("flow view", cells);
        let pressure = GpuPressure::new(device, queue, &grid);
        ctx.queue.write_buffer(&pressure.phi, 0, bytemuck::cast_slice(&to_f32(&flow.phi)));
        let s = &scratch;

        let enforce = |program: &mut Program, uniform: &wgpu::Buffer| {
            [
                program.op_1d("enforce_u", &[(0, uniform), (4, &u), (9, &s.solid)], u_len, GROUP),
                program.op_1d("enforce_v", &[(0, uniform), (4, &v), (9, &s.solid)], v_len, GROUP),
            ]
        };
        let transport = |program: &mut Program, entry, data, out, items| {
            let bindings =
                [(0, &forward), (1, &u), (2, &v), (3, data), (4, out), (5, &s.lo), (6, &s.hi)];
            program.op_1d(entry, &bindings, items, GROUP)
        };
        let mut semi_lagrangian = vec![
            transport(&mut program, "transport_u", &u, &s.u1, u_len),
            transport(&mut program, "transport_v", &v, &s.v1, v_len),
            Op::copy(&s.u1, &u),
            Op::copy(&s.v1, &v),
        ];
        semi_lagrangian.extend(enforce(&mut program, &forward));
        let by = Carrier { forward: &forward, backward: &backward, u: &u, v: &v };
        let mut mac_cormack = Vec::new();
        mac_cormack.extend(mac_cormack_ops(
            &mut program,
            "transport_u",
            &by,
            (&u, &s.u1),
            s,
            u_len,
        ));
        mac_cormack.extend(mac_cormack_ops(
            &mut program,
            "transport_v",
            &by,
            (&v, &s.v1),
            s,
            v_len,
        ));
        mac_cormack.extend([Op::copy(&s.u1, &u), Op::copy(&s.v1, &v)]);
        mac_cormack.extend(enforce(&mut program, &forward));

        let mut diffusion_substep = vec![
            program.op_1d("diffuse_u", &[(0, &forward), (3, &u), (4, &s.u1)], u_len, GROUP),
            program.op_1d("diffuse_v", &[(0, &forward), (3, &v), (4, &s.v1)], v_len, GROUP),
            Op::copy(&s.u1, &u),
            Op::copy(&s.v1, &v),
        ];
        diffusion_substep.extend(enforce(&mut program, &forward));

        let mut confinement_ops = vec![
            program.op_1d(
                "confinement_force",
                &[(0, &forward), (1, &u), (2, &v), (5, &s.lo), (6, &s.hi)],
                cells,
                GROUP,
            ),
            program.op_1d("add_confinement_u", &[(0, &forward), (4, &u), (5, &s.lo)], u_len, GROUP),
            program.op_1d("add_confinement_v", &[(0, &forward), (4, &v), (6, &s.hi)], v_len, GROUP),
        ];
        confinement_ops.extend(enforce(&mut program, &forward));

        let rhs_bindings = [(0, &forward), (1, &u), (2, &v), (4, &pressure.rhs), (9, &s.solid)];
        let pressure_rhs = vec![program.op_1d("pressure_rhs", &rhs_bindings, cells, GROUP)];
        let mut after_solve = vec![
            program.op_1d(
                "subtract_gradient_u",
                &[(0, &forward), (4, &u), (9, &s.solid), (10, &pressure.phi)],
                u_len,
                GROUP,
            ),
            program.op_1d(
                "subtract_gradient_v",
                &[(0, &forward), (4, &v), (9, &s.solid), (10, &pressure.phi)],
                v_len,
                GROUP,
            ),
        ];
        after_solve.extend(enforce(&mut program, &walls));
        // Statistics of the new velocity: largest |∇·u|, largest components.
        let max_of = |program: &mut Program, data: &wgpu::Buffer, finish, items| {
            [
                program.op_1d("max_partial", &[(3, data), (11, &s.partials)], items, REDUCE),
                program.op(finish, &[(0, &forward), (11, &s.partials), (12, &stats)], [1, 1, 1]),
            ]
        };
        after_solve.push(program.op_1d(
            "divergence_magnitude",
            &[(0, &forward), (1, &u), (2, &v), (4, &view)],
            cells,
            GROUP,
        ));
        after_solve.extend(max_of(&mut program, &view, "finish_max_divergence", cells));
        after_solve.extend(max_of(&mut program, &u, "finish_max_u", u_len));
        after_solve.extend(max_of(&mut program, &v, "finish_max_v", v_len));

        let extent = buffers::storage_zeros(device, "view extent", 2);
        let view_bindings = [(0, &walls), (1, &u), (2, &v), (4, &view)];
        let mut computed = Vec::new();
        for (name, entry) in [
            ("speed", "view_speed"),
            ("velocity_x", "view_velocity_x"),
            ("velocity_y", "view_velocity_y"),
            ("vorticity", "view_vorticity"),
        ] {
            computed.push((name, program.op_1d(entry, &view_bindings, cells, GROUP)));
        }
        let pressure_bindings = [(0, &walls), (4, &view), (10, &pressure.phi)];
        computed
            .push(("pressure", program.op_1d("view_pressure", &pressure_bindings, cells, GROUP)));
        let obstacle_bindings = [(0, &walls), (4, &view), (9, &s.solid)];
        computed
            .push(("obstacle", program.op_1d("view_obstacle", &obstacle_bindings, cells, GROUP)));
        let views = computed
            .into_iter()
            .map(|(name, op)| {
                let [partial, finish] =
                    extent_ops(&mut program, &view, &s.partials, &extent, cells);
                (name, vec![op, partial, finish])
            })
            .collect();

        Self {
            ctx: ctx.clone(),
            grid,
            nu: flow.nu,
            advection: flow.advection,
            integrator: flow.integrator,
            tolerance: flow.tolerance(),
            time: flow.time,
            last: flow.last,
            speed: flow.velocity.max_abs(),
            budget: INITIAL_BUDGET,
            base,
            forward,
            backward,
            walls,
            u,
            v,
            stats,
            view,
            pressure,
            scalar: None,
            viscosity: Viscosity::Explicit,
            implicit: None,
            semi_lagrangian,
            mac_cormack,
            diffusion_substep,
            confinement_ops,
            confinement: flow.confinement,
            pressure_rhs,
            after_solve,
            views,
            extent_staging: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("view extent staging"),
                size: 8,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            extent,
            extent_slot: Arc::default(),
            program,
            scratch,
            staging: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("flow stats staging"),
                size: STATS_BYTES + 3 * CG_BYTES + HISTORY_BYTES,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            delivered: Arc::default(),
            force_ops: Vec::new(),
            history: buffers::storage_zeros(device, "force history", 2 * FORCE_HISTORY as usize),
            forces: Vec::new(),
            batch: Batch::default(),
            snapshot_reader: None,
        }
        .with_viscosity(flow.viscosity)
    }

    fn with_viscosity(mut self, viscosity: Viscosity) -> Self {
        self.set_viscosity(viscosity);
        self
    }

    /// Chooses explicit or implicit viscosity (building the implicit solvers the first time).
    pub fn set_viscosity(&mut self, viscosity: Viscosity) {
        self.viscosity = viscosity;
        if viscosity == Viscosity::Implicit {
            self.build_implicit();
        }
    }

    fn build_implicit(&mut self) {
        if self.implicit.is_some() {
            return;
        }
        let (device, queue) = (&self.ctx.device, &self.ctx.queue);
        let cpu = ImplicitViscosity::new(&self.grid, self.tolerance);
        let mut u = GpuPressure::from_solver(device, queue, &cpu.u.solver);
        let mut v = GpuPressure::from_solver(device, queue, &cpu.v.solver);
        let [setup_u, store_u] = u.helmholtz_ops(device, queue, &cpu.u, &self.u);
        let [setup_v, store_v] = v.helmholtz_ops(device, queue, &cpu.v, &self.v);
        let solid = &self.scratch.solid;
        let enforce = vec![
            self.program.op_1d(
                "enforce_u",
                &[(0, &self.forward), (4, &self.u), (9, solid)],
                self.grid.u_len(),
                GROUP,
            ),
            self.program.op_1d(
                "enforce_v",
                &[(0, &self.forward), (4, &self.v), (9, solid)],
                self.grid.v_len(),
                GROUP,
            ),
        ];
        self.implicit = Some(GpuImplicit {
            u,
            v,
            setup_u,
            store_u,
            setup_v,
            store_v,
            enforce,
            budget: INITIAL_BUDGET,
        });
    }

    /// Measures the force on the obstacles after every step (see [`GpuFlow::forces`]).
    pub fn with_forces(mut self) -> Self {
        let cells = self.grid.cells();
        let s = &self.scratch;
        let bindings = [
            (0, &self.forward),
            (1, &self.u),
            (2, &self.v),
            (9, &s.solid),
            (10, &self.pressure.phi),
            (11, &s.partials),
        ];
        self.force_ops = vec![
            self.program.op_1d("force_partial", &bindings, cells, REDUCE),
            self.program.op(
                "finish_force",
                &[(0, &self.forward), (11, &s.partials), (12, &self.stats), (13, &self.history)],
                [1, 1, 1],
            ),
        ];
        self
    }

    /// Starts reading the last batch's statistics (and obstacle forces) without waiting, at
    /// most one read in flight; [`GpuFlow::poll_stats`] takes them in once they have arrived.
    pub fn request_stats(&self) {
        let Ok(mut slot) = self.delivered.lock() else { return };
        if slot.in_flight {
            return;
        }
        slot.in_flight = true;
        drop(slot);
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.stats, 0, &self.staging, 0, STATS_BYTES);
        encoder.copy_buffer_to_buffer(&self.pressure.cg, 0, &self.staging, STATS_BYTES, CG_BYTES);
        let implicit = self
            .implicit
            .as_ref()
            .filter(|_| self.viscosity == Viscosity::Implicit || self.last.implicit_fallback);
        if let Some(implicit) = implicit {
            for (slot, solver) in [&implicit.u, &implicit.v].into_iter().enumerate() {
                let offset = STATS_BYTES + (1 + slot as u64) * CG_BYTES;
                encoder.copy_buffer_to_buffer(&solver.cg, 0, &self.staging, offset, CG_BYTES);
            }
        }
        encoder.copy_buffer_to_buffer(
            &self.history,
            0,
            &self.staging,
            STATS_BYTES + 3 * CG_BYTES,
            HISTORY_BYTES,
        );
        self.ctx.queue.submit([encoder.finish()]);
        let (staging, delivered, batch) =
            (self.staging.clone(), self.delivered.clone(), self.batch);
        let viscous_read = implicit.is_some();
        self.staging.slice(..).map_async(wgpu::MapMode::Read, move |result| {
            let delivery = result.ok().and_then(|()| {
                let view = staging.slice(..).get_mapped_range().ok()?;
                let (stats_bytes, rest) = view.split_at(STATS_BYTES as usize);
                let (cg_bytes, rest) = rest.split_at(CG_BYTES as usize);
                let (viscous_bytes, history_bytes) = rest.split_at(2 * CG_BYTES as usize);
                let viscous = viscous_read.then(|| {
                    let (u, v) = viscous_bytes.split_at(CG_BYTES as usize);
                    [bytemuck::pod_read_unaligned(u), bytemuck::pod_read_unaligned(v)]
                });
                let stats: FlowStats = bytemuck::pod_read_unaligned(stats_bytes);
                let recorded = stats.recorded.min(FORCE_HISTORY) as usize;
                let forces = history_bytes[..8 * recorded]
                    .chunks_exact(8)
                    .map(bytemuck::pod_read_unaligned)
                    .collect();
                let cg = bytemuck::pod_read_unaligned(cg_bytes);
                Some(Delivery { stats, cg, viscous, forces, batch })
            });
            staging.unmap();
            if let Ok(mut slot) = delivered.lock() {
                slot.in_flight = false;
                if delivery.is_some() {
                    slot.ready = delivery;
                }
            }
        });
    }

    /// Takes in the statistics of a finished [`GpuFlow::request_stats`], if any.
    pub fn poll_stats(&mut self) -> Result<(), FlowError> {
        let ready = self.delivered.lock().ok().and_then(|mut slot| slot.ready.take());
        match ready {
            Some(delivery) => self.absorb(delivery).map(|_| ()),
            None => Ok(()),
        }
    }

    /// Adds a passive scalar with initial values `initial`, a source of coverage `source`
    /// (per cell, 0 to 1) and its forcing.
    pub fn with_scalar(mut self, initial: &[f64], source: &[f64], forcing: ScalarForcing) -> Self {
        let (device, queue) = (&self.ctx.device, &self.ctx.queue);
        let cells = self.grid.cells();
        let value = buffers::storage_from(device, queue, "scalar", &to_f32(initial));
        let source = buffers::storage_from(device, queue, "scalar source", &to_f32(source));
        let next = buffers::storage_zeros(device, "scalar'", cells);
        let s = &self.scratch;
        let program = &mut self.program;
        let by =
            Carrier { forward: &self.forward, backward: &self.backward, u: &self.u, v: &self.v };
        let mut transport =
            mac_cormack_ops(program, "transport_c", &by, (&value, &next), s, cells).to_vec();
        transport.push(Op::copy(&next, &value));
        transport.push(program.op_1d(
            "add_source",
            &[(0, &self.forward), (3, &source), (4, &value)],
            cells,
            GROUP,
        ));
        let buoyancy = program.op_1d(
            "add_buoyancy",
            &[(0, &self.forward), (3, &value), (4, &self.v)],
            self.grid.v_len(),
            GROUP,
        );
        let extent = extent_ops(program, &value, &s.partials, &self.extent, cells).to_vec();
        self.views.push(("scalar", extent));
        self.scalar = Some(ScalarBuffers { value, forcing, transport, buoyancy });
        self
    }

    pub fn set_scalar_forcing(&mut self, forcing: ScalarForcing) {
        if let Some(scalar) = &mut self.scalar {
            scalar.forcing = forcing;
        }
    }

    /// The step that keeps the CFL number at `cfl` for the speed of the last synced step, or
    /// for `reference_speed` where the flow is slower.
    pub fn cfl_dt(&self, cfl: f64, reference_speed: f64) -> f64 {
        let h = self.grid.dx().min(self.grid.dy());
        cfl * h / self.speed.max(reference_speed)
    }

    fn write_uniforms(&self, viscosity: Viscosity, dt: f64, substeps: usize) {
        let queue = &self.ctx.queue;
        if let Some(implicit) =
            self.implicit.as_ref().filter(|_| self.implicit_active(viscosity, dt))
        {
            let shift = 1.0 / (self.nu * dt);
            implicit.u.configure(queue, self.tolerance, implicit.budget, shift);
            implicit.v.configure(queue, self.tolerance, implicit.budget, shift);
        }
        let h = if substeps > 0 { dt / substeps as f64 } else { 0.0 };
        let (dx, dy) = (self.grid.dx(), self.grid.dy());
        let forcing = self.scalar.as_ref().map(|s| s.forcing);
        let forward = GridParams {
            dt: dt as f32,
            viscous_x: (self.nu * h / (dx * dx)) as f32,
            viscous_y: (self.nu * h / (dy * dy)) as f32,
            nu: self.nu as f32,
            confinement: self.confinement as f32,
            integrator: u32::from(self.integrator == Integrator::Euler),
            source_rate: forcing.map_or(0.0, |f| f.rate as f32),
            buoyancy: forcing.map_or(0.0, |f| f.buoyancy as f32),
            ..self.base
        };
        queue.write_buffer(&self.forward, 0, bytemuck::bytes_of(&forward));
        let backward = GridParams { dt: -forward.dt, ..forward };
        queue.write_buffer(&self.backward, 0, bytemuck::bytes_of(&backward));
        let walls = GridParams { extrapolate_outflow: 0, ..forward };
        queue.write_buffer(&self.walls, 0, bytemuck::bytes_of(&walls));
    }

    /// Encodes and submits `n` steps of `dt`. The statistics in [`GpuFlow::last`] follow at the
    /// next [`GpuFlow::sync`].
    pub fn step(&mut self, dt: f64, n: u32) {
        let viscosity = self.viscosity.for_step(&self.grid, self.nu, dt);
        let substeps = match viscosity {
            Viscosity::Explicit => crate::diffuse::substeps(&self.grid, self.nu, dt),
            Viscosity::Implicit => {
                self.build_implicit();
                0
            }
        };
        self.write_uniforms(viscosity, dt, substeps);
        self.pressure.configure(&self.ctx.queue, self.tolerance, self.budget, 0.0);
        let implicit = self.implicit.as_ref().filter(|_| self.implicit_active(viscosity, dt));
        // The force record starts over with every batch.
        let recorded = std::mem::offset_of!(FlowStats, recorded) as u64;
        self.ctx.queue.write_buffer(&self.stats, recorded, bytemuck::bytes_of(&0u32));
        self.batch = Batch { start: self.time, dt, steps: n };
        // One command buffer per step: a step is hundreds of dispatches, and very long command
        // buffers trip GPU watchdogs (and crash SwiftShader).
        for _ in 0..n {
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            if let Some(scalar) = &self.scalar {
                encode(&mut encoder, &scalar.transport);
            }
            encode(
                &mut encoder,
                match self.advection {
                    Advection::SemiLagrangian => &self.semi_lagrangian,
                    Advection::MacCormack => &self.mac_cormack,
                },
            );
            for _ in 0..substeps {
                encode(&mut encoder, &self.diffusion_substep);
            }
            if let Some(implicit) = implicit {
                encode(&mut encoder, std::slice::from_ref(&implicit.setup_u));
                implicit.u.encode(&mut encoder, implicit.budget);
                encode(&mut encoder, std::slice::from_ref(&implicit.store_u));
                encode(&mut encoder, std::slice::from_ref(&implicit.setup_v));
                implicit.v.encode(&mut encoder, implicit.budget);
                encode(&mut encoder, std::slice::from_ref(&implicit.store_v));
                encode(&mut encoder, &implicit.enforce);
            }
            if self.confinement > 0.0 {
                encode(&mut encoder, &self.confinement_ops);
            }
            if let Some(scalar) = &self.scalar {
                encode(&mut encoder, std::slice::from_ref(&scalar.buoyancy));
            }
            encode(&mut encoder, &self.pressure_rhs);
            self.pressure.encode(&mut encoder, self.budget);
            encode(&mut encoder, &self.after_solve);
            encode(&mut encoder, &self.force_ops);
            self.ctx.queue.submit([encoder.finish()]);
        }
        self.last.dt = dt;
        self.last.diffusion_substeps = substeps;
        self.last.implicit_fallback = viscosity != self.viscosity;
        self.time += dt * f64::from(n);
    }

    fn implicit_active(&self, viscosity: Viscosity, dt: f64) -> bool {
        viscosity == Viscosity::Implicit && self.nu > 0.0 && dt > 0.0
    }

    /// Reads the statistics of the last batch (blocking; native only): largest speed, largest
    /// divergence, pressure iterations and residual, obstacle forces. Widens the iteration
    /// budget when the solver used all of it. Fails if the velocity stopped being finite.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn sync(&mut self) -> Result<StepStats, FlowError> {
        self.request_stats();
        buffers::wait_idle(&self.ctx.device).map_err(FlowError::Gpu)?;
        let ready = self.delivered.lock().ok().and_then(|mut slot| slot.ready.take());
        let delivery = ready.ok_or_else(|| FlowError::Gpu("no statistics arrived".into()))?;
        self.absorb(delivery)
    }

    fn absorb(&mut self, delivery: Delivery) -> Result<StepStats, FlowError> {
        let Delivery { stats, cg, viscous, forces, batch } = delivery;
        let speed = f64::from(stats.max_u.max(stats.max_v));
        // The kernels report NaN and ±∞ as 3.4e38.
        let finite = |x: f64| x.is_finite() && x < 3.0e38;
        if !finite(speed) || !finite(f64::from(stats.max_divergence)) {
            return Err(FlowError::Diverged(
                f64::NAN,
                batch.start + batch.dt * f64::from(batch.steps),
            ));
        }
        self.speed = speed;
        let h = self.grid.dx().min(self.grid.dy());
        self.last.cfl = f64::from(stats.speed_before) * batch.dt / h;
        self.last.max_divergence = f64::from(stats.max_divergence);
        self.last.pressure =
            SolveStats { iterations: cg.iterations as usize, residual: f64::from(cg.residual) };
        self.budget = next_budget(self.budget, &cg, self.tolerance);
        self.last.viscous = SolveStats::default();
        if let (Some(implicit), Some([u, v])) = (&mut self.implicit, viscous) {
            let harder = if u.iterations >= v.iterations { u } else { v };
            self.last.viscous = SolveStats {
                iterations: harder.iterations as usize,
                residual: f64::from(u.residual.max(v.residual)),
            };
            implicit.budget = next_budget(implicit.budget, &harder, self.tolerance);
        }
        self.forces = forces
            .iter()
            .enumerate()
            .map(|(k, f)| {
                let time = batch.start + batch.dt * (k + 1) as f64;
                (time, f64::from(f[0]), f64::from(f[1]))
            })
            .collect();
        Ok(self.last)
    }

    /// The velocity, φ and scalar (if any) on the CPU, in f64 (blocking; native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn download(&self) -> Result<Snapshot, String> {
        let (device, queue) = (&self.ctx.device, &self.ctx.queue);
        let read = |buffer: &wgpu::Buffer| -> Result<Vec<f64>, String> {
            let data: Vec<f32> = buffers::read_blocking(device, queue, buffer)?;
            Ok(data.into_iter().map(f64::from).collect())
        };
        Ok(Snapshot {
            velocity: Velocity { u: read(&self.u)?, v: read(&self.v)? },
            phi: read(&self.pressure.phi)?,
            scalar: self.scalar.as_ref().map(|s| read(&s.value)).transpose()?,
        })
    }

    /// Starts reading the velocity, φ and scalar back without blocking (skipped while a read is
    /// in flight); [`GpuFlow::take_snapshot`] returns it once it has arrived.
    pub fn request_snapshot(&mut self) {
        let grid = &self.grid;
        let mut lengths = vec![grid.u_len(), grid.v_len(), grid.cells()];
        let mut sources = vec![&self.u, &self.v, &self.pressure.phi];
        if let Some(scalar) = &self.scalar {
            lengths.push(grid.cells());
            sources.push(&scalar.value);
        }
        let reader = self.snapshot_reader.get_or_insert_with(|| {
            buffers::AsyncRead::new(&self.ctx.device, "flow snapshot staging", &lengths)
        });
        reader.request(&self.ctx.device, &self.ctx.queue, &sources);
    }

    /// The state of the last completed [`GpuFlow::request_snapshot`], once.
    pub fn take_snapshot(&self) -> Option<Snapshot> {
        let mut arrays = self.snapshot_reader.as_ref()?.take()?.into_iter();
        let mut next = || arrays.next().map(|a| a.into_iter().map(f64::from).collect::<Vec<_>>());
        let (u, v, phi) = (next()?, next()?, next()?);
        Some(Snapshot { velocity: Velocity { u, v }, phi, scalar: next() })
    }

    /// Computes a cell-centred view (speed, velocity_x, velocity_y, vorticity, pressure,
    /// obstacle, or "scalar") on the GPU and returns the buffer holding it (`nx × ny` f32).
    /// Also starts reading back its extent (see [`GpuFlow::view_extent`]).
    pub fn view(&self, name: &str) -> Option<&wgpu::Buffer> {
        let (name, ops) = self.views.iter().find(|(n, _)| *n == name)?;
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encode(&mut encoder, ops);
        self.request_extent(&mut encoder);
        self.ctx.queue.submit([encoder.finish()]);
        self.start_extent_map(name);
        if *name == "scalar" {
            return self.scalar.as_ref().map(|s| &s.value);
        }
        Some(&self.view)
    }

    fn request_extent(&self, encoder: &mut wgpu::CommandEncoder) {
        if self.extent_slot.lock().is_ok_and(|slot| !slot.in_flight) {
            encoder.copy_buffer_to_buffer(&self.extent, 0, &self.extent_staging, 0, 8);
        }
    }

    fn start_extent_map(&self, name: &'static str) {
        let Ok(mut slot) = self.extent_slot.lock() else { return };
        if slot.in_flight {
            return;
        }
        slot.in_flight = true;
        drop(slot);
        let (staging, delivered) = (self.extent_staging.clone(), self.extent_slot.clone());
        self.extent_staging.slice(..).map_async(wgpu::MapMode::Read, move |result| {
            let extent = result.ok().and_then(|()| {
                let view = staging.slice(..).get_mapped_range().ok()?;
                let [lo, hi]: [f32; 2] = bytemuck::pod_read_unaligned(&view[..]);
                Some((lo, hi))
            });
            staging.unmap();
            if let Ok(mut slot) = delivered.lock() {
                slot.in_flight = false;
                if let Some((lo, hi)) = extent.filter(|(lo, hi)| lo <= hi) {
                    slot.latest = Some((name, (lo, hi)));
                }
            }
        });
    }

    /// The smallest and largest finite value of view `name` as last read back (a frame or
    /// so behind), if the last read was of that view.
    pub fn view_extent(&self, name: &str) -> Option<(f32, f32)> {
        let slot = self.extent_slot.lock().ok()?;
        slot.latest.filter(|(n, _)| *n == name).map(|(_, e)| e)
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }
}
