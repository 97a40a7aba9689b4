//! The staggered grid: `nx × ny` cells on `[0, lx] × [0, ly]`; `u` on the x-faces at
//! `(i dx, (j + ½) dy)`, `(nx + 1) × ny` values; `v` on the y-faces at `((i + ½) dx, j dy)`,
//! `nx × (ny + 1)` values; pressure and scalars at cell centres. All row-major, `j` from the
//! bottom.

/// The condition on one side of the domain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Side {
    /// Wraps around to the opposite side (which must be periodic too).
    Periodic,
    /// A wall where the fluid sticks: zero normal velocity, tangential velocity equal to the
    /// wall's (`tangential`, e.g. 1 for a moving lid).
    NoSlip { tangential: f64 },
    /// A wall the fluid slides along: zero normal velocity, zero tangential stress.
    FreeSlip,
    /// Fluid enters with normal speed `speed` (the peak of a parabola across the side when
    /// `parabolic`), and no tangential velocity. Left side only.
    Inflow { speed: f64, parabolic: bool },
    /// Fluid leaves freely, pressure zero on the side. Right side only. The outflow face takes
    /// its upstream neighbour's value (zero gradient) or, `convective`, is carried out by the
    /// flow itself (∂u/∂t + u·∇u = 0 there, solved by the advection's own trace-back), which lets
    /// vortices leave with less reflection.
    Outflow { convective: bool },
}

impl Side {
    /// The value beyond this side of a tangential velocity component whose nearest interior
    /// value is `inside`, so that the side's condition holds on the side itself.
    pub fn tangential_ghost(self, inside: f64) -> f64 {
        match self {
            Side::NoSlip { tangential } => 2.0 * tangential - inside,
            Side::Inflow { .. } => -inside,
            Side::FreeSlip | Side::Outflow { .. } | Side::Periodic => inside,
        }
    }
}

/// Conditions on the four sides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sides {
    pub left: Side,
    pub right: Side,
    pub bottom: Side,
    pub top: Side,
}

impl Sides {
    pub fn periodic() -> Self {
        Self {
            left: Side::Periodic,
            right: Side::Periodic,
            bottom: Side::Periodic,
            top: Side::Periodic,
        }
    }

    pub fn periodic_x(&self) -> bool {
        self.left == Side::Periodic
    }

    pub fn periodic_y(&self) -> bool {
        self.bottom == Side::Periodic
    }
}

/// Grid geometry, boundary conditions and static obstacles.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub nx: usize,
    pub ny: usize,
    pub lx: f64,
    pub ly: f64,
    pub sides: Sides,
    /// Cells inside an obstacle (no-slip, at rest); empty when there are none.
    pub solid: std::sync::Arc<[bool]>,
    /// The heights between which an inflow side lets fluid in (the whole side by default).
    pub inflow_span: (f64, f64),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GridError {
    #[error("a grid needs at least 4 × 4 cells, got {0} × {1}")]
    TooSmall(usize, usize),
    #[error(
        "periodic sides come in pairs: left/right and bottom/top must both be periodic or neither"
    )]
    UnpairedPeriodic,
    #[error("inflow is supported on the left side and outflow on the right side only")]
    OpenSidePlacement,
}

impl Grid {
    pub fn new(nx: usize, ny: usize, lx: f64, ly: f64, sides: Sides) -> Result<Self, GridError> {
        if nx < 4 || ny < 4 {
            return Err(GridError::TooSmall(nx, ny));
        }
        let paired = |a: Side, b: Side| (a == Side::Periodic) == (b == Side::Periodic);
        if !paired(sides.left, sides.right) || !paired(sides.bottom, sides.top) {
            return Err(GridError::UnpairedPeriodic);
        }
        let open = |s: Side| matches!(s, Side::Inflow { .. } | Side::Outflow { .. });
        if open(sides.bottom)
            || open(sides.top)
            || matches!(sides.right, Side::Inflow { .. })
            || matches!(sides.left, Side::Outflow { .. })
        {
            return Err(GridError::OpenSidePlacement);
        }
        Ok(Self {
            nx,
            ny,
            lx,
            ly,
            sides,
            solid: std::sync::Arc::from(Vec::new()),
            inflow_span: (0.0, ly),
        })
    }

    /// The same grid with inflow only between heights `y0` and `y1` (e.g. above a step).
    pub fn with_inflow_span(mut self, y0: f64, y1: f64) -> Self {
        self.inflow_span = (y0.max(0.0), y1.min(self.ly));
        self
    }

