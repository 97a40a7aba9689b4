//! The pressure Poisson equation −∇²p = b on cell centres with zero-gradient walls and periodic
//! sides, solved by conjugate gradients preconditioned with one multigrid V-cycle (MGPCG), so the
//! iteration count barely grows with the grid. The same solver takes the Helmholtz systems
//! (σ − ∇²) u = b of implicit viscosity ([`Operator`] with a shift σ and other closures).
//!
//! Multigrid: cell-centred coarsening by 2 (partial blocks at odd edges) down to 4 cells, the
//! operator rediscretised on every level, restriction by averaging the four children,
//! piecewise-constant prolongation, two weighted-Jacobi sweeps before and after (ω = 0.8; the
//! same count on both sides keeps the preconditioner symmetric), 40 sweeps on the coarsest level.
//! With no Dirichlet side the system is singular: right-hand side and preconditioned residuals
//! are kept at zero mean, and the solution is returned at zero mean.

use crate::grid::Grid;

/// Jacobi weight, sweeps before and after the coarse correction, sweeps on the coarsest level.
pub const OMEGA: f64 = 0.8;
pub const SMOOTHING: usize = 2;
pub const COARSEST_SWEEPS: usize = 40;

/// How the operator closes past a non-periodic side or next to a decoupled (solid) unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closure {
    /// Zero normal gradient: no contribution (pressure at walls and obstacles).
    Neumann,
    /// The value is given on the face half a cell away: ghost −x, contributing 2w (pressure at
    /// an outflow, tangential velocity at a wall).
    Face,
    /// The value is given one whole cell away: contributing w (the normal velocity of a wall or
    /// an obstacle face next to a velocity unknown).
    Cell,
}

/// An operator `(A x)_k = σ x_k + Σ_neighbours w (x_k − x_n)` on an `nx × ny` grid of unknowns,
/// closed as `sides` (left, right, bottom, top) and `obstacle` say; unknowns marked `solid`
/// are decoupled (A x = (1 + σ) x there).
#[derive(Clone, Debug)]
pub struct Operator {
    pub nx: usize,
    pub ny: usize,
    /// 1/dx², 1/dy².
    pub wx: f64,
    pub wy: f64,
    pub periodic_x: bool,
    pub periodic_y: bool,
    pub sides: [Closure; 4],
    pub obstacle: Closure,
    /// Decoupled unknowns; empty when there are none.
    pub solid: Vec<bool>,
}

impl Operator {
    /// The pressure Poisson operator of `grid`: walls and obstacles Neumann, outflow p = 0.
    pub fn pressure(grid: &Grid) -> Self {
        let sides = grid.sides;
        let closure = |side| match side {
            crate::grid::Side::Outflow { .. } => Closure::Face,
            _ => Closure::Neumann,
        };
        Self {
            nx: grid.nx,
            ny: grid.ny,
            wx: 1.0 / (grid.dx() * grid.dx()),
            wy: 1.0 / (grid.dy() * grid.dy()),
            periodic_x: sides.periodic_x(),
            periodic_y: sides.periodic_y(),
            sides: [sides.left, sides.right, sides.bottom, sides.top].map(closure),
            obstacle: Closure::Neumann,
            solid: grid.solid.to_vec(),
        }
    }
}

impl Operator {
    /// Unknown `k`'s west, east, south and north neighbours (periodic ones wrapped), `None`
    /// past a non-periodic side.
    pub fn neighbours(&self, k: usize) -> [Option<usize>; 4] {
        let (nx, ny) = (self.nx, self.ny);
        let (i, j) = (k % nx, k / nx);
        let (px, py) = (self.periodic_x, self.periodic_y);
        [
            if i > 0 { Some(k - 1) } else { px.then(|| k + nx - 1) },
            if i + 1 < nx { Some(k + 1) } else { px.then(|| k + 1 - nx) },
            if j > 0 { Some(k - nx) } else { py.then(|| k + (ny - 1) * nx) },
            if j + 1 < ny { Some(k + nx) } else { py.then_some(i) },
        ]
    }
}

