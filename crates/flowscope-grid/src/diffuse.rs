//! Viscosity: ∂u/∂t = ν ∇²u on the staggered velocity, walls entering through ghost values
//! (no-slip: the wall's tangential velocity sits on the wall; free-slip: zero gradient).
//! Explicit (forward Euler, sub-stepped to stay stable) or implicit (backward Euler, one
//! Helmholtz solve per component with the pressure's MGPCG, stable for any step).

use crate::grid::{apply_boundaries, Grid, Side, Velocity};
use crate::pressure::{Closure, Operator, PressureSolver, SolveStats};

/// How viscosity is integrated in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viscosity {
    Explicit,
    Implicit,
}

/// Largest stable forward-Euler step: ν dt (2/dx² + 2/dy²) ≤ 1.
pub fn explicit_limit(grid: &Grid, nu: f64) -> f64 {
    1.0 / (nu * (2.0 / (grid.dx() * grid.dx()) + 2.0 / (grid.dy() * grid.dy())))
}

/// The most forward-Euler sub-steps one step takes. Past it (fine grids, large ν or dt) a step
/// would be thousands of sweeps, minutes of a browser tab; the implicit solve, stable for any
/// step, costs about as much as the pressure solve instead.
pub const MAX_EXPLICIT_SUBSTEPS: usize = 64;

/// Equal sub-steps that keep a viscosity step of `dt` within 90% of the stability limit (none
/// without viscosity).
pub fn substeps(grid: &Grid, nu: f64, dt: f64) -> usize {
    if nu <= 0.0 || dt <= 0.0 {
        return 0;
    }
    (dt / (0.9 * explicit_limit(grid, nu))).ceil().clamp(1.0, u32::MAX as f64) as usize
}

impl Viscosity {
    /// How a step of `dt` integrates viscosity: as asked, except that explicit viscosity
    /// needing more than [`MAX_EXPLICIT_SUBSTEPS`] sub-steps is done implicitly.
    pub fn for_step(self, grid: &Grid, nu: f64, dt: f64) -> Self {
        if self == Viscosity::Explicit && substeps(grid, nu, dt) > MAX_EXPLICIT_SUBSTEPS {
            Viscosity::Implicit
        } else {
            self
        }
    }
}

/// One forward-Euler viscosity step of `dt`, split into as many equal sub-steps as the
/// stability limit needs. Returns the number of sub-steps.
pub fn explicit(grid: &Grid, velocity: &mut Velocity, nu: f64, dt: f64) -> usize {
    let substeps = substeps(grid, nu, dt);
    if substeps == 0 {
        return 0;
    }
    let h = dt / substeps as f64;
    for _ in 0..substeps {
        step(grid, velocity, nu, h);
    }
    substeps
}

fn step(grid: &Grid, velocity: &mut Velocity, nu: f64, dt: f64) {
    let (nx, ny) = (grid.nx, grid.ny);
    let (cx, cy) = (nu * dt / (grid.dx() * grid.dx()), nu * dt / (grid.dy() * grid.dy()));
    let sides = grid.sides;
    let periodic_x = sides.periodic_x();
    let periodic_y = sides.periodic_y();

    let u = &velocity.u;
    let w = nx + 1;
    let mut new_u = u.clone();
    let i_range = if periodic_x { 0..nx } else { 1..nx };
    for j in 0..ny {
        for i in i_range.clone() {
            let c = u[j * w + i];
            let west = if i == 0 { u[j * w + nx - 1] } else { u[j * w + i - 1] };
            let east = u[j * w + i + 1];
            let south = match (j, periodic_y) {
                (0, true) => u[(ny - 1) * w + i],
                (0, false) => sides.bottom.tangential_ghost(c),
                _ => u[(j - 1) * w + i],
            };
            let north = match (j + 1 == ny, periodic_y) {
                (true, true) => u[i],
                (true, false) => sides.top.tangential_ghost(c),
                _ => u[(j + 1) * w + i],
            };
            new_u[j * w + i] = c + cx * (west + east - 2.0 * c) + cy * (south + north - 2.0 * c);
        }
    }

    let v = &velocity.v;
    let mut new_v = v.clone();
    let j_range = if periodic_y { 0..ny } else { 1..ny };
    for j in j_range {
        for i in 0..nx {
            let c = v[j * nx + i];
            let south = if j == 0 { v[(ny - 1) * nx + i] } else { v[(j - 1) * nx + i] };
            let north = v[(j + 1) * nx + i];
            let west = match (i, periodic_x) {
                (0, true) => v[j * nx + nx - 1],
                (0, false) => sides.left.tangential_ghost(c),
                _ => v[j * nx + i - 1],
            };
            let east = match (i + 1 == nx, periodic_x) {
                (true, true) => v[j * nx],
                (true, false) => sides.right.tangential_ghost(c),
                _ => v[j * nx + i + 1],
            };
            new_v[j * nx + i] = c + cx * (west + east - 2.0 * c) + cy * (south + north - 2.0 * c);
        }
    }
    velocity.u = new_u;
    velocity.v = new_v;
    apply_boundaries(grid, velocity);
}

