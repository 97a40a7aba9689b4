//! Advection of staggered velocity and cell-centred scalars by the velocity itself.
//!
//! `semi_lagrangian`: trace each sample point back through the flow (midpoint rule, or Euler
//! like PhiFlow's default: [`Integrator`]) and interpolate bilinearly there. `mac_cormack`: a semi-Lagrangian step forward, one back, and
//! half the round-trip error added as a correction, clamped to the values the forward step
//! interpolated between (Selle et al. 2008; PhiFlow's `advect.mac_cormack`).

use crate::grid::{apply_boundaries, Grid, Velocity};

/// How a sample point is traced back through the flow (PhiFlow's `integrator`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Integrator {
    /// `x − dt·u(x − ½ dt·u(x))`: second order, two velocity lookups.
    #[default]
    Midpoint,
    /// `x − dt·u(x)`: first order, one lookup; PhiFlow's default.
    Euler,
}

/// One staggered component: `w × h` samples, sample `(k, l)` at `((k + ox) dx, (l + oy) dy)`,
/// with what bilinear lookups need precomputed (this is the solver's innermost loop).
#[derive(Clone, Copy)]
struct Layout {
    w: usize,
    h: usize,
    ox: f64,
    oy: f64,
    /// Distinct samples along a periodic axis (`nx` for `u`, whose last column repeats the first).
    period_x: Option<usize>,
    period_y: Option<usize>,
    dx: f64,
    dy: f64,
    inv_dx: f64,
    inv_dy: f64,
}

impl Layout {
    fn new(grid: &Grid, (w, h): (usize, usize), (ox, oy): (f64, f64)) -> Self {
        let (dx, dy) = (grid.dx(), grid.dy());
        Self {
            w,
            h,
            ox,
            oy,
            period_x: grid.sides.periodic_x().then_some(grid.nx),
            period_y: grid.sides.periodic_y().then_some(grid.ny),
            dx,
            dy,
            inv_dx: 1.0 / dx,
            inv_dy: 1.0 / dy,
        }
    }

    fn u(grid: &Grid) -> Self {
        Self::new(grid, (grid.nx + 1, grid.ny), (0.0, 0.5))
    }

    fn v(grid: &Grid) -> Self {
        Self::new(grid, (grid.nx, grid.ny + 1), (0.5, 0.0))
    }

    fn centred(grid: &Grid) -> Self {
        Self::new(grid, (grid.nx, grid.ny), (0.5, 0.5))
    }

    #[inline]
    fn position(&self, k: usize, l: usize) -> (f64, f64) {
        ((float(k) + self.ox) * self.dx, (float(l) + self.oy) * self.dy)
    }

    /// The four sample indices around `(x, y)` and the weights of the second ones.
    #[inline(always)]
    fn locate(&self, x: f64, y: f64) -> ([usize; 4], f64, f64) {
        let (i0, i1, fx) = axis(x * self.inv_dx - self.ox, self.w, self.period_x);
        let (j0, j1, fy) = axis(y * self.inv_dy - self.oy, self.h, self.period_y);
        let (r0, r1) = (j0 * self.w, j1 * self.w);
        ([r0 + i0, r0 + i1, r1 + i0, r1 + i1], fx, fy)
    }

    /// Bilinear value of `data` at `(x, y)`.
    #[inline(always)]
    fn value(&self, data: &[f64], x: f64, y: f64) -> f64 {
        let ([k00, k10, k01, k11], fx, fy) = self.locate(x, y);
        mix(data[k00], data[k10], data[k01], data[k11], fx, fy)
    }
}

#[inline(always)]
fn mix(a: f64, b: f64, c: f64, d: f64, fx: f64, fy: f64) -> f64 {
    (a * (1.0 - fx) + b * fx) * (1.0 - fy) + (c * (1.0 - fx) + d * fx) * fy
}

/// An index as a float. Through i64: on baseline x86-64 the signed conversion is one
/// instruction, the unsigned one several, and this sits in the solver's innermost loop.
#[inline(always)]
fn float(index: usize) -> f64 {
    index as i64 as f64
}