#[derive(Clone, Debug)]
struct Level {
    op: Operator,
    /// The shift σ (0 for pressure).
    shift: f64,
    /// Diagonal of A without the shift, per unknown.
    diagonal: Vec<f64>,
    /// ω / diagonal of A, per unknown.
    jacobi_weight: Vec<f64>,
    /// The cells the regular five-point loop of [`Level::apply`] gets wrong.
    irregular: Vec<Irregular>,
}

/// A cell at a side, solid or next to a solid, with its stencil spelled out: `(A p)_k =
/// (diagonal_k + σ) p_k − Σ weights_s p[neighbours_s]` (weight 0 where no unknown lies beyond).
#[derive(Clone, Debug)]
struct Irregular {
    k: usize,
    neighbours: [usize; 4],
    weights: [f64; 4],
}

/// What lies beyond a cell face.
enum Beyond {
    Cell(usize),
    /// Nothing contributes (Neumann).
    Wall,
    /// A given value on the face: ghost value −x.
    Dirichlet,
    /// A given value one cell away.
    Known,
}

impl Beyond {
    fn diagonal(&self, w: f64) -> f64 {
        match self {
            Beyond::Cell(_) | Beyond::Known => w,
            Beyond::Wall => 0.0,
            Beyond::Dirichlet => 2.0 * w,
        }
    }
}

impl From<Closure> for Beyond {
    fn from(closure: Closure) -> Self {
        match closure {
            Closure::Neumann => Beyond::Wall,
            Closure::Face => Beyond::Dirichlet,
            Closure::Cell => Beyond::Known,
        }
    }
}

impl Level {
    fn new(op: Operator) -> Self {
        let mut level = Self {
            op,
            shift: 0.0,
            diagonal: Vec::new(),
            jacobi_weight: Vec::new(),
            irregular: Vec::new(),
        };
        let (nx, ny) = (level.op.nx, level.op.ny);
        level.diagonal = (0..nx * ny)
            .map(|k| {
                if level.is_solid(k) {
                    return 1.0;
                }
                level.beyond(k % nx, k / nx).iter().map(|(b, w)| b.diagonal(*w)).sum()
            })
            .collect();
        level.irregular = (0..nx * ny)
            .filter(|&k| {
                let (i, j) = (k % nx, k / nx);
                let near_solid = || {
                    level.is_solid(k)
                        || [k - 1, k + 1, k - nx, k + nx].iter().any(|&n| level.is_solid(n))
                };
                i == 0 || j == 0 || i + 1 == nx || j + 1 == ny || near_solid()
            })
            .map(|k| level.spelled_out(k))
            .collect();
        level.set_shift(0.0);
        level
    }

    fn spelled_out(&self, k: usize) -> Irregular {
        let mut cell = Irregular { k, neighbours: [k; 4], weights: [0.0; 4] };
        if !self.is_solid(k) {
            let nx = self.op.nx;
            for (side, (beyond, w)) in self.beyond(k % nx, k / nx).into_iter().enumerate() {
                if let Beyond::Cell(n) = beyond {
                    (cell.neighbours[side], cell.weights[side]) = (n, w);
                }
            }
        }
        cell
    }

    fn set_shift(&mut self, shift: f64) {
        self.shift = shift;
        self.jacobi_weight = self.diagonal.iter().map(|d| OMEGA / (d + shift)).collect();
    }

    #[inline]
    fn is_solid(&self, k: usize) -> bool {
        !self.op.solid.is_empty() && self.op.solid[k]
    }

    /// The system is singular (defined up to a constant) without a shift or a given value.
    fn singular(&self) -> bool {
        let op = &self.op;
        self.shift == 0.0
            && op.sides.iter().all(|c| *c == Closure::Neumann)
            && (op.obstacle == Closure::Neumann || op.solid.is_empty())
    }

