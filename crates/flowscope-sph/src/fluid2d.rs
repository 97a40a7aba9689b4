//! What the 2D particle solvers share: the fluid particles and their conserved quantities, and
//! the neighbour grid over a tank.

use crate::kernel::{Kernel, Shape};
use crate::neighbours::CellList;
use crate::tank::Tank;
use crate::wcsph::SphError;

/// Equal-mass fluid particles.
#[derive(Clone, Debug)]
pub struct Particles {
    pub x: Vec<[f64; 2]>,
    pub v: Vec<[f64; 2]>,
    pub mass: f64,
}

impl Particles {
    pub fn at_rest(x: Vec<[f64; 2]>, mass: f64) -> Self {
        Self { v: vec![[0.0; 2]; x.len()], x, mass }
    }

    pub fn len(&self) -> usize {
        self.x.len()
    }

    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    pub fn total_mass(&self) -> f64 {
        self.mass * self.x.len() as f64
    }

    pub fn momentum(&self) -> [f64; 2] {
        let sum = self.v.iter().fold([0.0; 2], |s, v| [s[0] + v[0], s[1] + v[1]]);
        [self.mass * sum[0], self.mass * sum[1]]
    }

    pub fn kinetic_energy(&self) -> f64 {
        0.5 * self.mass * self.v.iter().map(|v| v[0] * v[0] + v[1] * v[1]).sum::<f64>()
    }

    pub fn max_speed(&self) -> f64 {
        self.v.iter().map(|v| v[0].hypot(v[1])).fold(0.0, f64::max)
    }

    /// The largest x of any particle (a dam break's surge front).
    pub fn front(&self) -> f64 {
        self.x.iter().map(|x| x[0]).fold(f64::MIN, f64::max)
    }

    /// How many particles went through a wall: past the centres of its first particle layer,
    /// half a spacing beyond the wall's surface (a thin free layer may slide onto the surface).
    pub fn escaped(&self, tank: &Tank) -> usize {
        let skin = 0.5 * tank.dx;
        self.x.iter().filter(|x| x[0] < -skin || x[0] > tank.width + skin || x[1] < -skin).count()
    }

    /// The first non-finite position or velocity component, if any.
    pub fn non_finite(&self) -> Option<f64> {
        self.x.iter().chain(&self.v).flatten().copied().find(|v| !v.is_finite())
    }
}

/// A neighbour grid over the tank, its walls and twice its height (particles thrown higher
/// share the top row of cells), holding `all` particles.
pub fn cell_list(tank: &Tank, radius: f64, all: &[[f64; 2]]) -> CellList {
    let margin = tank.layers as f64 * tank.dx;
    let mut list = CellList::new(
        [-margin, -margin],
        [tank.width + margin, 2.0 * tank.height],
        radius,
        [false, false],
    );
    list.build(all);
    list
}

/// How far the pressures of fluid at rest are from hydrostatics: the largest relative deviation
/// of the mean pressure in eight depth bands from ρ0 g h at the band's mean depth h, measured
/// from the free surface (the highest particle plus half a spacing). The top band, where the
/// free surface truncates the kernel, is left out.
pub fn hydrostatic_deviation(x: &[[f64; 2]], pressures: &[f64], dx: f64, rho0: f64, g: f64) -> f64 {
    let surface = x.iter().map(|x| x[1]).fold(f64::MIN, f64::max) + 0.5 * dx;
    let bands = 8;
    let mut worst: f64 = 0.0;
    for band in 1..bands {
        let (lo, hi) =
            (band as f64 * surface / bands as f64, (band + 1) as f64 * surface / bands as f64);
        let members: Vec<usize> =
            (0..x.len()).filter(|&i| (lo..hi).contains(&(surface - x[i][1]))).collect();
        if members.is_empty() {
            continue;
        }
        let n = members.len() as f64;
        let p = members.iter().map(|&i| pressures[i]).sum::<f64>() / n;
        let h = members.iter().map(|&i| surface - x[i][1]).sum::<f64>() / n;
        worst = worst.max((p - rho0 * g * h).abs() / (rho0 * g * h));
    }
    worst
}

/// The 2D kernel and smoothing length for fluid in `tank`, after checking that there is fluid
/// and that the wall layers cover the kernel's support.
pub fn kernel_for(
    tank: &Tank,
    fluid: &[[f64; 2]],
    shape: Shape,
    h_factor: f64,
) -> Result<(Kernel, f64), SphError> {
    if fluid.is_empty() {
        return Err(SphError::Setup("the tank holds no fluid particles".into()));
    }
    let (kernel, h) = (Kernel::new(shape, 2), h_factor * tank.dx);
    if (tank.layers as f64) * tank.dx < kernel.support(h) {
        return Err(SphError::Setup(format!(
            "{} wall layers do not cover the kernel support {:.3}; use more layers",
            tank.layers,
            kernel.support(h)
        )));
    }
    Ok((kernel, h))
}
