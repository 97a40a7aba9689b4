//! `sph-playground`: a tank of WCSPH water to pour into and tilt.

use crate::particle_case::{self, Engine, ParticleSetup, KERNEL};
use crate::particle_observables;
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    CaseError, CaseSpec, Cost, InteractionKind, ObservableSpec, ParamValues, Preset,
};
use flowscope_sph::tank::Tank;
use flowscope_sph::wcsph::{Paddle, Pull, Wcsph, WcsphConfig};

const WIDTH: f64 = 1.0;
const HEIGHT: f64 = 0.6;
const G: f64 = 9.81;
/// The wave maker: a plate three particles thick at rest at x = 0.1 m, from the floor up to
/// 0.45 m, on the fluid's lattice.
const PADDLE_X: f64 = 0.1;
const PADDLE_TOP: f64 = 0.45;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "n",
        label: "Particles across the tank",
        unit: "",
        help: "Resolution: particle spacing = tank width / n.",
        kind: ParamKind::Int { min: 20, max: 200, default: 60 },
        needs_reset: true,
    },
    ParamSpec {
        name: "fill",
        label: "Initial pool",
        unit: "",
        help: "Fraction of the tank's width the starting pool covers (at a third of its height).",
        kind: ParamKind::Float { min: 0.0, max: 1.0, default: 0.4, log: false },
        needs_reset: true,
    },
    ParamSpec {
        name: "tilt",
        label: "Tilt",
        unit: "°",
        help: "Tilts gravity, as if the tank were turned (positive: to the right).",
        kind: ParamKind::Float { min: -45.0, max: 45.0, default: 0.0, log: false },
        needs_reset: false,
    },
    ParamSpec {
        name: "paddle",
        label: "Wave-maker amplitude",
        unit: "m",
        help: "The paddle at the left swings back and forth by this much (0: it stands still).",
        kind: ParamKind::Float { min: 0.0, max: 0.08, default: 0.03, log: false },
        needs_reset: false,
    },
    ParamSpec {
        name: "frequency",
        label: "Wave-maker frequency",
        unit: "Hz",
        help: "Swings per second; near 0.8 Hz the tank's first sloshing mode resonates.",
        kind: ParamKind::Float { min: 0.1, max: 3.0, default: 0.8, log: false },
        needs_reset: false,
    },
    ParamSpec {
        name: "alpha",
        label: "Artificial viscosity α",
        unit: "",
        help: "Monaghan's artificial viscosity: more is calmer and more syrupy.",
        kind: ParamKind::Float { min: 0.01, max: 1.0, default: 0.1, log: true },
        needs_reset: false,
    },
    KERNEL,
    particle_case::cfl(0.25),
];
/// A full tank: pouring adds fluid until the tank is full.
fn cost(params: &ParamValues) -> Cost {
    let tank = tank(params.int("n"));
    let particles = tank.block_count(WIDTH, HEIGHT) + tank.wall_count();
    let bytes = particle_case::PARTICLE_BYTES + particle_case::WCSPH_PAIR_BYTES;
    Cost::particles(particles as u64, bytes, &["n"])
}

