//! `sod-shock-tube`: Sod's shock tube in 1D compressible SPH against the exact Riemann solution.

use crate::particle_case::{self, Engine, ParticleSetup, KERNEL};
use crate::particle_observables;
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    CaseError, CaseSpec, Cost, ObservableSpec, ParamValues, Plot, Preset, Series,
};
use flowscope_sph::gas1d::Gas1d;
use flowscope_sph::riemann::{Riemann, State};
use flowscope_sph::{sod, Kernel};

/// The gas's ratio of specific heats (air, as in Sod's problem).
const GAMMA: f64 = 1.4;

/// A state parameter of one side of the diaphragm.
const fn state(
    name: &'static str,
    label: &'static str,
    unit: &'static str,
    kind: ParamKind,
) -> ParamSpec {
    ParamSpec {
        name,
        label,
        unit,
        help: "The gas's state on this side of the diaphragm at t = 0 (Sod's by default).",
        kind,
        needs_reset: true,
    }
}

const DENSITY: ParamKind = ParamKind::Float { min: 0.01, max: 100.0, default: 1.0, log: true };
const PRESSURE: ParamKind = ParamKind::Float { min: 0.001, max: 1000.0, default: 1.0, log: true };
const VELOCITY: ParamKind = ParamKind::Float { min: -10.0, max: 10.0, default: 0.0, log: false };

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "n",
        label: "Particles left of the diaphragm",
        unit: "",
        help: "Equal-spaced particles on the left; the right gets as many as give the same particle mass (an eighth as many for Sod's densities).",
        kind: ParamKind::Int { min: 80, max: 3200, default: 400 },
        needs_reset: true,
    },
    state("rho_l", "Density left ρ_L", "kg/m", DENSITY),
    state("u_l", "Velocity left u_L", "m/s", VELOCITY),
    state("p_l", "Pressure left p_L", "Pa", PRESSURE),
    state(
        "rho_r",
        "Density right ρ_R",
        "kg/m",
        ParamKind::Float { min: 0.01, max: 100.0, default: 0.125, log: true },
    ),
    state("u_r", "Velocity right u_R", "m/s", VELOCITY),
    state(
        "p_r",
        "Pressure right p_R",
        "Pa",
        ParamKind::Float { min: 0.001, max: 1000.0, default: 0.1, log: true },
    ),
    KERNEL,
    particle_case::cfl(0.3),
];
/// `n` particles on the left and as many on the right as equal masses need.
fn cost(params: &ParamValues) -> Cost {
    let n = params.int("n") as f64;
    let right = (n * params.float("rho_r") / params.float("rho_l")).round().clamp(4.0, 1e5);
    Cost::particles((n + right) as u64, particle_case::GAS_PARTICLE_BYTES, &["n"])
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "sod-shock-tube",
    title: "Sod shock tube",
    summary:
        "A diaphragm bursts between dense and thin gas: shock, contact and rarefaction in 1D SPH.",
    explanation:
        "Gas at (ρ, u, p) = (1, 0, 1) on the left and (0.125, 0, 0.1) on the right of x = \
        0.5, γ = 1.4 (Sod's states, the defaults; any others can be set). When the diaphragm goes, a shock runs into the thin gas, a contact \
        discontinuity follows it and a rarefaction fan opens into the dense gas. SPH: summation \
        density with a smoothing length that follows the density (h = 1.3 m/ρ), pressure forces \
        and the matching energy equation, Monaghan's artificial viscosity (α = 1, β = 2) to \
        capture the shock, RK4 in time. The observables compare with the exact Riemann solution \
        (Toro): at t = 0.2 the shock sits at x = 0.8504.",
    reference: "G. A. Sod, A survey of several finite difference methods for systems of \
        nonlinear hyperbolic conservation laws, J. Comput. Phys. 27 (1978); J. J. Monaghan, \
        Smoothed particle hydrodynamics, Annu. Rev. Astron. Astrophys. 30 (1992); E. F. Toro, \
        Riemann Solvers and Numerical Methods for Fluid Dynamics (2009).",
    group: "particles",
    params: PARAMS,
    views: &[
        particle_case::view("density", "Density ρ", "kg/m"),
        particle_case::view("velocity", "Velocity u", "m/s"),
        particle_case::view("pressure", "Pressure p", "Pa"),
        particle_case::view("energy", "Specific internal energy e", "J/kg"),
    ],
    observables: particle_observables!(
        ObservableSpec { name: "total_energy", label: "Total energy (conserved)", unit: "J" },
        ObservableSpec {
            name: "l1_density_error",
            label: "L1 density error against the exact solution",
            unit: "kg",
        },
        ObservableSpec {
            name: "shock_position",
            label: "Shock position (exact 0.8504 at t = 0.2)",
            unit: "m"
        },
    ),
    interactions: &[],
    presets: &[
        Preset {
            name: "wendland",
            label: "Wendland C2, 400 particles",
            params: &[("kernel", "wendland")],
        },
        Preset {
            name: "cubic",
            label: "Cubic spline, 400 particles",
            params: &[("kernel", "cubic")],
        },
        Preset { name: "fine", label: "1600 particles", params: &[("n", "1600")] },
    ],
    exchange: None,
    models: &[],
    gpu: true,
    cost,
};

