//! `hydrostatic-tank`: water settling in a tank, its pressure against ρ g h.

use crate::particle_case::{self, Engine, ParticleSetup, KERNEL};
use crate::particle_observables;
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{CaseError, CaseSpec, Cost, ObservableSpec, ParamValues, Preset};
use flowscope_sph::fluid2d::hydrostatic_deviation;
use flowscope_sph::tank::Tank;
use flowscope_sph::wcsph::{Wcsph, WcsphConfig};

const DEPTH: f64 = 0.4;
const G: f64 = 9.81;

const PARAMS: &[ParamSpec] = &[
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
    Cost::particles(particles as u64, particle_case::PARTICLE_BYTES, &["n"])
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
    explanation: "A tank 0.5 m wide holds water 0.4 m deep, at rest, with the densities of \
        hydrostatic equilibrium. Weakly compressible SPH (Tait equation, c0 = 10 √(2 g h)) must \
        keep it there: the pressure should grow linearly with depth, p = ρ0 g h, the surface \
        stay flat and no particle slip into the walls. The observable compares the pressure in \
        depth bands with ρ0 g h; the residual motion shows the scheme's noise.",
    reference: "S. Adami, X. Y. Hu, N. A. Adams, A generalized wall boundary condition for \
        smoothed particle hydrodynamics, J. Comput. Phys. 231 (2012).",
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
        let config = WcsphConfig {
            c0: 10.0 * (2.0 * G * DEPTH).sqrt(),
            shape: particle_case::kernel_shape(params),
            ..WcsphConfig::default()
        };
        let sph = Wcsph::new(tank, water, DEPTH, config)
            .map_err(|e| CaseError::Diverged(e.to_string()))?;
        Ok(Engine::Wcsph(Box::new(sph)))
    }

    fn extra_observables(&self, engine: &Engine) -> Vec<f64> {
        let Some(sph) = engine.wcsph() else { return vec![f64::NAN; 3] };
        let rho0 = sph.config.rho0;
        vec![
            sph.density_error(),
            sph.fluid.max_speed(),
            hydrostatic_deviation(&sph.fluid.x, &sph.pressures(), sph.tank.dx, rho0, G),
        ]
    }
}
