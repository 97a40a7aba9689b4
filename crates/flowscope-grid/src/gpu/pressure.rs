//! MGPCG on the GPU: the twin of [`crate::pressure`] (same V-cycle, same CG recurrences),
//! running `shaders/grid/pressure.wgsl`. The CPU solver's levels provide the stencils, so both
//! discretise exactly the same operator.
//!
//! The host never waits for the solver: it encodes a budget of iterations; once the residual
//! meets the tolerance the GPU sets a flag and the remaining dispatches return immediately.
//!
//! The same solver, built from an implicit-viscosity [`Component`], solves its Helmholtz system.

use crate::diffuse::Component;
use crate::grid::Grid;
use crate::pressure::{PressureSolver, COARSEST_SWEEPS, OMEGA, SMOOTHING};
use flowscope_gpu::program::{Op, Program};
use flowscope_gpu::{buffers, wgpu};

const SOURCE: &str = include_str!("../../../../shaders/grid/pressure.wgsl");
const GROUP: u32 = 256;
/// Workgroup size of the reductions (pressure.wgsl `GROUP`).
const REDUCE: u32 = 64;

// The kernels hard-code the V-cycle's two sweeps before and after the coarse correction.
const _: () = assert!(SMOOTHING == 2);

/// Mirrors `Level` in pressure.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct LevelParams {
    nx: u32,
    ny: u32,
    periodic_x: u32,
    periodic_y: u32,
    coarse_nx: u32,
    coarse_ny: u32,
    omega: f32,
    sweeps: u32,
}

/// Mirrors `Cg` in pressure.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CgState {
    pub norm_b: f32,
    pub residual: f32,
    pub rz: f32,
    pub alpha: f32,
    pub beta: f32,
    pub mean: f32,
    pub iterations: u32,
    pub done: u32,
    pub tolerance: f32,
    pub max_iterations: u32,
    pub fluid_cells: f32,
    pub shift: f32,
}

/// Buffers of one multigrid level.
struct LevelBuffers {
    params: wgpu::Buffer,
    stencil: wgpu::Buffer,
    diagonal: wgpu::Buffer,
    /// The level's result (the V-cycle ends here) and its ping-pong partner.
    x: wgpu::Buffer,
    y: wgpu::Buffer,
    /// Right-hand side (coarse levels; the finest uses the CG residual).
    b: wgpu::Buffer,
    cells: usize,
}

/// The pressure solve of one grid on the GPU.
pub struct GpuPressure {
    /// Right-hand side, written by the flow's kernels before each solve.
    pub rhs: wgpu::Buffer,
    /// Solution φ, warm start of the next solve.
    pub phi: wgpu::Buffer,
    /// The CG scalars, including the iteration count and final residual.
    pub cg: wgpu::Buffer,
    prologue: Vec<Op>,
    iteration: Vec<Op>,
    epilogue: Vec<Op>,
    fluid_cells: f32,
    // Kept to build the implicit viscosity's transfers.
    program: Program,
    params: wgpu::Buffer,
    solid: wgpu::Buffer,
    cells: usize,
}