    /// The four neighbours of a fluid cell (west, east, south, north) with their weights.
    #[inline]
    fn beyond(&self, i: usize, j: usize) -> [(Beyond, f64); 4] {
        let op = &self.op;
        let (nx, ny) = (op.nx, op.ny);
        let k = j * nx + i;
        let cell = |n: usize| if self.is_solid(n) { op.obstacle.into() } else { Beyond::Cell(n) };
        let edge = |periodic: bool, wrapped: usize, closure: Closure| {
            if periodic {
                cell(wrapped)
            } else {
                closure.into()
            }
        };
        let west = if i > 0 { cell(k - 1) } else { edge(op.periodic_x, k + nx - 1, op.sides[0]) };
        let east =
            if i + 1 < nx { cell(k + 1) } else { edge(op.periodic_x, k + 1 - nx, op.sides[1]) };
        let south =
            if j > 0 { cell(k - nx) } else { edge(op.periodic_y, k + (ny - 1) * nx, op.sides[2]) };
        let north = if j + 1 < ny { cell(k + nx) } else { edge(op.periodic_y, i, op.sides[3]) };
        [(west, op.wx), (east, op.wx), (south, op.wy), (north, op.wy)]
    }

    /// `out = A p`, with `(A p)_k = σ p_k + Σ_neighbours w (p_k − p_n)`; Neumann closures
    /// contribute nothing, given values on the face 2 w p_k, given values a cell away w p_k.
    /// Inner cells take one loop over row slices, which vectorises; then the irregular ones
    /// are overwritten.
    fn apply(&self, p: &[f64], out: &mut [f64]) {
        let (nx, ny, wx, wy, shift) = (self.op.nx, self.op.ny, self.op.wx, self.op.wy, self.shift);
        if nx > 2 && ny > 2 {
            for j in 1..ny - 1 {
                let row = |j: usize| &p[j * nx..][..nx];
                let (down, here, up) = (row(j - 1), row(j), row(j + 1));
                let target = &mut out[j * nx..][..nx];
                for i in 1..nx - 1 {
                    let c = here[i];
                    target[i] = shift * c
                        + wx * (2.0 * c - here[i - 1] - here[i + 1])
                        + wy * (2.0 * c - down[i] - up[i]);
                }
            }
        }
        for cell in &self.irregular {
            let [w, e, s, n] = cell.neighbours;
            let [ww, we, ws, wn] = cell.weights;
            out[cell.k] = (self.diagonal[cell.k] + shift) * p[cell.k]
                - (ww * p[w] + we * p[e] + ws * p[s] + wn * p[n]);
        }
    }

    /// `sweeps` weighted-Jacobi sweeps from x = 0, the first of which needs no A x.
    fn jacobi_from_zero(&self, x: &mut [f64], b: &[f64], ax: &mut [f64], sweeps: usize) {
        for ((x, weight), b) in x.iter_mut().zip(&self.jacobi_weight).zip(b) {
            *x = weight * b;
        }
        self.jacobi(x, b, ax, sweeps - 1);
    }

    /// Weighted Jacobi: x ← x + ω D⁻¹ (b − A x), using `ax` as scratch.
    fn jacobi(&self, x: &mut [f64], b: &[f64], ax: &mut [f64], sweeps: usize) {
        for _ in 0..sweeps {
            self.apply(x, ax);
            for (((x, weight), b), ax) in x.iter_mut().zip(&self.jacobi_weight).zip(b).zip(&*ax) {
                *x += weight * (b - ax);
            }
        }
    }

    /// The next level: 2 × 2 blocks of cells (a partial block at an odd edge), while both sides
    /// keep at least 4 cells.
    fn coarser(&self) -> Option<Level> {
        let op = &self.op;
        if op.nx < 8 || op.ny < 8 {
            return None;
        }
        let (nx, ny) = (op.nx.div_ceil(2), op.ny.div_ceil(2));
        // A coarse cell is solid only if all of its children are.
        let solid = if op.solid.is_empty() {
            Vec::new()
        } else {
            let mut all_solid = vec![true; nx * ny];
            for (k, &s) in op.solid.iter().enumerate() {
                let (i, j) = (k % op.nx, k / op.nx);
                all_solid[(j / 2) * nx + i / 2] &= s;
            }
            all_solid
        };
        // Periodicity survives coarsening only when the blocks tile the period exactly.
        if (op.periodic_x && !op.nx.is_multiple_of(2))
            || (op.periodic_y && !op.ny.is_multiple_of(2))
        {
            return None;
        }
        let mut coarse =
            Level::new(Operator { nx, ny, wx: op.wx / 4.0, wy: op.wy / 4.0, solid, ..op.clone() });
        coarse.set_shift(self.shift);
        Some(coarse)
    }

