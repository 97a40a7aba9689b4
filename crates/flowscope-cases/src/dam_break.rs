//! `dam-break`: a water column collapsing in a tank, WCSPH or DFSPH, against Martin & Moyce.

use crate::particle_case::{self, Engine, ParticleSetup, KERNEL};
use crate::particle_observables;
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{CaseError, CaseSpec, Cost, ObservableSpec, ParamValues, Preset};
use flowscope_sph::dfsph::{Dfsph, DfsphConfig};
use flowscope_sph::tank::Tank;
use flowscope_sph::wcsph::{Wcsph, WcsphConfig};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "solver",
        label: "SPH solver",
        unit: "",
        help: "wcsph: weakly compressible (Tait equation of state, c0 = 10 × the fastest expected speed). dfsph: incompressible (divergence-free SPH, pressure solves to the tolerance).",
        kind: ParamKind::Enum { options: &["wcsph", "dfsph"], default: "wcsph" },
        needs_reset: true,
    },
    ParamSpec {
        name: "n",
        label: "Particles across the column",
        unit: "",
        help: "Resolution: particles across the column width a; the column holds 2n² particles (n = 71: 10k, 224: 100k, 710: 1M; large counts are for the GPU; both solvers follow Martin & Moyce at 71 and 224 across).",
        kind: ParamKind::Int { min: 8, max: 710, default: 20 },
        needs_reset: true,
    },
    ParamSpec {
        name: "alpha",
        label: "Artificial viscosity α (WCSPH)",
        unit: "",
        help: "Monaghan's artificial viscosity, on approaching particles only: it damps particle noise. It acts like a viscosity α c0 h / 8, which shrinks with the particles, so ν below is what sets the flow alike at every resolution.",
        kind: ParamKind::Float { min: 0.0, max: 1.0, default: 0.05, log: false },
        needs_reset: false,
    },
    ParamSpec {
        name: "viscosity",
        label: "Viscosity ν",
        unit: "m²/s",
        help: "Kinematic viscosity (both solvers), walls no-slip; 3e-4 stands in for the experiment's wall friction and for its gate, which took time to lift: with it both solvers follow Martin & Moyce from 10k to 100k particles.",
        kind: ParamKind::Float { min: 1e-6, max: 1e-2, default: 3e-4, log: true },
        needs_reset: false,
    },
    ParamSpec {
        name: "tolerance",
        label: "Density tolerance (DFSPH)",
        unit: "",
        help: "The pressure solve stops when the average density error is below this fraction of ρ0.",
        kind: ParamKind::Float { min: 1e-4, max: 1e-2, default: 1e-3, log: true },
        needs_reset: false,
    },
    ParamSpec {
        name: "a",
        label: "Column width a",
        unit: "m",
        help: "The column is a wide and 2a tall, the tank 6a wide and 3a tall; 0.05715 m (2.25 in) is Martin & Moyce's smaller series.",
        kind: ParamKind::Float { min: 0.01, max: 2.0, default: 0.05715, log: true },
        needs_reset: true,
    },
    ParamSpec {
        name: "g",
        label: "Gravity g",
        unit: "m/s²",
        help: "Acceleration of gravity, downwards.",
        kind: ParamKind::Float { min: 0.1, max: 100.0, default: 9.81, log: true },
        needs_reset: true,
    },
    KERNEL,
    // DFSPH's own default; for WCSPH 0.4 h / c, the acoustic rule of the SPlisHSPlasH anchor
    // (docs/BENCHMARKS.md): its symplectic Euler steps hold up to about 1 here, the fronts
    // within 0.2% of those at 0.25.
    particle_case::cfl(0.4),
];
/// The water column (a × 2a at n particles across a) and the tank's walls.
fn cost(params: &ParamValues) -> Cost {
    let a = params.float("a");
    let dx = a / params.int("n") as f64;
    let tank = Tank { width: 6.0 * a, height: 3.0 * a, dx, layers: 3 };
    let particles = tank.block_count(a, 2.0 * a) + tank.wall_count();
    let bytes = match params.choice("solver") {
        "dfsph" => particle_case::PARTICLE_BYTES + particle_case::DFSPH_PAIR_BYTES,
        _ => particle_case::PARTICLE_BYTES + particle_case::WCSPH_PAIR_BYTES,
    };
    Cost::particles(particles as u64, bytes, &["n"])
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "dam-break",
    title: "Dam break",
    summary: "A water column collapses and surges along the floor; particles against Martin & Moyce's experiment.",
    explanation: "A column of water a wide and 2a tall (by default a = 2.25 in) stands at the \
        left of a tank 6a wide and is released at t = 0. Gravity drives a surge along the floor; the front \
        position Z = x/a against the time T = t √(2g/a) is the classic check, measured by \
        Martin & Moyce (1952). WCSPH treats water as slightly compressible (Tait equation, \
        δ-SPH density diffusion, walls of particles whose pressure is extrapolated from the \
        fluid); DFSPH keeps it incompressible with two pressure solves per step. Both run \
        slightly ahead of the experiment early on, whose gate took time to lift.",
    reference: "J. C. Martin, W. J. Moyce, An experimental study of the collapse of liquid \
        columns on a rigid horizontal plane, Phil. Trans. R. Soc. A 244 (1952); J. J. Monaghan, \
        Simulating free surface flows with SPH, J. Comput. Phys. 110 (1994); S. Adami, X. Y. \
        Hu, N. A. Adams, A generalized wall boundary condition for SPH, J. Comput. Phys. 231 \
        (2012); J. Bender, D. Koschier, Divergence-free SPH for incompressible and viscous \
        fluids, IEEE TVCG 23 (2017).",
    group: "particles",
    params: PARAMS,
    views: &[
        particle_case::view("speed", "Speed |u|", "m/s"),
        particle_case::view("pressure", "Pressure", "Pa"),
        particle_case::view("density", "Density ρ", "kg/m³"),
        particle_case::NEIGHBOURS,
    ],
    observables: particle_observables!(
        ObservableSpec { name: "front", label: "Surge front from the left wall", unit: "m" },
        ObservableSpec { name: "front_scaled", label: "Surge front Z = x/a", unit: "" },
        ObservableSpec { name: "scaled_time", label: "Time T = t √(2g/a)", unit: "" },
        ObservableSpec { name: "density_error", label: "Mean |ρ − ρ0| / ρ0", unit: "" },
        ObservableSpec { name: "solver_iterations", label: "Pressure iterations (DFSPH)", unit: "" },
        ObservableSpec { name: "max_speed", label: "Largest particle speed", unit: "m/s" },
        ObservableSpec { name: "escaped", label: "Particles through a wall", unit: "" },
    ),
    interactions: &[],
    presets: &[
        Preset { name: "wcsph", label: "WCSPH against Martin & Moyce", params: &[("solver", "wcsph")] },
        Preset { name: "dfsph", label: "DFSPH against Martin & Moyce", params: &[("solver", "dfsph")] },
        Preset { name: "fine", label: "WCSPH, 40 particles across", params: &[("solver", "wcsph"), ("n", "40")] },
    ],
    exchange: None,
    models: &[],
    gpu: true,
    cost,
};