/// The two neighbouring indices and the weight of the second along one axis, in sample units.
/// (Truncation replaces `floor` where the coordinate is non-negative: `floor` is a libm call
/// on baseline x86-64 and dominated the profile. For the same reason conversions go through
/// i64, and a periodic index wraps by a period or two before it resorts to a division.)
#[inline(always)]
fn axis(coordinate: f64, len: usize, period: Option<usize>) -> (usize, usize, f64) {
    match period {
        Some(n) => {
            let n = n as i64;
            let truncated = coordinate as i64;
            let base = truncated - i64::from((truncated as f64) > coordinate);
            let f = coordinate - base as f64;
            let a = match base {
                b if (0..n).contains(&b) => b,
                b if (-n..0).contains(&b) => b + n,
                b if (n..2 * n).contains(&b) => b - n,
                b => b.rem_euclid(n),
            };
            (a as usize, if a + 1 == n { 0 } else { a as usize + 1 }, f)
        }
        None => {
            let c = coordinate.clamp(0.0, float(len - 1));
            let a = (c as i64).min(len as i64 - 2);
            (a as usize, a as usize + 1, c - a as f64)
        }
    }
}

/// Where one layout's samples fall in another's, axis by axis: what `locate` computes for each
/// sample point, once per column and once per row (the first lookup of every trace-back starts
/// at a sample point, so it needs no clamping or rounding per sample).
struct Stencil {
    columns: Vec<(usize, usize, f64)>,
    rows: Vec<(usize, usize, f64)>,
    width: usize,
}

impl Stencil {
    fn new(target: &Layout, source: &Layout) -> Self {
        let columns = (0..target.w)
            .map(|k| {
                let x = target.position(k, 0).0;
                axis(x * source.inv_dx - source.ox, source.w, source.period_x)
            })
            .collect();
        let rows = (0..target.h)
            .map(|l| {
                let y = target.position(0, l).1;
                axis(y * source.inv_dy - source.oy, source.h, source.period_y)
            })
            .collect();
        Self { columns, rows, width: source.w }
    }

    /// Bilinear value of `data` (in the source layout) at the target's sample `(k, l)`.
    #[inline(always)]
    fn value(&self, data: &[f64], k: usize, l: usize) -> f64 {
        let (i0, i1, fx) = self.columns[k];
        let (j0, j1, fy) = self.rows[l];
        let (r0, r1) = (j0 * self.width, j1 * self.width);
        mix(data[r0 + i0], data[r0 + i1], data[r1 + i0], data[r1 + i1], fx, fy)
    }
}

/// The velocity's two layouts, for sampling it anywhere.
struct Carrier<'a> {
    velocity: &'a Velocity,
    u: Layout,
    v: Layout,
    integrator: Integrator,
}

impl<'a> Carrier<'a> {
    fn new(grid: &Grid, velocity: &'a Velocity, integrator: Integrator) -> Self {
        Self { velocity, u: Layout::u(grid), v: Layout::v(grid), integrator }
    }

    #[inline(always)]
    fn at(&self, x: f64, y: f64) -> (f64, f64) {
        (self.u.value(&self.velocity.u, x, y), self.v.value(&self.velocity.v, x, y))
    }

    /// Where the fluid at `(x, y)` was `dt` ago.
    #[cfg(test)]
    fn trace_back(&self, x: f64, y: f64, dt: f64) -> (f64, f64) {
        let (u0, v0) = self.at(x, y);
        self.trace_back_from(x, y, (u0, v0), dt)
    }

    /// Where the fluid at `(x, y)`, moving at `(u0, v0)` there, was `dt` ago.
    #[inline(always)]
    fn trace_back_from(&self, x: f64, y: f64, (u0, v0): (f64, f64), dt: f64) -> (f64, f64) {
        if self.integrator == Integrator::Euler {
            return (x - dt * u0, y - dt * v0);
        }
        let (um, vm) = self.at(x - 0.5 * dt * u0, y - 0.5 * dt * v0);
        (x - dt * um, y - dt * vm)
    }
}