/// Backward-Euler viscosity, (1 − ν dt ∇²) u' = u for each velocity component.
#[derive(Clone)]
pub struct ImplicitViscosity {
    pub u: Component,
    pub v: Component,
}

/// One component's Helmholtz system (σ − ∇²) x' = σ x with σ = 1 / (ν dt). Its unknowns are
/// the component's faces; the faces whose values the boundaries fix (wall-normal, inflow,
/// outflow and obstacle faces) are decoupled and enter the right-hand side of their neighbours.
#[derive(Clone)]
pub struct Component {
    pub solver: PressureSolver,
    pub operator: Operator,
    /// Length of a row of the component's array (the unknowns' rows may be one shorter, when
    /// the duplicated face of a periodic axis is left out).
    pub stride: usize,
    /// Per unknown: the weight of its west, east, south and north neighbour's value when that
    /// neighbour is a decoupled face (0 otherwise).
    pub known: Vec<[f64; 4]>,
    /// Per unknown: the right-hand side's share of moving walls (2 w × wall speed).
    pub constant: Vec<f64>,
}

/// The closure a tangential component meets at a side, and the wall's speed along it.
fn tangential(side: Side) -> (Closure, f64) {
    match side {
        Side::NoSlip { tangential } => (Closure::Face, tangential),
        Side::Inflow { .. } => (Closure::Face, 0.0),
        Side::FreeSlip | Side::Outflow { .. } | Side::Periodic => (Closure::Neumann, 0.0),
    }
}

impl Component {
    fn new(operator: Operator, stride: usize, walls: [(Closure, f64); 4], tolerance: f64) -> Self {
        let cells = operator.nx * operator.ny;
        let solid = |n: usize| !operator.solid.is_empty() && operator.solid[n];
        let weights = [operator.wx, operator.wx, operator.wy, operator.wy];
        let mut known = vec![[0.0; 4]; cells];
        let mut constant = vec![0.0; cells];
        for k in (0..cells).filter(|&k| !solid(k)) {
            for (d, neighbour) in operator.neighbours(k).into_iter().enumerate() {
                match neighbour {
                    Some(n) if solid(n) => known[k][d] = weights[d],
                    None if walls[d].0 == Closure::Face => {
                        constant[k] += 2.0 * weights[d] * walls[d].1
                    }
                    _ => {}
                }
            }
        }
        let solver = PressureSolver::for_operator(operator.clone(), tolerance);
        Self { solver, operator, stride, known, constant }
    }

    /// The x-component: unknowns on the x-faces, the faces on the left and right sides (unless
    /// periodic) and those touching an obstacle decoupled.
    fn x(grid: &Grid, tolerance: f64) -> Self {
        let (nx, ny) = (grid.nx, grid.ny);
        let periodic = grid.sides.periodic_x();
        let columns = if periodic { nx } else { nx + 1 };
        let sides = [grid.sides.left, grid.sides.right, grid.sides.bottom, grid.sides.top];
        let walls = [
            (Closure::Cell, 0.0),
            (Closure::Cell, 0.0),
            tangential(sides[2]),
            tangential(sides[3]),
        ];
        let solid = (0..columns * ny)
            .map(|k| {
                let (i, j) = (k % columns, k / columns);
                let west = if i == 0 { periodic.then(|| nx - 1) } else { Some(i - 1) };
                let east = (i < nx).then_some(i);
                west.is_none_or(|w| grid.is_solid(w, j)) || east.is_none_or(|e| grid.is_solid(e, j))
            })
            .collect();
        Self::new(
            Operator {
                nx: columns,
                ny,
                wx: 1.0 / (grid.dx() * grid.dx()),
                wy: 1.0 / (grid.dy() * grid.dy()),
                periodic_x: periodic,
                periodic_y: grid.sides.periodic_y(),
                sides: walls.map(|w| w.0),
                obstacle: Closure::Cell,
                solid,
            },
            nx + 1,
            walls,
            tolerance,
        )
    }

