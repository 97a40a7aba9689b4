//! Conservation in closed periodic runs: the pairwise-symmetric forces conserve linear momentum
//! to round-off (what the momentum-conserving learned models rely on), and the matching energy
//! equation conserves total energy up to the time integrator's error.

use flowscope_sph::gas1d::{Ends, Gas1d};
use flowscope_sph::{Kernel, Shape};

#[test]
fn a_periodic_barotropic_run_conserves_momentum_to_round_off() {
    let kernel = Kernel::new(Shape::WendlandC2, 1);
    let mut gas = Gas1d::barotropic_periodic(512, 0.25, 0.5, 7, kernel).unwrap();
    let scale: f64 = gas.m.iter().zip(&gas.v).map(|(m, v)| (m * v).abs()).sum();
    let start = gas.momentum();
    let mass = gas.total_mass();
    for _ in 0..200 {
        gas.step(1e-3).unwrap();
    }
    let drift = (gas.momentum() - start).abs() / scale;
    eprintln!("momentum {start:.6e} → {:.6e}, relative drift {drift:.2e}", gas.momentum());
    assert!(drift <= 1e-10, "relative momentum drift {drift}");
    assert_eq!(gas.total_mass(), mass);
    // The run did something: the density field moved.
    let spread = gas.rho.iter().fold(0.0f64, |m, r| m.max((r - 1000.0).abs()));
    assert!(spread > 10.0, "density deviations {spread}");
}

#[test]
fn the_barotropic_initial_density_follows_the_requested_amplitude() {
    let kernel = Kernel::new(Shape::CubicSpline, 1);
    let gas = Gas1d::barotropic_periodic(2048, 0.25, 0.0, 3, kernel).unwrap();
    let (lo, hi) = gas.rho.iter().fold((f64::MAX, f64::MIN), |(l, h), r| (l.min(*r), h.max(*r)));
    assert!(lo > 740.0 && hi < 1260.0 && hi - lo > 200.0, "density range {lo} … {hi}");
    let again = Gas1d::barotropic_periodic(2048, 0.25, 0.0, 3, kernel).unwrap();
    assert_eq!(gas.x, again.x, "the same seed gives the same particles");
}

#[test]
fn a_periodic_ideal_gas_conserves_momentum_and_energy() {
    let kernel = Kernel::new(Shape::CubicSpline, 1);
    let mut gas = Gas1d::sod(128, kernel).unwrap();
    gas.ends = Ends::Periodic;
    gas.v.iter_mut().enumerate().for_each(|(i, v)| *v = 0.1 * (i as f64 * 0.1).sin());
    let (momentum, energy) = (gas.momentum(), gas.total_energy());
    let scale: f64 = gas.m.iter().zip(&gas.v).map(|(m, v)| (m * v).abs()).sum();
    while gas.time < 0.1 {
        let dt = gas.stable_dt(0.3);
        gas.step(dt).unwrap();
    }
    let drift = (gas.momentum() - momentum).abs() / scale;
    let energy_drift = (gas.total_energy() - energy).abs() / energy;
    eprintln!("momentum drift {drift:.2e}, energy drift {energy_drift:.2e}");
    assert!(drift <= 1e-10, "momentum drift {drift}");
    assert!(energy_drift <= 1e-4, "energy drift {energy_drift}");
}