/// Semi-Lagrangian transport of one component: each sample traced back, and `sample` of the
/// four values around where it came from and the bilinear weights (what the caller keeps).
fn transport<T: Copy + Default + Send>(
    data: &[f64],
    layout: &Layout,
    by: &Velocity,
    grid: &Grid,
    dt: f64,
    integrator: Integrator,
    sample: impl Fn([f64; 4], f64, f64) -> T + Sync,
) -> Vec<T> {
    let carrier = Carrier::new(grid, by, integrator);
    let (at_u, at_v) = (Stencil::new(layout, &carrier.u), Stencil::new(layout, &carrier.v));
    let mut out = vec![T::default(); layout.w * layout.h];
    let row = |(l, out): (usize, &mut [T])| {
        for (k, out) in out.iter_mut().enumerate() {
            let (x, y) = layout.position(k, l);
            let here = (at_u.value(&by.u, k, l), at_v.value(&by.v, k, l));
            let (xb, yb) = carrier.trace_back_from(x, y, here, dt);
            let ([k00, k10, k01, k11], fx, fy) = layout.locate(xb, yb);
            *out = sample([data[k00], data[k10], data[k01], data[k11]], fx, fy);
        }
    };
    flowscope_parallel::for_each_chunk_mut(&mut out, layout.w, |l, out| row((l, out)));
    out
}

/// The interpolated value.
fn value([a, b, c, d]: [f64; 4], fx: f64, fy: f64) -> f64 {
    mix(a, b, c, d, fx, fy)
}

/// The interpolated value and the least and greatest of the values it lies between.
fn value_and_bounds([a, b, c, d]: [f64; 4], fx: f64, fy: f64) -> [f64; 3] {
    [mix(a, b, c, d, fx, fy), a.min(b).min(c).min(d), a.max(b).max(c).max(d)]
}

fn mac_cormack_component(
    data: &[f64],
    layout: &Layout,
    by: &Velocity,
    grid: &Grid,
    dt: f64,
    integrator: Integrator,
) -> Vec<f64> {
    let forward = transport(data, layout, by, grid, dt, integrator, value_and_bounds);
    let moved: Vec<f64> = forward.iter().map(|[f, _, _]| *f).collect();
    let backward = transport(&moved, layout, by, grid, -dt, integrator, value);
    forward
        .iter()
        .zip(&backward)
        .zip(data)
        .map(|(([f, lo, hi], b), d)| (f + 0.5 * (d - b)).clamp(*lo, *hi))
        .collect()
}

/// Semi-Lagrangian self-advection of the velocity: u ← u(x − dt·u).
pub fn semi_lagrangian(grid: &Grid, velocity: &Velocity, dt: f64, by: Integrator) -> Velocity {
    let mut out = Velocity {
        u: transport(&velocity.u, &Layout::u(grid), velocity, grid, dt, by, value),
        v: transport(&velocity.v, &Layout::v(grid), velocity, grid, dt, by, value),
    };
    apply_boundaries(grid, &mut out);
    out
}

/// MacCormack self-advection of the velocity (second order where the flow is smooth).
pub fn mac_cormack(grid: &Grid, velocity: &Velocity, dt: f64, by: Integrator) -> Velocity {
    let mut out = Velocity {
        u: mac_cormack_component(&velocity.u, &Layout::u(grid), velocity, grid, dt, by),
        v: mac_cormack_component(&velocity.v, &Layout::v(grid), velocity, grid, dt, by),
    };
    apply_boundaries(grid, &mut out);
    out
}

/// Semi-Lagrangian transport of a cell-centred scalar by `velocity`.
pub fn scalar_semi_lagrangian(
    grid: &Grid,
    scalar: &[f64],
    velocity: &Velocity,
    dt: f64,
    by: Integrator,
) -> Vec<f64> {
    transport(scalar, &Layout::centred(grid), velocity, grid, dt, by, value)
}