/// The column width and gravity of the built fluid (for the scaled observables).
#[derive(Default)]
pub struct DamBreak {
    a: f64,
    g: f64,
}

impl ParticleSetup for DamBreak {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn build(&mut self, params: &ParamValues) -> Result<Engine, CaseError> {
        let (a, g) = (params.float("a"), params.float("g"));
        (self.a, self.g) = (a, g);
        let dx = a / params.int("n") as f64;
        let tank = Tank { width: 6.0 * a, height: 3.0 * a, dx, layers: 3 };
        let column = tank.block(0.0, a, 0.0, 2.0 * a);
        let shape = particle_case::kernel_shape(params);
        let setup = |e: flowscope_sph::wcsph::SphError| CaseError::Diverged(e.to_string());
        Ok(match params.choice("solver") {
            "dfsph" => {
                let config = DfsphConfig {
                    gravity: [0.0, -g],
                    viscosity: params.float("viscosity"),
                    tolerance: params.float("tolerance"),
                    shape,
                    ..DfsphConfig::default()
                };
                Engine::Dfsph(Box::new(Dfsph::new(tank, column, config).map_err(setup)?))
            }
            _ => {
                let config = WcsphConfig {
                    gravity: [0.0, -g],
                    c0: 10.0 * (2.0 * g * 2.0 * a).sqrt(),
                    alpha: params.float("alpha"),
                    viscosity: params.float("viscosity"),
                    shape,
                    ..WcsphConfig::default()
                };
                Engine::Wcsph(Box::new(Wcsph::new(tank, column, 2.0 * a, config).map_err(setup)?))
            }
        })
    }

    fn extra_observables(&self, engine: &Engine) -> Vec<f64> {
        let (a, g) = (self.a, self.g);
        let scale = (2.0 * g / a).sqrt();
        let (fluid, tank, time, error, iterations) = if let Some(sph) = engine.wcsph() {
            (&sph.fluid, &sph.tank, sph.time, sph.density_error(), 0.0)
        } else if let Some(sph) = engine.dfsph() {
            let iterations = sph.last.density_iterations as f64;
            (&sph.fluid, &sph.tank, sph.time, sph.density_error(), iterations)
        } else {
            return vec![f64::NAN; 7];
        };
        let front = fluid.front();
        let escaped = fluid.escaped(tank) as f64;
        vec![front, front / a, time * scale, error, iterations, fluid.max_speed(), escaped]
    }

    fn apply_live(&self, engine: &mut Engine, params: &ParamValues, name: &str) -> bool {
        match (engine, name) {
            (Engine::Wcsph(sph), "alpha") => sph.config.alpha = params.float("alpha"),
            (Engine::Wcsph(sph), "viscosity") => sph.config.viscosity = params.float("viscosity"),
            (Engine::GpuWcsph { gpu, mirror }, "alpha") => {
                mirror.config.alpha = params.float("alpha");
                gpu.set_alpha(mirror.config.alpha);
            }
            (Engine::GpuWcsph { gpu, mirror }, "viscosity") => {
                mirror.config.viscosity = params.float("viscosity");
                gpu.set_viscosity(mirror.config.viscosity);
            }
            (Engine::Dfsph(sph), "viscosity") => sph.config.viscosity = params.float("viscosity"),
            (Engine::Dfsph(sph), "tolerance") => sph.config.tolerance = params.float("tolerance"),
            (Engine::GpuDfsph { gpu, mirror }, "viscosity" | "tolerance") => {
                mirror.config.viscosity = params.float("viscosity");
                mirror.config.tolerance = params.float("tolerance");
                let c = mirror.config;
                gpu.configure(c.viscosity, c.tolerance, c.max_iterations);
            }
            // A parameter of the other solver: kept for when it is chosen.
            (_, "alpha" | "viscosity" | "tolerance") => {}
            _ => return false,
        }
        true
    }
}