impl GpuPressure {
    /// The pressure solve of `grid`.
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue, grid: &Grid) -> Self {
        Self::from_solver(device, queue, &PressureSolver::new(grid, 1e-6))
    }

    /// The GPU twin of a CPU solver (its operator and level hierarchy).
    pub fn from_solver(device: &wgpu::Device, queue: &wgpu::Queue, cpu: &PressureSolver) -> Self {
        let stencils = cpu.stencils();
        let singular = cpu.singular();
        let mut program = Program::new(device, "pressure.wgsl", SOURCE);
        let levels: Vec<LevelBuffers> = stencils
            .iter()
            .enumerate()
            .map(|(l, s)| {
                let coarse = stencils.get(l + 1).map_or((0, 0), |c| (c.nx, c.ny));
                let params = LevelParams {
                    nx: s.nx as u32,
                    ny: s.ny as u32,
                    periodic_x: s.periodic_x.into(),
                    periodic_y: s.periodic_y.into(),
                    coarse_nx: coarse.0 as u32,
                    coarse_ny: coarse.1 as u32,
                    omega: OMEGA as f32,
                    sweeps: COARSEST_SWEEPS as u32,
                };
                let weights: Vec<[f32; 4]> =
                    s.weights.iter().map(|w| w.map(|x| x as f32)).collect();
                let diagonal: Vec<f32> = s.diagonal.iter().map(|&d| d as f32).collect();
                let cells = s.nx * s.ny;
                LevelBuffers {
                    params: buffers::uniform_from(device, queue, "pressure level", &params),
                    stencil: buffers::storage_from(device, queue, "pressure stencil", &weights),
                    diagonal: buffers::storage_from(device, queue, "pressure diagonal", &diagonal),
                    x: buffers::storage_zeros(device, "pressure x", cells),
                    y: buffers::storage_zeros(device, "pressure y", cells),
                    b: buffers::storage_zeros(device, "pressure b", cells),
                    cells,
                }
            })
            .collect();
        let n = levels[0].cells;
        let solid: Vec<u32> = if cpu.solid().is_empty() {
            vec![0; n]
        } else {
            cpu.solid().iter().map(|&s| s.into()).collect()
        };
        let fluid_cells = solid.iter().filter(|s| **s == 0).count() as f32;
        let vector = |label| buffers::storage_zeros(device, label, n);
        let (rhs, phi, r, d, ad) = (
            vector("pressure rhs"),
            vector("pressure phi"),
            vector("cg r"),
            vector("cg d"),
            vector("cg Ad"),
        );
        let solid = buffers::storage_from(device, queue, "pressure solid", &solid);
        let partials = buffers::storage_zeros(device, "cg partials", n.div_ceil(REDUCE as usize));
        let cg = buffers::storage_from(device, queue, "cg state", &[CgState::default()]);

        let fine = &levels[0];
        let z = &fine.x;
        let mut ops =
            Ops { program: &mut program, fine, cg: &cg, partials: &partials, solid: &solid };
        // A singular system is solved for zero-mean data: project b first.
        let mut prologue = Vec::new();
        if singular {
            prologue.extend(ops.mean(&rhs, true));
            prologue.push(ops.vector("subtract_mean_always", &[(6, &rhs)]));
        }
        prologue.extend([
            ops.dot(&rhs, &rhs, true),
            ops.finish("start"),
            ops.vector("clear_if_no_rhs", &[(6, &phi)]),
            ops.vector_with_stencil("residual", &[(4, &phi), (5, &rhs), (6, &r)]),
            ops.dot(&r, &r, true),
            ops.finish("initial_residual"),
        ]);
        prologue.extend(ops.precondition(&levels, &r, singular));
        prologue.extend([
            ops.vector("first_direction", &[(4, z), (6, &d)]),
            ops.dot(&r, z, false),
            ops.finish("first_rz"),
        ]);
        let mut iteration = vec![
            ops.vector_with_stencil("apply", &[(4, &d), (6, &ad)]),
            ops.dot(&d, &ad, false),
            ops.finish("step_length"),
            ops.vector("update", &[(4, &d), (5, &ad), (6, &phi), (8, &r)]),
            ops.dot(&r, &r, false),
            ops.finish("check"),
        ];
        iteration.extend(ops.precondition(&levels, &r, singular));
        iteration.extend([
            ops.dot(&r, z, false),
            ops.finish("conjugate"),
            ops.vector("direction", &[(4, z), (6, &d)]),
        ]);
        let mut epilogue = Vec::new();
        if singular {
            epilogue.extend(ops.mean(&phi, true));
            epilogue.push(ops.vector("subtract_mean_always", &[(6, &phi)]));
        } else {
            epilogue.push(ops.vector("zero_solid_always", &[(6, &phi)]));
        }
        let params = levels[0].params.clone();
        Self {
            rhs,
            phi,
            cg,
            prologue,
            iteration,
            epilogue,
            fluid_cells,
            program,
            params,
            solid,
            cells: n,
        }
    }

    /// Sets the tolerance, the iteration budget and the shift σ (0 for pressure) of the solves
    /// encoded next.
    pub fn configure(&self, queue: &wgpu::Queue, tolerance: f64, budget: u32, shift: f64) {
        let state = CgState {
            tolerance: tolerance as f32,
            max_iterations: budget,
            fluid_cells: self.fluid_cells,
            shift: shift as f32,
            ..CgState::default()
        };
        queue.write_buffer(&self.cg, 0, bytemuck::bytes_of(&state));
    }

    /// For a solver built from `component`: the dispatch that sets up its system from the
    /// velocity component in `data` (right-hand side and warm start), and the one that writes
    /// the solution back.
    pub fn helmholtz_ops(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        component: &Component,
        data: &wgpu::Buffer,
    ) -> [Op; 2] {
        let known: Vec<[f32; 4]> = component.known.iter().map(|w| w.map(|x| x as f32)).collect();
        let constant: Vec<f32> = component.constant.iter().map(|&c| c as f32).collect();
        let known = buffers::storage_from(device, queue, "viscosity known", &known);
        let constant = buffers::storage_from(device, queue, "viscosity constant", &constant);
        let layout = buffers::uniform_from(
            device,
            queue,
            "viscosity layout",
            &[component.stride as u32, 0, 0, 0],
        );
        let common = [(0, &self.params), (10, &self.solid), (11, data), (14, &layout)];
        let mut setup = common.to_vec();
        setup.extend([
            (3, &self.cg),
            (6, &self.rhs),
            (8, &self.phi),
            (12, &known),
            (13, &constant),
        ]);
        let mut store = common.to_vec();
        store.push((4, &self.phi));
        [
            self.program.op_1d("helmholtz_rhs", &setup, self.cells, GROUP),
            self.program.op_1d("helmholtz_store", &store, self.cells, GROUP),
        ]
    }

    /// Encodes one solve of A φ = rhs with `budget` iterations at most (the budget given to
    /// [`GpuPressure::configure`]).
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder, budget: u32) {
        flowscope_gpu::program::encode(encoder, &self.prologue);
        for _ in 0..budget {
            flowscope_gpu::program::encode(encoder, &self.iteration);
        }
        flowscope_gpu::program::encode(encoder, &self.epilogue);
    }
}

