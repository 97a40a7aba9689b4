//! `hydrostatic-tank`: water at rest in a tank, WCSPH or DFSPH, its pressure against ρ g h.

use crate::particle_case::{self, Engine, ParticleSetup, KERNEL};
use crate::particle_observables;
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{CaseError, CaseSpec, Cost, ObservableSpec, ParamValues, Preset};
use flowscope_sph::dfsph::{Dfsph, DfsphConfig};
use flowscope_sph::fluid2d::hydrostatic_deviation;
use flowscope_sph::tank::Tank;
use flowscope_sph::wcsph::{Wcsph, WcsphConfig};

const DEPTH: f64 = 0.4;
const G: f64 = 9.81;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "solver",
        label: "SPH solver",
        unit: "",
        help: "wcsph: weakly compressible (Tait equation of state, c0 = 10 √(2 g h)). dfsph: incompressible (divergence-free SPH, pressure solves to a 0.1% density error).",
        kind: ParamKind::Enum { options: &["wcsph", "dfsph"], default: "wcsph" },
        needs_reset: true,
    },
    ParamSpec {
        name: "viscosity",
        label: "Viscosity ν (DFSPH)",
        unit: "m²/s",
        help: "Kinematic viscosity, walls no-slip. 6e-3 is 1.5× the WCSPH's artificial viscosity here (α h c0 / 8 at 24 particles deep); with less, the particle lattice's rearrangements (rows sliding over the floor) keep the water moving at a few tenths of a m/s.",
        kind: ParamKind::Float { min: 1e-6, max: 1e-2, default: 6e-3, log: true },
        needs_reset: false,
    },
    ParamSpec {
        name: "n",
        label: "Particles across the depth",
        unit: "",
        help: "Resolution: particle layers from the floor to the surface (depth 0.4 m).",
        kind: ParamKind::Int { min: 8, max: 64, default: 24 },
        needs_reset: true,
    },
    KERNEL,
    particle_case::cfl(0.25),
];
fn cost(params: &ParamValues) -> Cost {
    let tank = tank(params.int("n"));
    let particles = tank.block_count(tank.width, DEPTH) + tank.wall_count();
    let bytes = match params.choice("solver") {
        "dfsph" => particle_case::PARTICLE_BYTES + particle_case::DFSPH_PAIR_BYTES,
        _ => particle_case::PARTICLE_BYTES + particle_case::WCSPH_PAIR_BYTES,
    };
    Cost::particles(particles as u64, bytes, &["n"])
}

/// The tank at `n` particles over the water's depth.
fn tank(n: i64) -> Tank {
    Tank { width: 0.5, height: 0.6, dx: DEPTH / n as f64, layers: 3 }
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "hydrostatic-tank",
    title: "Hydrostatic tank",
    summary:
        "Water at rest in a tank: does the particle pressure grow as ρ g h, and do the walls hold?",
    explanation: "A tank 0.5 m wide holds water 0.4 m deep, at rest. Either solver must keep \
        it there: the pressure should grow linearly with depth, p = ρ0 g h, the surface stay \
        flat and no particle slip into the walls. Weakly compressible SPH (Tait equation, c0 = \
        10 √(2 g h)) starts from the densities of hydrostatic equilibrium; incompressible DFSPH \
        solves for the pressure every step, from zero, and its walls add the hydrostatic \
        difference to the pressure they mirror (without it the water along the walls slides \
        down and the tank turns over). The observable compares the pressure in depth bands with \
        ρ0 g h; the residual motion shows the scheme's noise, and DFSPH's pressure scatters by a \
        few percent from step to step, each solve stopping at its tolerance.",
    reference: "S. Adami, X. Y. Hu, N. A. Adams, A generalized wall boundary condition for \
        smoothed particle hydrodynamics, J. Comput. Phys. 231 (2012); J. Bender, D. Koschier, \
        Divergence-free SPH for incompressible and viscous fluids, IEEE TVCG 23 (2017).",
    group: "particles",
    params: PARAMS,
    views: &[
        particle_case::view("pressure", "Pressure", "Pa"),
        particle_case::view("speed", "Speed |u|", "m/s"),
        particle_case::view("density", "Density ρ", "kg/m³"),
        particle_case::NEIGHBOURS,
    ],
    observables: particle_observables!(
        ObservableSpec { name: "density_error", label: "Mean |ρ − ρ0| / ρ0", unit: "" },
        ObservableSpec { name: "max_speed", label: "Largest speed", unit: "m/s" },
        ObservableSpec {
            name: "hydrostatic_error",
            label: "Largest deviation of the pressure from ρ0 g h",
            unit: "",
        },
    ),
    interactions: &[],
    presets: &[
        Preset { name: "default", label: "24 particles deep", params: &[] },
        Preset { name: "fine", label: "48 particles deep", params: &[("n", "48")] },
        Preset { name: "dfsph", label: "DFSPH, 24 particles deep", params: &[("solver", "dfsph")] },
    ],
    exchange: None,
    models: &[],
    gpu: true,
    cost,
};