/// MacCormack transport of a cell-centred scalar by `velocity`.
pub fn scalar_mac_cormack(
    grid: &Grid,
    scalar: &[f64],
    velocity: &Velocity,
    dt: f64,
    by: Integrator,
) -> Vec<f64> {
    mac_cormack_component(scalar, &Layout::centred(grid), velocity, grid, dt, by)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{Side, Sides};

    #[test]
    fn uniform_flow_translates_a_scalar_exactly_by_whole_cells() {
        let grid = Grid::new(32, 16, 32.0, 16.0, Sides::periodic()).unwrap();
        let velocity = Velocity::from_fn(&grid, |_, _| 1.0, |_, _| 0.0);
        let scalar: Vec<f64> = (0..grid.cells()).map(|k| ((k % 32) as f64 * 0.3).sin()).collect();
        for advect in [scalar_semi_lagrangian, scalar_mac_cormack] {
            let moved = advect(&grid, &scalar, &velocity, 3.0, Integrator::Midpoint);
            for j in 0..16 {
                for i in 0..32 {
                    let from = j * 32 + (i + 29) % 32;
                    assert!((moved[j * 32 + i] - scalar[from]).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn stencils_give_the_bilinear_lookups_values_bit_for_bit() {
        let wall = Side::FreeSlip;
        let walls = Sides { left: wall, right: wall, bottom: wall, top: wall };
        for sides in [Sides::periodic(), walls] {
            let grid = Grid::new(12, 7, 1.5, 0.7, sides).unwrap();
            let velocity = Velocity::from_fn(&grid, |x, y| (3.0 * x).sin() + y, |x, y| x * y);
            let layouts = [Layout::u(&grid), Layout::v(&grid), Layout::centred(&grid)];
            for target in &layouts {
                for (source, data) in [(layouts[0], &velocity.u), (layouts[1], &velocity.v)] {
                    let stencil = Stencil::new(target, &source);
                    for l in 0..target.h {
                        for k in 0..target.w {
                            let (x, y) = target.position(k, l);
                            let lookup = source.value(data, x, y);
                            assert_eq!(stencil.value(data, k, l).to_bits(), lookup.to_bits());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn euler_and_midpoint_trace_a_rotation_as_their_formulas_say() {
        let grid = Grid::new(32, 32, 1.0, 1.0, Sides::periodic()).unwrap();
        // Solid-body rotation about the centre, linear: the bilinear lookups are exact.
        let velocity = Velocity::from_fn(&grid, |_, y| -(y - 0.5), |x, _| x - 0.5);
        let (x, y, dt) = (0.6, 0.45, 0.1);
        let (rx, ry) = (x - 0.5, y - 0.5);
        let euler = Carrier::new(&grid, &velocity, Integrator::Euler).trace_back(x, y, dt);
        let midpoint = Carrier::new(&grid, &velocity, Integrator::Midpoint).trace_back(x, y, dt);
        let (ex, ey) = (x + dt * ry, y - dt * rx);
        let (mx, my) = (rx - 0.5 * dt * -ry, ry - 0.5 * dt * rx);
        let (px, py) = (x + dt * my, y - dt * mx);
        assert!((euler.0 - ex).abs() < 1e-12 && (euler.1 - ey).abs() < 1e-12, "{euler:?}");
        assert!((midpoint.0 - px).abs() < 1e-12 && (midpoint.1 - py).abs() < 1e-12);
        // The midpoint rule keeps the radius far better (error O(dt⁴) against O(dt²)).
        let radius = |(a, b): (f64, f64)| ((a - 0.5).powi(2) + (b - 0.5).powi(2)).sqrt();
        let r = radius((x, y));
        assert!((radius(midpoint) - r).abs() < 0.01 * (radius(euler) - r).abs());
    }

    #[test]
    fn mac_cormack_keeps_a_smooth_profile_sharper_than_semi_lagrangian() {
        let grid = Grid::new(64, 4, 1.0, 1.0 / 16.0, Sides::periodic()).unwrap();
        let velocity = Velocity::from_fn(&grid, |_, _| 1.0, |_, _| 0.0);
        let profile: Vec<f64> = (0..grid.cells())
            .map(|k| (std::f64::consts::TAU * ((k % 64) as f64 + 0.5) / 64.0).sin())
            .collect();
        let dt = 0.4 / 64.0;
        let (mut sl, mut mc) = (profile.clone(), profile.clone());
        for _ in 0..160 {
            sl = scalar_semi_lagrangian(&grid, &sl, &velocity, dt, Integrator::Midpoint);
            mc = scalar_mac_cormack(&grid, &mc, &velocity, dt, Integrator::Midpoint);
        }
        // After one full period the exact solution is the initial profile.
        let error =
            |f: &[f64]| f.iter().zip(&profile).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(error(&mc) < 0.5 * error(&sl), "mc {} vs sl {}", error(&mc), error(&sl));
    }
}