/// Builds the solver's dispatches on the finest level.
struct Ops<'a> {
    program: &'a mut Program,
    fine: &'a LevelBuffers,
    cg: &'a wgpu::Buffer,
    partials: &'a wgpu::Buffer,
    solid: &'a wgpu::Buffer,
}

impl Ops<'_> {
    /// An element-wise kernel on the finest level (binding 0 and the CG state added).
    fn vector(&mut self, entry: &'static str, bindings: &[(u32, &wgpu::Buffer)]) -> Op {
        let mut all = vec![(0, &self.fine.params), (3, self.cg)];
        all.extend_from_slice(bindings);
        if entry.starts_with("subtract_mean") || entry.starts_with("zero_solid") {
            all.push((10, self.solid));
        }
        self.program.op_1d(entry, &all, self.fine.cells, GROUP)
    }

    /// An element-wise kernel that applies the operator (stencil and diagonal added).
    fn vector_with_stencil(
        &mut self,
        entry: &'static str,
        bindings: &[(u32, &wgpu::Buffer)],
    ) -> Op {
        let mut all = vec![(1, &self.fine.stencil), (2, &self.fine.diagonal)];
        all.extend_from_slice(bindings);
        self.vector(entry, &all)
    }

    /// Per-workgroup partial sums of a · b.
    fn dot(&mut self, a: &wgpu::Buffer, b: &wgpu::Buffer, always: bool) -> Op {
        let cells = self.fine.cells;
        let common = [(0, &self.fine.params), (4, a), (5, b), (9, self.partials)];
        if always {
            return self.program.op_1d("dot_partial_always", &common, cells, REDUCE);
        }
        let mut bindings = common.to_vec();
        bindings.push((3, self.cg));
        self.program.op_1d("dot_partial", &bindings, cells, REDUCE)
    }

    /// One workgroup turning the partials into a CG scalar.
    fn finish(&mut self, entry: &'static str) -> Op {
        let bindings = [(0, &self.fine.params), (3, self.cg), (9, self.partials)];
        self.program.op(entry, &bindings, [1, 1, 1])
    }

    /// The mean of `a` over fluid cells into the CG state.
    fn mean(&mut self, a: &wgpu::Buffer, always: bool) -> [Op; 2] {
        let (sum, mean) = if always {
            ("fluid_sum_partial_always", "mean_always")
        } else {
            ("fluid_sum_partial", "mean")
        };
        let mut bindings =
            vec![(0, &self.fine.params), (4, a), (9, self.partials), (10, self.solid)];
        // The `_always` sum runs regardless of the solver's state, so it does not bind it.
        if !always {
            bindings.push((3, self.cg));
        }
        [self.program.op_1d(sum, &bindings, self.fine.cells, REDUCE), self.finish(mean)]
    }

    /// z = M r: one V-cycle from the finest level, then the null-space projection; z is the
    /// finest level's `x`.
    fn precondition(
        &mut self,
        levels: &[LevelBuffers],
        r: &wgpu::Buffer,
        singular: bool,
    ) -> Vec<Op> {
        let mut ops = Vec::new();
        self.v_cycle(levels, 0, r, &mut ops);
        let z = &levels[0].x;
        if singular {
            ops.extend(self.mean(z, false));
        }
        // Without a mean computed, subtract_mean only zeroes the obstacle cells.
        ops.push(self.vector("subtract_mean", &[(6, z)]));
        ops
    }

    /// A kernel on level `here` (its parameters and the CG state added).
    fn on_level(
        &mut self,
        here: &LevelBuffers,
        entry: &'static str,
        bindings: &[(u32, &wgpu::Buffer)],
        items: usize,
    ) -> Op {
        let mut all = vec![(0, &here.params), (3, self.cg)];
        all.extend_from_slice(bindings);
        self.program.op_1d(entry, &all, items, GROUP)
    }

    /// One V-cycle for A x = b on level `l`, ending in the level's `x` (as the CPU's does).
    fn v_cycle(&mut self, levels: &[LevelBuffers], l: usize, b: &wgpu::Buffer, ops: &mut Vec<Op>) {
        let here = &levels[l];
        let (stencil, diagonal) = ((1, &here.stencil), (2, &here.diagonal));
        if l + 1 == levels.len() {
            let bindings = [stencil, diagonal, (5, b), (6, &here.x), (8, &here.y)];
            let mut all = vec![(0, &here.params), (3, self.cg)];
            all.extend_from_slice(&bindings);
            ops.push(self.program.op("coarsest", &all, [1, 1, 1]));
            return;
        }
        let coarse = &levels[l + 1];
        let n = here.cells;
        ops.push(self.on_level(here, "jacobi_from_zero", &[diagonal, (5, b), (6, &here.x)], n));
        let sweep = [stencil, diagonal, (4, &here.x), (5, b), (6, &here.y)];
        ops.push(self.on_level(here, "jacobi", &sweep, n));
        let restrict = [stencil, diagonal, (4, &here.y), (5, b), (8, &coarse.b)];
        ops.push(self.on_level(here, "restrict_residual", &restrict, coarse.cells));
        self.v_cycle(levels, l + 1, &coarse.b, ops);
        ops.push(self.on_level(here, "prolong", &[(4, &here.y), (7, &coarse.x), (6, &here.x)], n));
        ops.push(self.on_level(here, "jacobi", &sweep, n));
        let back = [stencil, diagonal, (4, &here.y), (5, b), (6, &here.x)];
        ops.push(self.on_level(here, "jacobi", &back, n));
    }
}