    /// The y-component, like [`Component::x`] with the axes swapped.
    fn y(grid: &Grid, tolerance: f64) -> Self {
        let (nx, ny) = (grid.nx, grid.ny);
        let periodic = grid.sides.periodic_y();
        let rows = if periodic { ny } else { ny + 1 };
        let sides = [grid.sides.left, grid.sides.right, grid.sides.bottom, grid.sides.top];
        let walls = [
            tangential(sides[0]),
            tangential(sides[1]),
            (Closure::Cell, 0.0),
            (Closure::Cell, 0.0),
        ];
        let solid = (0..nx * rows)
            .map(|k| {
                let (i, j) = (k % nx, k / nx);
                let south = if j == 0 { periodic.then(|| ny - 1) } else { Some(j - 1) };
                let north = (j < ny).then_some(j);
                south.is_none_or(|s| grid.is_solid(i, s))
                    || north.is_none_or(|n| grid.is_solid(i, n))
            })
            .collect();
        Self::new(
            Operator {
                nx,
                ny: rows,
                wx: 1.0 / (grid.dx() * grid.dx()),
                wy: 1.0 / (grid.dy() * grid.dy()),
                periodic_x: grid.sides.periodic_x(),
                periodic_y: periodic,
                sides: walls.map(|w| w.0),
                obstacle: Closure::Cell,
                solid,
            },
            nx,
            walls,
            tolerance,
        )
    }

    fn is_solid(&self, k: usize) -> bool {
        !self.operator.solid.is_empty() && self.operator.solid[k]
    }

    /// Replaces the component's values `data` by the solution of (σ − ∇²) x' = σ x.
    pub fn solve(&mut self, data: &mut [f64], shift: f64) -> SolveStats {
        let columns = self.operator.nx;
        let cells = columns * self.operator.ny;
        let at = |k: usize| (k / columns) * self.stride + k % columns;
        let old: Vec<f64> = (0..cells).map(|k| data[at(k)]).collect();
        let rhs: Vec<f64> = (0..cells)
            .map(|k| {
                if self.is_solid(k) {
                    return 0.0;
                }
                let given: f64 = self
                    .operator
                    .neighbours(k)
                    .iter()
                    .zip(&self.known[k])
                    .filter_map(|(n, w)| n.map(|n| w * old[n]))
                    .sum();
                shift * old[k] + given + self.constant[k]
            })
            .collect();
        let mut x: Vec<f64> =
            (0..cells).map(|k| if self.is_solid(k) { 0.0 } else { old[k] }).collect();
        self.solver.set_shift(shift);
        let stats = self.solver.solve(&rhs, &mut x);
        for k in (0..cells).filter(|&k| !self.is_solid(k)) {
            data[at(k)] = x[k];
        }
        stats
    }
}

impl ImplicitViscosity {
    pub fn new(grid: &Grid, tolerance: f64) -> Self {
        Self { u: Component::x(grid, tolerance), v: Component::y(grid, tolerance) }
    }