    /// Removes the null-space component: the mean over fluid cells (when singular), and any
    /// value in solid cells.
    fn project_nullspace(&self, x: &mut [f64]) {
        if self.singular() && self.op.solid.is_empty() {
            let mean = sum(x) / x.len() as f64;
            x.iter_mut().for_each(|v| *v -= mean);
        } else if self.singular() {
            let (sum, count) = x
                .iter()
                .enumerate()
                .filter(|(k, _)| !self.is_solid(*k))
                .fold((0.0, 0usize), |(s, c), (_, v)| (s + v, c + 1));
            let mean = sum / count.max(1) as f64;
            x.iter_mut()
                .enumerate()
                .filter(|(k, _)| !self.is_solid(*k))
                .for_each(|(_, v)| *v -= mean);
        }
        if !self.op.solid.is_empty() {
            x.iter_mut().enumerate().filter(|(k, _)| self.op.solid[*k]).for_each(|(_, v)| *v = 0.0);
        }
    }
}

/// One multigrid level's operator as a five-point stencil, for the GPU twin:
/// `(A p)_k = (diagonal_k + σ) p_k − Σ weight_k,n p_n` over the west, east, south and north
/// neighbours (periodic ones wrapped), weight 0 where the neighbour is not an unknown.
#[derive(Clone, Debug, PartialEq)]
pub struct LevelStencil {
    pub nx: usize,
    pub ny: usize,
    pub periodic_x: bool,
    pub periodic_y: bool,
    /// West, east, south, north weight per cell.
    pub weights: Vec<[f64; 4]>,
    pub diagonal: Vec<f64>,
}

impl Level {
    fn stencil(&self) -> LevelStencil {
        let (nx, ny) = (self.op.nx, self.op.ny);
        let weights = (0..nx * ny).map(|k| self.spelled_out(k).weights).collect();
        LevelStencil {
            nx,
            ny,
            periodic_x: self.op.periodic_x,
            periodic_y: self.op.periodic_y,
            weights,
            diagonal: self.diagonal.clone(),
        }
    }
}

/// Per-level scratch vectors, allocated once.
#[derive(Clone, Debug, Default)]
struct Scratch {
    x: Vec<f64>,
    ax: Vec<f64>,
    b: Vec<f64>,
}

/// Σ a_k b_k, summed in eight interleaved partial sums: a single running sum waits on each
/// addition in turn and cannot vectorise.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for ((lane, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *lane += x * y;
        }
    }
    lanes.iter().sum::<f64>() + tail
}