    /// The same grid with the cells where `inside(x, y)` holds (at cell centres) made solid.
    pub fn with_obstacle(mut self, inside: impl Fn(f64, f64) -> bool) -> Self {
        let (dx, dy) = (self.dx(), self.dy());
        let mask: Vec<bool> = (0..self.cells())
            .map(|k| {
                let previous = self.solid.get(k).copied().unwrap_or(false);
                previous
                    || inside(((k % self.nx) as f64 + 0.5) * dx, ((k / self.nx) as f64 + 0.5) * dy)
            })
            .collect();
        self.solid = mask.into();
        self
    }

    /// Whether cell `(i, j)` is inside an obstacle.
    #[inline]
    pub fn is_solid(&self, i: usize, j: usize) -> bool {
        !self.solid.is_empty() && self.solid[j * self.nx + i]
    }

    /// Normal inflow speed at height `y` on the left side: zero unless it is an inflow and `y`
    /// lies in the inflow span, across which a parabolic profile runs.
    pub fn inflow_at(&self, y: f64) -> f64 {
        let (y0, y1) = self.inflow_span;
        if !(y0..=y1).contains(&y) {
            return 0.0;
        }
        match self.sides.left {
            Side::Inflow { speed, parabolic: false } => speed,
            Side::Inflow { speed, parabolic: true } => {
                4.0 * speed * (y - y0) * (y1 - y) / ((y1 - y0) * (y1 - y0))
            }
            _ => 0.0,
        }
    }

    pub fn dx(&self) -> f64 {
        self.lx / self.nx as f64
    }

    pub fn dy(&self) -> f64 {
        self.ly / self.ny as f64
    }

    pub fn u_len(&self) -> usize {
        (self.nx + 1) * self.ny
    }

    pub fn v_len(&self) -> usize {
        self.nx * (self.ny + 1)
    }

    pub fn cells(&self) -> usize {
        self.nx * self.ny
    }
}

/// Staggered velocity: `u[j * (nx + 1) + i]`, `v[j * nx + i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Velocity {
    pub u: Vec<f64>,
    pub v: Vec<f64>,
}

impl Velocity {
    pub fn zeros(grid: &Grid) -> Self {
        Self { u: vec![0.0; grid.u_len()], v: vec![0.0; grid.v_len()] }
    }

    /// Samples `fu(x, y)` and `fv(x, y)` at the face centres.
    pub fn from_fn(
        grid: &Grid,
        fu: impl Fn(f64, f64) -> f64,
        fv: impl Fn(f64, f64) -> f64,
    ) -> Self {
        let (dx, dy) = (grid.dx(), grid.dy());
        let mut velocity = Self::zeros(grid);
        for j in 0..grid.ny {
            for i in 0..=grid.nx {
                velocity.u[j * (grid.nx + 1) + i] = fu(i as f64 * dx, (j as f64 + 0.5) * dy);
            }
        }
        for j in 0..=grid.ny {
            for i in 0..grid.nx {
                velocity.v[j * grid.nx + i] = fv((i as f64 + 0.5) * dx, j as f64 * dy);
            }
        }
        apply_boundaries(grid, &mut velocity);
        velocity
    }

    /// Largest speed component, for the CFL condition.
    pub fn max_abs(&self) -> f64 {
        self.u.iter().chain(&self.v).fold(0.0f64, |m, x| m.max(x.abs()))
    }

    /// Velocity averaged to cell centres, `(ux, uy)`, each `nx × ny`.
    pub fn centred(&self, grid: &Grid) -> (Vec<f64>, Vec<f64>) {
        let (nx, ny) = (grid.nx, grid.ny);
        let mut ux = vec![0.0; nx * ny];
        let mut uy = vec![0.0; nx * ny];
        for j in 0..ny {
            for i in 0..nx {
                ux[j * nx + i] = 0.5 * (self.u[j * (nx + 1) + i] + self.u[j * (nx + 1) + i + 1]);
                uy[j * nx + i] = 0.5 * (self.v[j * nx + i] + self.v[(j + 1) * nx + i]);
            }
        }
        (ux, uy)
    }