/// The tank at `n` particles across its width.
fn tank(n: i64) -> Tank {
    Tank { width: WIDTH, height: HEIGHT, dx: WIDTH / n as f64, layers: 3 }
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "sph-playground",
    title: "SPH playground",
    summary:
        "A tank of particle water: pour more with the pointer, tilt it, make waves with the paddle.",
    explanation: "Weakly compressible SPH water (Tait equation, δ-SPH, particle walls) in a tank \
        1 m wide. Drag on the canvas to pour water where the pointer is, or switch the pointer to \
        the paddle and push the water with it; change the tilt to turn gravity. The paddle at \
        the left is a moving wall of particles that can also swing by itself and make waves (its \
        pressure felt in its own accelerating frame, as Adami et al. prescribe). The speed of \
        sound is set for water falling from the top of the tank (ten times √(2 g H)), so the \
        density stays within about 1% of ρ0.",
    reference: "J. J. Monaghan, Simulating free surface flows with SPH, J. Comput. Phys. 110 \
        (1994); S. Adami, X. Y. Hu, N. A. Adams, J. Comput. Phys. 231 (2012).",
    group: "particles",
    params: PARAMS,
    views: &[
        particle_case::view("speed", "Speed |u|", "m/s"),
        particle_case::view("pressure", "Pressure", "Pa"),
        particle_case::view("density", "Density ρ", "kg/m³"),
        particle_case::NEIGHBOURS,
    ],
    observables: particle_observables!(
        ObservableSpec { name: "particles", label: "Fluid particles", unit: "" },
        ObservableSpec { name: "density_error", label: "Mean |ρ − ρ0| / ρ0", unit: "" },
    ),
    interactions: &[InteractionKind::AddFluid, InteractionKind::DragObstacle],
    presets: &[
        Preset {
            name: "waves",
            label: "Wave maker",
            params: &[("paddle", "0.05"), ("frequency", "1.2")],
        },
        Preset {
            name: "calm",
            label: "Calm tank to pour into",
            params: &[("paddle", "0"), ("fill", "0.3")],
        },
        Preset {
            name: "tilted",
            label: "Tilted gravity",
            params: &[("paddle", "0"), ("tilt", "20")],
        },
    ],
    exchange: None,
    models: &[],
    gpu: false,
    cost,
};

#[derive(Default)]
pub struct SphPlayground;

fn gravity(tilt_degrees: f64) -> [f64; 2] {
    let angle = tilt_degrees.to_radians();
    [G * angle.sin(), -G * angle.cos()]
}

impl ParticleSetup for SphPlayground {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn build(&mut self, params: &ParamValues) -> Result<Engine, CaseError> {
        let tank = tank(params.int("n"));
        let dx = tank.dx;
        let depth = HEIGHT / 3.0;
        // The pool starts against the paddle, one spacing from its last layer.
        let first = (PADDLE_X / dx).round();
        let pool = tank.block((first + 3.0) * dx, params.float("fill") * WIDTH, 0.0, depth);
        let config = WcsphConfig {
            c0: 10.0 * (2.0 * G * HEIGHT).sqrt(),
            alpha: params.float("alpha"),
            gravity: gravity(params.float("tilt")),
            shape: particle_case::kernel_shape(params),
            ..WcsphConfig::default()
        };
        // An empty tank still needs one particle to be a fluid; pour the rest.
        let pool = if pool.is_empty() { vec![[0.5 * dx, 0.5 * dx]] } else { pool };
        let mut sph = Wcsph::new(tank, pool, depth, config)
            .map_err(|e| CaseError::Diverged(e.to_string()))?;
        let rows = (PADDLE_TOP / dx) as usize;
        let rest = (0..3)
            .flat_map(|k| {
                (0..rows).map(move |j| [(first + k as f64 + 0.5) * dx, (j as f64 + 0.5) * dx])
            })
            .collect();
        sph.paddle = Some(Paddle {
            rest,
            amplitude: params.float("paddle"),
            frequency: params.float("frequency"),
            pull: Pull::default(),
        });
        Ok(Engine::Wcsph(Box::new(sph)))
    }

    fn extra_observables(&self, engine: &Engine) -> Vec<f64> {
        let Some(sph) = engine.wcsph() else { return vec![f64::NAN; 2] };
        vec![sph.fluid.len() as f64, sph.density_error()]
    }

    fn apply_live(&self, engine: &mut Engine, params: &ParamValues, name: &str) -> bool {
        let Engine::Wcsph(sph) = engine else { return false };
        match name {
            "tilt" => sph.config.gravity = gravity(params.float("tilt")),
            "alpha" => sph.config.alpha = params.float("alpha"),
            "paddle" | "frequency" => {
                if let Some(paddle) = &mut sph.paddle {
                    paddle.amplitude = params.float("paddle");
                    paddle.frequency = params.float("frequency");
                }
            }
            _ => return false,
        }
        true
    }

    /// The paddle follows the pointer's x (its middle layer under the pointer), kept between
    /// the left wall and the tank's middle.
    fn drag(&self, engine: &mut Engine, point: [f64; 2]) {
        let Engine::Wcsph(sph) = engine else { return };
        let dx = sph.tank.dx;
        let Some(paddle) = &mut sph.paddle else { return };
        let middle = paddle.rest.iter().map(|p| p[0]).sum::<f64>() / paddle.rest.len() as f64;
        let lowest = -(middle - 2.0 * dx);
        paddle.pull.target = (point[0] - middle).clamp(lowest, 0.5 * WIDTH - middle);
    }