/// The exact solution of the states the gas was built from.
#[derive(Default)]
pub struct SodShockTube {
    exact: Option<Riemann>,
}

impl ParticleSetup for SodShockTube {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn build(&mut self, params: &ParamValues) -> Result<Engine, CaseError> {
        let side =
            |rho, u, p| State { rho: params.float(rho), u: params.float(u), p: params.float(p) };
        let (left, right) = (side("rho_l", "u_l", "p_l"), side("rho_r", "u_r", "p_r"));
        let exact = Riemann::solve(left, right, GAMMA).map_err(|e| {
            CaseError::Diverged(format!("these states have no exact solution to compare with: {e}"))
        })?;
        let kernel = Kernel::new(particle_case::kernel_shape(params), 1);
        let gas = Gas1d::shock_tube(params.int("n") as usize, kernel, left, right, GAMMA)
            .map_err(|e| CaseError::Diverged(e.to_string()))?;
        self.exact = Some(exact);
        Ok(Engine::Gas(Box::new(gas)))
    }

    fn extra_observables(&self, engine: &Engine) -> Vec<f64> {
        let (Some(gas), Some(exact)) = (engine.gas(), &self.exact) else {
            return vec![f64::NAN; 3];
        };
        let shock = sod::shock_position(gas, exact).map_or(0.5, |(x, _)| x);
        vec![gas.total_energy(), sod::l1_density_error(gas, exact), shock]
    }

    fn plots(&self, engine: &Engine) -> Vec<Plot> {
        let (Some(gas), Some(exact)) = (engine.gas(), &self.exact) else { return Vec::new() };
        let (x0, x1) = gas.domain;
        let at = |x: f64| {
            if gas.time > 0.0 {
                exact.sample((x - 0.5) / gas.time)
            } else if x < 0.5 {
                exact.left
            } else {
                exact.right
            }
        };
        type Quantity =
            (&'static str, &'static str, fn(&Gas1d, usize) -> f64, fn(State, &Riemann) -> f64);
        let quantities: [Quantity; 4] = [
            ("density", "ρ", |g, i| g.rho[i], |s: State, _: &Riemann| s.rho),
            ("velocity", "u", |g, i| g.v[i], |s: State, _: &Riemann| s.u),
            ("pressure", "p", |g, i| g.p[i], |s: State, _: &Riemann| s.p),
            ("energy", "e", |g, i| g.e[i], |s: State, r: &Riemann| r.energy(s)),
        ];
        quantities
            .into_iter()
            .map(|(name, symbol, particle, reference)| {
                let particles = (0..gas.x.len()).map(|i| [gas.x[i], particle(gas, i)]).collect();
                let exact_line = (0..=400)
                    .map(|k| {
                        let x = x0 + (x1 - x0) * f64::from(k) / 400.0;
                        [x, reference(at(x), exact)]
                    })
                    .collect();
                Plot {
                    name,
                    title: format!("{name} {symbol}(x) at t = {:.3}", gas.time),
                    x_label: "x",
                    y_label: symbol,
                    series: vec![
                        Series::markers("SPH particles", particles),
                        Series::line("exact Riemann solution", exact_line),
                    ],
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::particle_case::ParticleCase;
    use flowscope_core::Case;

    #[test]
    fn at_t_0_2_the_case_reports_a_small_error_and_the_shock_in_place() {
        let mut case = ParticleCase::new(SodShockTube::default(), &SPEC.defaults(), None).unwrap();
        while case.time() < 0.2 {
            case.step(1).unwrap();
        }
        let values = case.observables().unwrap();
        let (l1, shock) = (values[4], values[5]);
        assert!(l1 < 0.02, "L1 {l1}");
        assert!((shock - (0.5 + 1.752 * case.time())).abs() < 0.02, "shock at {shock}");
        let density = case.read_view("density").unwrap();
        assert!(density.all_finite());
        let plots = case.plots().unwrap();
        let names: Vec<_> = plots.iter().map(|p| p.name).collect();
        assert_eq!(names, ["density", "velocity", "pressure", "energy"]);
        // The exact line at the star state between the contact and the shock.
        let exact = &plots[2].series[1].points;
        let star = exact.iter().find(|p| (p[0] - 0.75).abs() < 0.002).unwrap();
        assert!((star[1] - 0.30313).abs() < 1e-4, "p* on the exact line: {}", star[1]);
    }
}
