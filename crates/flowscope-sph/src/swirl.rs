//! A closed square box of weakly compressible fluid set swirling by a random divergence-free
//! velocity field, no gravity: SFBC's test case II at our scale, the data and the truth of the
//! learned 2D particle solvers.

use crate::tank::Tank;
use crate::wcsph::{Integrator, SphError, Wcsph, WcsphConfig};
use crate::Shape;
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;

/// Side of the box [m].
pub const SIDE: f64 = 1.0;
/// Stream-function modes per axis (wavenumbers 1…MODES).
const MODES: usize = 3;
/// Solver steps per frame of the learned models (SFBC's frame distance).
pub const FRAME_DISTANCE: u32 = 16;

/// The walls of the box: the tank's (left, right, floor) and a lid of as many layers.
pub fn box_walls(tank: &Tank) -> Vec<[f64; 2]> {
    let (nx, ny) =
        ((tank.width / tank.dx).round() as isize, (tank.height / tank.dx).round() as isize);
    let l = tank.layers as isize;
    let mut walls = tank.walls();
    for j in ny..ny + l {
        for i in -l..nx + l {
            walls.push([(i as f64 + 0.5) * tank.dx, (j as f64 + 0.5) * tank.dx]);
        }
    }
    walls
}

/// `n × n` particles filling the box, at rest density, moving with the velocity of a random
/// stream function ψ = Σ a_kl sin(kπx) sin(lπy) (zero normal flow at the walls) scaled to a
/// peak speed `speed`; the speed of sound ten times that.
pub fn swirling_box(n: usize, speed: f64, seed: u64) -> Result<Wcsph, SphError> {
    if !(8..=256).contains(&n) {
        return Err(SphError::Setup(format!("need 8 to 256 particles across, got {n}")));
    }
    if !(speed.is_finite() && speed > 0.0) {
        return Err(SphError::Setup(format!("the peak speed must be positive, got {speed}")));
    }
    let tank = Tank { width: SIDE, height: SIDE, dx: SIDE / n as f64, layers: 3 };
    let fluid = tank.block(0.0, SIDE, 0.0, SIDE);
    let config = WcsphConfig {
        c0: 10.0 * speed,
        gravity: [0.0, 0.0],
        shape: Shape::WendlandC2,
        // The shipped 2D particle models were trained on this integrator's runs.
        integrator: Integrator::Midpoint,
        ..WcsphConfig::default()
    };
    let mut sph = Wcsph::new(tank, fluid, 0.0, config)?;
    sph.walls = box_walls(&tank);
    sph.wall_p = vec![0.0; sph.walls.len()];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // Amplitudes falling off with the wavenumber, so the large eddies lead.
    let a: Vec<f64> = (0..MODES * MODES)
        .map(|m| {
            let (k, l) = ((m / MODES + 1) as f64, (m % MODES + 1) as f64);
            rng.random_range(-1.0..1.0) / (k * k + l * l)
        })
        .collect();
    let velocity = |x: [f64; 2]| {
        let mut u = [0.0; 2];
        for (m, a) in a.iter().enumerate() {
            let (k, l) = ((m / MODES + 1) as f64 * PI, (m % MODES + 1) as f64 * PI);
            let (sx, cx) = (k * x[0] / SIDE).sin_cos();
            let (sy, cy) = (l * x[1] / SIDE).sin_cos();
            u[0] += a * l * sx * cy;
            u[1] -= a * k * cx * sy;
        }
        u
    };
    let v: Vec<[f64; 2]> = sph.fluid.x.iter().map(|&x| velocity(x)).collect();
    let peak = v.iter().map(|v| v[0].hypot(v[1])).fold(0.0, f64::max);
    sph.fluid.v = v.iter().map(|v| [v[0] * speed / peak, v[1] * speed / peak]).collect();
    Ok(sph)
}

/// The fixed solver step of a box of `n` across at peak speed `speed`: a quarter of the time
/// sound needs to cross a smoothing length.
pub fn solver_dt(sph: &Wcsph) -> f64 {
    0.25 * sph.h / (sph.config.c0 * 1.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_box_is_closed_and_its_swirl_keeps_inside() {
        let mut sph = swirling_box(24, 1.0, 5).unwrap();
        let peak = sph.fluid.max_speed();
        assert!((peak - 1.0).abs() < 1e-12, "{peak}");
        // Divergence-free start: no net flow through the box.
        let momentum = sph.fluid.momentum();
        assert!(
            momentum[0].abs() + momentum[1].abs() < 0.2 * sph.fluid.total_mass(),
            "{momentum:?}"
        );
        let dt = solver_dt(&sph);
        for _ in 0..200 {
            sph.step(dt).unwrap();
        }
        let top = sph.fluid.x.iter().map(|x| x[1]).fold(f64::MIN, f64::max);
        assert!(top < SIDE + 0.5 * sph.tank.dx, "a particle left through the lid: {top}");
        assert!(sph.fluid.max_speed() < 1.5, "{}", sph.fluid.max_speed());
        assert!(sph.density_error() < 0.02, "{}", sph.density_error());
    }

    #[test]
    fn the_same_seed_gives_the_same_start() {
        let a = swirling_box(16, 1.0, 9).unwrap();
        let b = swirling_box(16, 1.0, 9).unwrap();
        let c = swirling_box(16, 1.0, 10).unwrap();
        assert_eq!(a.fluid.v, b.fluid.v);
        assert_ne!(a.fluid.v, c.fluid.v);
    }
}