    fn add_fluid(&self, engine: &mut Engine, centre: [f64; 2], radius: f64) -> usize {
        match engine {
            Engine::Wcsph(sph) => sph.add_fluid(centre, radius),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::particle_case::ParticleCase;
    use flowscope_core::{Case, Interaction, ParamValue};

    #[test]
    fn pouring_adds_particles_and_tilting_moves_the_water() {
        let mut case = ParticleCase::new(SphPlayground, &SPEC.defaults(), None).unwrap();
        let before = case.observables().unwrap()[3];
        let pour = Interaction::Paint { x: 0.8, y: 0.4, radius: 0.03, value: 1.0 };
        case.interact(&pour).unwrap();
        let after = case.observables().unwrap()[3];
        assert!(after > before + 10.0, "{before} → {after} particles");
        // Pouring on the same spot again finds no room.
        case.interact(&pour).unwrap();
        assert_eq!(case.observables().unwrap()[3], after);
        case.set_param("paddle", ParamValue::Float(0.0)).unwrap();
        case.set_param("tilt", ParamValue::Float(30.0)).unwrap();
        case.step(200).unwrap();
        let momentum_x = case.observables().unwrap()[1];
        assert!(momentum_x > 0.0, "tilted to the right, the water should flow right: {momentum_x}");
        let bad = Interaction::Paint { x: f64::NAN, y: 0.1, radius: 0.03, value: 1.0 };
        assert!(case.interact(&bad).is_err());
    }
}

#[cfg(test)]
mod paddle_tests {
    use super::*;
    use crate::particle_case::ParticleCase;
    use flowscope_core::{Case, ParamValue};

    /// Kinetic energy after 0.5 s of a pool at rest with the paddle swinging by `amplitude`.
    fn energy_after(amplitude: f64) -> f64 {
        let mut params = SPEC.defaults();
        params.set(SPEC.id, SPEC.params, "paddle", ParamValue::Float(amplitude)).unwrap();
        params.set(SPEC.id, SPEC.params, "n", ParamValue::Int(40)).unwrap();
        params.set(SPEC.id, SPEC.params, "fill", ParamValue::Float(1.0)).unwrap();
        let mut case = ParticleCase::new(SphPlayground, &params, None).unwrap();
        while case.time() < 0.5 {
            case.step(20).unwrap();
        }
        case.observables().unwrap()[2]
    }

    #[test]
    fn dragging_the_paddle_pushes_the_water_and_refuses_nonsense() {
        let mut params = SPEC.defaults();
        params.set(SPEC.id, SPEC.params, "paddle", ParamValue::Float(0.0)).unwrap();
        params.set(SPEC.id, SPEC.params, "n", ParamValue::Int(40)).unwrap();
        let mut case = ParticleCase::new(SphPlayground, &params, None).unwrap();
        case.interact(&flowscope_core::Interaction::Drag { x: 0.35, y: 0.2 }).unwrap();
        while case.time() < 0.3 {
            case.step(10).unwrap();
        }
        let momentum_x = case.observables().unwrap()[1];
        assert!(
            momentum_x > 0.05,
            "the paddle pushed right, the water should follow: {momentum_x}"
        );
        let nan = flowscope_core::Interaction::Drag { x: f64::NAN, y: 0.2 };
        assert!(case.interact(&nan).is_err());
        let dam = crate::create("dam-break", &crate::find("dam-break").unwrap().defaults(), None)
            .unwrap();
        let mut dam = dam;
        assert!(dam.interact(&flowscope_core::Interaction::Drag { x: 0.1, y: 0.1 }).is_err());
    }

    #[test]
    fn the_swinging_paddle_stirs_the_water() {
        let (still, swinging) = (energy_after(0.0), energy_after(0.05));
        assert!(swinging > 10.0 * still, "kinetic energy {still} still, {swinging} swinging");
    }
}