#[derive(Default)]
pub struct HydrostaticTank;

impl ParticleSetup for HydrostaticTank {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn build(&mut self, params: &ParamValues) -> Result<Engine, CaseError> {
        let tank = tank(params.int("n"));
        let water = tank.block(0.0, tank.width, 0.0, DEPTH);
        let shape = particle_case::kernel_shape(params);
        let setup = |e: flowscope_sph::wcsph::SphError| CaseError::Diverged(e.to_string());
        Ok(match params.choice("solver") {
            "dfsph" => {
                let viscosity = params.float("viscosity");
                let config = DfsphConfig { viscosity, shape, ..DfsphConfig::default() };
                Engine::Dfsph(Box::new(Dfsph::new(tank, water, config).map_err(setup)?))
            }
            _ => {
                let c0 = 10.0 * (2.0 * G * DEPTH).sqrt();
                let config = WcsphConfig { c0, shape, ..WcsphConfig::default() };
                Engine::Wcsph(Box::new(Wcsph::new(tank, water, DEPTH, config).map_err(setup)?))
            }
        })
    }

    fn extra_observables(&self, engine: &Engine) -> Vec<f64> {
        let (fluid, tank, rho0, error, pressures) = if let Some(sph) = engine.wcsph() {
            (&sph.fluid, sph.tank, sph.config.rho0, sph.density_error(), sph.pressures())
        } else if let Some(sph) = engine.dfsph() {
            (&sph.fluid, sph.tank, sph.config.rho0, sph.density_error(), sph.pressures())
        } else {
            return vec![f64::NAN; 3];
        };
        vec![
            error,
            fluid.max_speed(),
            hydrostatic_deviation(&fluid.x, &pressures, tank.dx, rho0, G),
        ]
    }

    fn apply_live(&self, engine: &mut Engine, params: &ParamValues, name: &str) -> bool {
        match (engine, name) {
            (Engine::Dfsph(sph), "viscosity") => sph.config.viscosity = params.float("viscosity"),
            (Engine::GpuDfsph { gpu, mirror }, "viscosity") => {
                mirror.config.viscosity = params.float("viscosity");
                let c = mirror.config;
                gpu.configure(c.viscosity, c.tolerance, c.max_iterations);
            }
            // The DFSPH's viscosity while WCSPH runs: kept for when it is chosen.
            (_, "viscosity") => {}
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::particle_case::ParticleCase;
    use flowscope_core::{Case, ParamValue};

    /// The case's DFSPH at its defaults (the gate itself, to 1.1 s, is in flowscope-sph's
    /// tests): still and near hydrostatic after a fifth of a second, and its viscosity live.
    #[test]
    fn dfsph_keeps_the_tank_still() {
        let mut params = SPEC.defaults();
        params.set(SPEC.id, SPEC.params, "solver", ParamValue::Enum("dfsph".into())).unwrap();
        let mut case = ParticleCase::new(HydrostaticTank, &params, None).unwrap();
        while case.time() < 0.2 {
            case.step(10).unwrap();
        }
        let names: Vec<&str> = SPEC.observables.iter().map(|o| o.name).collect();
        let observables = case.observables().unwrap();
        let value = |name| observables[names.iter().position(|n| *n == name).unwrap()];
        assert!(value("max_speed") < 0.05, "{observables:?}");
        assert!(value("hydrostatic_error") < 0.2, "{observables:?}");
        assert!(case.set_param("viscosity", ParamValue::Float(1e-3)).is_ok());
    }
}
