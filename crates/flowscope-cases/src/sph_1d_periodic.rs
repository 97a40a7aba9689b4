//! `sph-1d-periodic`: the barotropic 1D SPH gas that learned particle solvers train on.

use crate::particle_case::{self, Engine, ParticleSetup, KERNEL};
use crate::particle_observables;
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    CaseError, CaseSpec, Cost, ObservableSpec, ParamValues, Plot, Preset, Series,
};
use flowscope_sph::gas1d::Gas1d;
use flowscope_sph::Kernel;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "n",
        label: "Particles",
        unit: "",
        help: "Equal-mass particles on the periodic interval [−1, 1].",
        kind: ParamKind::Int { min: 64, max: 8192, default: 512 },
        needs_reset: true,
    },
    ParamSpec {
        name: "amplitude",
        label: "Density perturbation",
        unit: "",
        help: "Peak relative deviation of the initial density from ρ0 = 1000.",
        kind: ParamKind::Float { min: 0.0, max: 0.9, default: 0.25, log: false },
        needs_reset: true,
    },
    ParamSpec {
        name: "speed",
        label: "Initial velocity",
        unit: "m/s",
        help: "Peak of a smooth random initial velocity (0: the gas starts at rest).",
        kind: ParamKind::Float { min: 0.0, max: 5.0, default: 1.0, log: false },
        needs_reset: true,
    },
    ParamSpec {
        name: "seed",
        label: "Seed",
        unit: "",
        help: "Chooses the random initial density and velocity; the same seed gives the same run.",
        kind: ParamKind::Int { min: 0, max: 1_000_000, default: 1 },
        needs_reset: true,
    },
    KERNEL,
    particle_case::cfl(0.3),
];
fn cost(params: &ParamValues) -> Cost {
    Cost::particles(params.int("n") as u64, particle_case::GAS_PARTICLE_BYTES, &["n"])
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "sph-1d-periodic",
    title: "Periodic 1D SPH gas",
    summary: "Density waves in a barotropic particle gas on a ring: the learned 1D solvers' data.",
    explanation: "Particles of equal mass on the periodic interval [−1, 1], placed so that the \
        density starts as ρ0 (1 + A·noise) with a smooth random noise (two octaves of Fourier \
        modes). The pressure p = κ (ρ − ρ0) with κ = 10 pushes from dense to thin, so the bumps \
        split into waves that run both ways and steepen; Monaghan's artificial viscosity (α = 1, \
        β = 2, c0 = 10) keeps the steep fronts smooth. Forces act pairwise and opposite, so the \
        total momentum is conserved to round-off: the property the momentum-conserving learned \
        models build in.",
    reference: "R. Winchenbach, N. Thuerey, Symmetric basis convolutions for learning \
        Lagrangian fluid mechanics, ICLR 2024 (dataset I: compressible 1D SPH).",
    group: "particles",
    params: PARAMS,
    views: &[
        particle_case::view("density", "Density ρ", "kg/m"),
        particle_case::view("velocity", "Velocity u", "m/s"),
        particle_case::view("pressure", "Pressure p", "Pa"),
    ],
    observables: particle_observables!(ObservableSpec {
        name: "density_spread",
        label: "Largest |ρ − ρ0| / ρ0",
        unit: "",
    }),
    interactions: &[],
    presets: &[
        Preset { name: "default", label: "Smooth random density, seed 1", params: &[] },
        Preset {
            name: "strong",
            label: "Large amplitude: steepening waves",
            params: &[("amplitude", "0.6")],
        },
        Preset { name: "seed-42", label: "Another draw (seed 42)", params: &[("seed", "42")] },
    ],
    exchange: None,
    models: &[],
    gpu: true,
    cost,
};

#[derive(Default)]
pub struct SphPeriodic;

impl ParticleSetup for SphPeriodic {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn build(&mut self, params: &ParamValues) -> Result<Engine, CaseError> {
        let kernel = Kernel::new(particle_case::kernel_shape(params), 1);
        let gas = Gas1d::barotropic_periodic(
            params.int("n") as usize,
            params.float("amplitude"),
            params.float("speed"),
            params.int("seed") as u64,
            kernel,
        )
        .map_err(|e| CaseError::Diverged(e.to_string()))?;
        Ok(Engine::Gas(Box::new(gas)))
    }

    fn extra_observables(&self, engine: &Engine) -> Vec<f64> {
        let Some(gas) = engine.gas() else { return vec![f64::NAN] };
        let rho0 = 1000.0;
        vec![gas.rho.iter().map(|r| (r - rho0).abs() / rho0).fold(0.0, f64::max)]
    }

    fn plots(&self, engine: &Engine) -> Vec<Plot> {
        let Some(gas) = engine.gas() else { return Vec::new() };
        let profile = |name, symbol, values: &[f64]| Plot {
            name,
            title: format!("{name} {symbol}(x) at t = {:.3}", gas.time),
            x_label: "x",
            y_label: symbol,
            series: vec![Series::markers(
                "SPH particles",
                gas.x.iter().zip(values).map(|(&x, &y)| [x, y]).collect(),
            )],
        };
        vec![profile("density", "ρ", &gas.rho), profile("velocity", "u", &gas.v)]
    }
}