    /// One backward-Euler viscosity step of `dt`; returns the harder of the two solves.
    pub fn step(&mut self, grid: &Grid, velocity: &mut Velocity, nu: f64, dt: f64) -> SolveStats {
        if nu <= 0.0 || dt <= 0.0 {
            return SolveStats::default();
        }
        let shift = 1.0 / (nu * dt);
        let a = self.u.solve(&mut velocity.u, shift);
        let b = self.v.solve(&mut velocity.v, shift);
        apply_boundaries(grid, velocity);
        SolveStats {
            iterations: a.iterations.max(b.iterations),
            residual: a.residual.max(b.residual),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{Side, Sides};
    use std::f64::consts::TAU;

    #[test]
    fn a_shear_wave_decays_at_the_viscous_rate() {
        // u = sin(2πy) decays as exp(−4π²νt) on a periodic box.
        let grid = Grid::new(8, 64, 1.0, 1.0, Sides::periodic()).unwrap();
        let mut velocity = Velocity::from_fn(&grid, |_, y| (TAU * y).sin(), |_, _| 0.0);
        let initial = velocity.clone();
        let (nu, t) = (0.01, 2.0);
        explicit(&grid, &mut velocity, nu, t);
        let ratio: f64 = velocity.u.iter().zip(&initial.u).map(|(a, b)| a * b).sum::<f64>()
            / initial.u.iter().map(|b| b * b).sum::<f64>();
        let exact = (-TAU * TAU * nu * t).exp();
        assert!((ratio - exact).abs() / exact < 2e-3, "ratio {ratio} vs {exact}");
    }

    #[test]
    fn a_moving_lid_drags_the_fluid_below_it() {
        let sides = Sides {
            left: Side::NoSlip { tangential: 0.0 },
            right: Side::NoSlip { tangential: 0.0 },
            bottom: Side::NoSlip { tangential: 0.0 },
            top: Side::NoSlip { tangential: 1.0 },
        };
        let grid = Grid::new(16, 16, 1.0, 1.0, sides).unwrap();
        let mut velocity = Velocity::zeros(&grid);
        explicit(&grid, &mut velocity, 0.1, 0.05);
        let top_row = &velocity.u[15 * 17..16 * 17];
        assert!(top_row[8] > 0.1 && velocity.u[8] < top_row[8]);
        assert_eq!((top_row[0], top_row[16]), (0.0, 0.0), "walls keep zero normal velocity");
    }

    #[test]
    fn an_implicit_step_damps_a_shear_wave_by_the_backward_euler_factor() {
        // u = sin(2πy) is an eigenvector of the discrete Laplacian: one step of any size
        // divides it by 1 + ν dt λ.
        let ny = 32;
        let grid = Grid::new(8, ny, 1.0, 1.0, Sides::periodic()).unwrap();
        let mut velocity = Velocity::from_fn(&grid, |_, y| (TAU * y).sin(), |_, _| 0.0);
        let initial = velocity.clone();
        let (nu, dt) = (0.01, 50.0 * explicit_limit(&grid, 0.01));
        let mut implicit = ImplicitViscosity::new(&grid, 1e-12);
        let stats = implicit.step(&grid, &mut velocity, nu, dt);
        let dy = grid.dy();
        let lambda = (2.0 - 2.0 * (TAU * dy).cos()) / (dy * dy);
        let factor = 1.0 / (1.0 + nu * dt * lambda);
        let worst = velocity
            .u
            .iter()
            .zip(&initial.u)
            .map(|(a, b)| (a - factor * b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-10, "worst {worst}, factor {factor}, {stats:?}");
        assert!(stats.iterations > 0 && stats.iterations < 20, "{stats:?}");
    }

    fn lid_box(obstacle: bool) -> Grid {
        let wall = Side::NoSlip { tangential: 0.0 };
        let sides =
            Sides { left: wall, right: wall, bottom: wall, top: Side::NoSlip { tangential: 1.0 } };
        let grid = Grid::new(24, 20, 1.2, 1.0, sides).unwrap();
        if obstacle {
            grid.with_obstacle(|x, y| (x - 0.6).powi(2) + (y - 0.5).powi(2) < 0.04)
        } else {
            grid
        }
    }

    #[test]
    fn a_flow_past_the_sub_step_cap_solves_viscosity_implicitly() {
        use crate::{Advection, IncompressibleFlow};
        let grid = lid_box(true);
        let dt = 0.01;
        let nu = 10.0;
        assert!(substeps(&grid, nu, dt) > MAX_EXPLICIT_SUBSTEPS);
        let mut flow = IncompressibleFlow::new(
            grid.clone(),
            Velocity::zeros(&grid),
            nu,
            Advection::MacCormack,
            1e-6,
        );
        flow.step(dt).unwrap();
        assert!(flow.last.implicit_fallback);
        assert_eq!(flow.last.diffusion_substeps, 0);
        assert!(flow.last.viscous.iterations > 0);
        // Below the cap it stays explicit.
        flow.step(dt / 100.0).unwrap();
        assert!(!flow.last.implicit_fallback && flow.last.diffusion_substeps > 0);
    }

    #[test]
    fn implicit_steps_far_beyond_the_explicit_limit_stay_bounded() {
        let grid = lid_box(true);
        let mut velocity = Velocity::zeros(&grid);
        let dt = 100.0 * explicit_limit(&grid, 0.1);
        let mut implicit = ImplicitViscosity::new(&grid, 1e-8);
        for _ in 0..5 {
            implicit.step(&grid, &mut velocity, 0.1, dt);
        }
        // The maximum principle: nothing moves faster than the lid; the lid drags the fluid.
        assert!(velocity.max_abs() <= 1.0 + 1e-9, "{}", velocity.max_abs());
        let below_lid = velocity.u[19 * 25 + 12];
        assert!(below_lid > 0.3, "{below_lid}");
        let (nx, w) = (grid.nx, grid.nx + 1);
        for j in 0..grid.ny {
            for i in 0..nx {
                if grid.is_solid(i, j) {
                    assert_eq!((velocity.u[j * w + i], velocity.u[j * w + i + 1]), (0.0, 0.0));
                }
            }
        }
    }

    #[test]
    fn implicit_and_explicit_agree_for_small_steps() {
        let grid = lid_box(true);
        let start =
            Velocity::from_fn(&grid, |x, y| (3.0 * x).sin() * y, |x, y| x * (2.0 * y).cos());
        let (nu, dt) = (0.05, 0.2 * explicit_limit(&grid, 0.05));
        let (mut a, mut b) = (start.clone(), start.clone());
        let mut implicit = ImplicitViscosity::new(&grid, 1e-12);
        for _ in 0..40 {
            explicit(&grid, &mut a, nu, dt);
            implicit.step(&grid, &mut b, nu, dt);
        }
        let change: f64 = a.u.iter().zip(&start.u).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        let gap: f64 =
            a.u.iter()
                .zip(&b.u)
                .chain(a.v.iter().zip(&b.v))
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
        // Both are first order in time: they differ by O(dt), far less than what changed.
        assert!(gap < 0.05 * change, "gap {gap}, change {change}");
    }
}