fn sum(a: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let chunks = a.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().sum();
    for x in chunks {
        for (lane, x) in lanes.iter_mut().zip(x) {
            *lane += x;
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// Iterations and final relative residual of one solve.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SolveStats {
    pub iterations: usize,
    pub residual: f64,
}

/// MGPCG for one grid; keeps its level hierarchy between solves.
#[derive(Clone)]
pub struct PressureSolver {
    levels: Vec<Level>,
    scratch: Vec<Scratch>,
    /// Stop when ‖b − A p‖ ≤ tolerance · ‖b‖.
    pub tolerance: f64,
    pub max_iterations: usize,
}

impl PressureSolver {
    /// The pressure solver of `grid`.
    pub fn new(grid: &Grid, tolerance: f64) -> Self {
        Self::for_operator(Operator::pressure(grid), tolerance)
    }

    /// A solver for `operator` (shift 0 until [`PressureSolver::set_shift`]).
    pub fn for_operator(operator: Operator, tolerance: f64) -> Self {
        let mut levels = vec![Level::new(operator)];
        while let Some(coarser) = levels.last().and_then(Level::coarser) {
            levels.push(coarser);
        }
        let scratch = levels
            .iter()
            .map(|l| {
                let n = l.op.nx * l.op.ny;
                Scratch { x: vec![0.0; n], ax: vec![0.0; n], b: vec![0.0; n] }
            })
            .collect();
        Self { levels, scratch, tolerance, max_iterations: 500 }
    }

    /// Sets the shift σ of the operator on every level.
    pub fn set_shift(&mut self, shift: f64) {
        if self.levels[0].shift != shift {
            self.levels.iter_mut().for_each(|l| l.set_shift(shift));
        }
    }

    /// The finest level's decoupled unknowns (empty when there are none).
    pub fn solid(&self) -> &[bool] {
        &self.levels[0].op.solid
    }

    /// Every level's operator, finest first (what the GPU twin uploads).
    pub fn stencils(&self) -> Vec<LevelStencil> {
        self.levels.iter().map(Level::stencil).collect()
    }

    /// Whether the system is singular (no p = 0 side): solutions are kept at zero mean.
    pub fn singular(&self) -> bool {
        self.levels[0].singular()
    }

    /// Number of multigrid levels (1 = plain Jacobi preconditioning).
    pub fn depth(&self) -> usize {
        self.levels.len()
    }

    /// One V-cycle for `A x = scratch[level].b`, leaving `x` in `scratch[level].x`.
    fn v_cycle(&mut self, level: usize) {
        let last = level + 1 == self.levels.len();
        let (fine, coarse_levels) = self.scratch.split_at_mut(level + 1);
        let here = &mut fine[level];
        let grid = &self.levels[level];
        if last {
            grid.jacobi_from_zero(&mut here.x, &here.b, &mut here.ax, COARSEST_SWEEPS);
            return;
        }
        grid.jacobi_from_zero(&mut here.x, &here.b, &mut here.ax, SMOOTHING);
        grid.apply(&here.x, &mut here.ax);
        let coarse = &self.levels[level + 1];
        let below = &mut coarse_levels[0];
        below.b.iter_mut().for_each(|v| *v = 0.0);
        for j in 0..grid.op.ny {
            for i in 0..grid.op.nx {
                let k = j * grid.op.nx + i;
                below.b[(j / 2) * coarse.op.nx + i / 2] += 0.25 * (here.b[k] - here.ax[k]);
            }
        }
        self.v_cycle(level + 1);
        let (fine, coarse_levels) = self.scratch.split_at_mut(level + 1);
        let (here, below) = (&mut fine[level], &coarse_levels[0]);
        let (grid, coarse) = (&self.levels[level], &self.levels[level + 1]);
        for j in 0..grid.op.ny {
            for i in 0..grid.op.nx {
                here.x[j * grid.op.nx + i] += below.x[(j / 2) * coarse.op.nx + i / 2];
            }
        }
        grid.jacobi(&mut here.x, &here.b, &mut here.ax, SMOOTHING);
    }

    fn precondition(&mut self, r: &[f64], z: &mut [f64]) {
        self.scratch[0].b.copy_from_slice(r);
        self.v_cycle(0);
        z.copy_from_slice(&self.scratch[0].x);
        self.levels[0].project_nullspace(z);
    }

    /// Solves A p = b, starting from the `p` given (warm start).
    pub fn solve(&mut self, b: &[f64], p: &mut [f64]) -> SolveStats {
        let mut b = b.to_vec();
        self.levels[0].project_nullspace(&mut b);
        let norm_b = dot(&b, &b).sqrt();
        if norm_b == 0.0 {
            p.iter_mut().for_each(|v| *v = 0.0);
            return SolveStats::default();
        }
        let mut ap = vec![0.0; b.len()];
        self.levels[0].apply(p, &mut ap);
        let mut r: Vec<f64> = b.iter().zip(&ap).map(|(b, a)| b - a).collect();
        let mut residual = dot(&r, &r).sqrt() / norm_b;
        let mut iterations = 0;
        if residual > self.tolerance {
            let mut z = vec![0.0; b.len()];
            self.precondition(&r, &mut z);
            let mut direction = z.clone();
            let mut rz = dot(&r, &z);
            while iterations < self.max_iterations {
                iterations += 1;
                self.levels[0].apply(&direction, &mut ap);
                let alpha = rz / dot(&direction, &ap);
                for k in 0..p.len() {
                    p[k] += alpha * direction[k];
                    r[k] -= alpha * ap[k];
                }
                residual = dot(&r, &r).sqrt() / norm_b;
                if residual <= self.tolerance {
                    break;
                }
                self.precondition(&r, &mut z);
                let rz_next = dot(&r, &z);
                let beta = rz_next / rz;
                rz = rz_next;
                for k in 0..p.len() {
                    direction[k] = z[k] + beta * direction[k];
                }
            }
        }
        self.levels[0].project_nullspace(p);
        SolveStats { iterations, residual }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{Side, Sides};

    fn walls() -> Sides {
        let wall = Side::NoSlip { tangential: 0.0 };
        Sides { left: wall, right: wall, bottom: wall, top: wall }
    }

    fn rhs(grid: &Grid) -> Vec<f64> {
        (0..grid.cells())
            .map(|k| {
                let (i, j) = ((k % grid.nx) as f64, (k / grid.nx) as f64);
                (0.37 * i).sin() * (0.21 * j).cos() + if k % 7 == 0 { 1.0 } else { 0.0 }
            })
            .collect()
    }

    #[test]
    fn solves_to_tolerance_with_a_residual_that_checks_out() {
        for sides in [walls(), Sides::periodic()] {
            let grid = Grid::new(64, 48, 1.0, 0.75, sides).unwrap();
            let mut solver = PressureSolver::new(&grid, 1e-8);
            let b = rhs(&grid);
            let mut p = vec![0.0; grid.cells()];
            let stats = solver.solve(&b, &mut p);
            assert!(stats.residual <= 1e-8, "{stats:?}");
            let mut ap = vec![0.0; p.len()];
            solver.levels[0].apply(&p, &mut ap);
            let mut zero_mean_b = b.clone();
            solver.levels[0].project_nullspace(&mut zero_mean_b);
            let error: f64 =
                ap.iter().zip(&zero_mean_b).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(error < 1e-6 * zero_mean_b.iter().fold(0.0f64, |m, v| m.max(v.abs())) * 1e3);
        }
    }

    #[test]
    fn apply_matches_every_cells_stencil_on_every_level() {
        let channel = Sides {
            left: Side::Inflow { speed: 1.0, parabolic: false },
            right: Side::Outflow { convective: false },
            bottom: Side::FreeSlip,
            top: Side::FreeSlip,
        };
        let periodic_x = Sides { left: Side::Periodic, right: Side::Periodic, ..walls() };
        for sides in [walls(), Sides::periodic(), channel, periodic_x] {
            let grid = Grid::new(40, 24, 2.0, 1.2, sides)
                .unwrap()
                .with_obstacle(|x, y| (x - 0.5).powi(2) + (y - 0.6).powi(2) < 0.04);
            let mut solver = PressureSolver::new(&grid, 1e-6);
            solver.set_shift(0.3);
            for level in &solver.levels {
                let n = level.op.nx * level.op.ny;
                let p: Vec<f64> = (0..n).map(|k| (0.7 * k as f64).sin()).collect();
                let mut out = vec![f64::NAN; n];
                level.apply(&p, &mut out);
                for (k, value) in out.iter().enumerate() {
                    let cell = level.spelled_out(k);
                    let around: f64 = (0..4).map(|s| cell.weights[s] * p[cell.neighbours[s]]).sum();
                    let expected = (level.diagonal[k] + level.shift) * p[k] - around;
                    assert!((value - expected).abs() < 1e-12 * (1.0 + expected.abs()), "{k}");
                }
            }
        }
    }

    #[test]
    fn iterations_barely_grow_with_the_grid() {
        let counts: Vec<usize> = [32, 64, 128, 256]
            .iter()
            .map(|&n| {
                let grid = Grid::new(n, n, 1.0, 1.0, walls()).unwrap();
                let mut solver = PressureSolver::new(&grid, 1e-6);
                let mut p = vec![0.0; grid.cells()];
                solver.solve(&rhs(&grid), &mut p).iterations
            })
            .collect();
        assert!(counts[3] <= counts[0] + 6, "iterations by size 32…256: {counts:?}");
        assert!(counts[3] < 40, "{counts:?}");
    }
}