    /// Divergence per cell, `(u[i+1] − u[i]) / dx + (v[j+1] − v[j]) / dy`.
    pub fn divergence(&self, grid: &Grid) -> Vec<f64> {
        let (nx, ny, dx, dy) = (grid.nx, grid.ny, grid.dx(), grid.dy());
        let mut div = vec![0.0; nx * ny];
        for j in 0..ny {
            for i in 0..nx {
                let du = self.u[j * (nx + 1) + i + 1] - self.u[j * (nx + 1) + i];
                let dv = self.v[(j + 1) * nx + i] - self.v[j * nx + i];
                div[j * nx + i] = du / dx + dv / dy;
            }
        }
        div
    }

    /// Vorticity ∂v/∂x − ∂u/∂y, averaged from cell corners to cell centres.
    pub fn vorticity(&self, grid: &Grid) -> Vec<f64> {
        let (nx, ny, dx, dy) = (grid.nx, grid.ny, grid.dx(), grid.dy());
        let u = |i: usize, j: isize| -> f64 {
            let jj = j.clamp(0, ny as isize - 1) as usize;
            let value = self.u[jj * (nx + 1) + i];
            if (0..ny as isize).contains(&j) {
                return value;
            }
            // Beyond a wall: the ghost that puts the wall's velocity on the wall.
            let side = if j < 0 { grid.sides.bottom } else { grid.sides.top };
            match side {
                Side::Periodic => self.u[(j.rem_euclid(ny as isize) as usize) * (nx + 1) + i],
                other => other.tangential_ghost(value),
            }
        };
        let v = |i: isize, j: usize| -> f64 {
            let ii = i.clamp(0, nx as isize - 1) as usize;
            let value = self.v[j * nx + ii];
            if (0..nx as isize).contains(&i) {
                return value;
            }
            let side = if i < 0 { grid.sides.left } else { grid.sides.right };
            match side {
                Side::Periodic => self.v[j * nx + i.rem_euclid(nx as isize) as usize],
                other => other.tangential_ghost(value),
            }
        };
        // Corner (i, j) sits at (i dx, j dy).
        let corner = |i: usize, j: usize| -> f64 {
            let dvdx = (v(i as isize, j) - v(i as isize - 1, j)) / dx;
            let dudy = (u(i, j as isize) - u(i, j as isize - 1)) / dy;
            dvdx - dudy
        };
        let mut w = vec![0.0; nx * ny];
        for j in 0..ny {
            for i in 0..nx {
                w[j * nx + i] = 0.25
                    * (corner(i, j) + corner(i + 1, j) + corner(i, j + 1) + corner(i + 1, j + 1));
            }
        }
        w
    }
}

/// Enforces the boundary conditions on the normal velocity at the domain sides and obstacles:
/// zero through walls and obstacle faces, the inflow profile on an inflow side, the duplicated
/// face of a periodic axis copied from its twin, and a zero-gradient outflow face.
pub fn apply_boundaries(grid: &Grid, velocity: &mut Velocity) {
    enforce(grid, velocity, true);
}

/// [`apply_boundaries`] without the outflow extrapolation: after a projection the outflow face
/// carries the velocity that makes its cell divergence-free.
pub fn apply_walls(grid: &Grid, velocity: &mut Velocity) {
    enforce(grid, velocity, false);
}

fn enforce(grid: &Grid, velocity: &mut Velocity, extrapolate_outflow: bool) {
    let (nx, ny, dy) = (grid.nx, grid.ny, grid.dy());
    for j in 0..ny {
        let row = j * (nx + 1);
        if grid.sides.periodic_x() {
            velocity.u[row + nx] = velocity.u[row];
            continue;
        }
        velocity.u[row] = grid.inflow_at((j as f64 + 0.5) * dy);
        match grid.sides.right {
            Side::Outflow { convective: false } if extrapolate_outflow => {
                velocity.u[row + nx] = velocity.u[row + nx - 1]
            }
            Side::Outflow { .. } => {}
            _ => velocity.u[row + nx] = 0.0,
        }
    }
    for i in 0..nx {
        if grid.sides.periodic_y() {
            velocity.v[ny * nx + i] = velocity.v[i];
        } else {
            velocity.v[i] = 0.0;
            velocity.v[ny * nx + i] = 0.0;
        }
    }
    if grid.solid.is_empty() {
        return;
    }
    for j in 0..ny {
        for i in 0..nx {
            if grid.is_solid(i, j) {
                velocity.u[j * (nx + 1) + i] = 0.0;
                velocity.u[j * (nx + 1) + i + 1] = 0.0;
                velocity.v[j * nx + i] = 0.0;
                velocity.v[(j + 1) * nx + i] = 0.0;
            }
        }
    }
}
