//! `control-guidance` (contract id): drivers learn to herd evaders that flee them to a target,
//! trained in the page by backpropagation through the simulator (stabilized BPTT's guidance by
//! repulsion). Two gradient modes train side by side from the same seed; both herds are drawn
//! under their current controllers. The physics and its adjoint are the control room's
//! ([`flowscope_control::guidance`]), the case's body is [`crate::control_case`].
//!
//! `flowscope train bptt-guidance` (contract) takes the same parameters, `versus` aside.

use crate::control_case::{self, ControlCase, Problem};
use flowscope_control::{Guidance, System};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    CaseSpec, Cost, Domain, Exchange, Field2, ObservableSpec, ParamValues, Preset, ViewKind,
    ViewSpec,
};

pub static PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "drivers",
        label: "Drivers",
        unit: "",
        help: "The controlled agents (the paper: 2).",
        kind: ParamKind::Int { min: 1, max: 4, default: 2 },
        needs_reset: true,
    },
    ParamSpec {
        name: "evaders",
        label: "Evaders",
        unit: "",
        help: "The agents that flee every driver (the paper: 4).",
        kind: ParamKind::Int { min: 1, max: 8, default: 4 },
        needs_reset: true,
    },
    ParamSpec {
        name: "regularisation",
        label: "Control price",
        unit: "",
        help: "Weight of the mean squared control in the loss (the paper: 1, 0.1, 0.01, 0.001).",
        kind: ParamKind::Float { min: 1e-4, max: 1.0, default: 0.01, log: true },
        needs_reset: true,
    },
    control_case::MODE,
    control_case::VERSUS,
    control_case::CLIP,
    control_case::LR,
    control_case::BATCH,
    control_case::SAMPLES,
    control_case::WIDTH,
    control_case::START,
    control_case::SEED,
];

/// The shipped controller (2 drivers, 4 evaders, 2 × 100, trained with C).
pub const MODEL_FILE: &str = "control-guidance.safetensors";

/// Half the side of the square shown around the target.
const HALF: f64 = 5.0;
const PIXEL: f64 = 0.05;
/// Radius of an agent's disc.
const RADIUS: f64 = 0.25;

pub struct GuidanceProblem;

pub type ControlGuidanceCase = ControlCase<GuidanceProblem>;

impl Problem for GuidanceProblem {
    type System = Guidance;
    type Controller = flowscope_control::Mlp;
    const NAME: &'static str = "bptt-guidance";
    const EPISODE: (&'static str, &'static str) =
        ("The episode shown: the evaders' RMS distance to the target", "distance");

    fn spec() -> &'static CaseSpec {
        &SPEC
    }

    fn system(params: &ParamValues) -> Guidance {
        let mut system =
            Guidance::new(params.int("drivers") as usize, params.int("evaders") as usize);
        system.regularisation = params.float("regularisation");
        system
    }

    fn pretrained(_: &ParamValues) -> &'static str {
        MODEL_FILE
    }

    /// One square per run, side by side (the first on the left): drivers red (1), evaders
    /// blue (−1), their paths so far fading in from the start, the target a ring (0).
    fn picture(system: &Guidance, episodes: &[&[f64]]) -> Field2 {
        let side = (2.0 * HALF / PIXEL) as usize;
        let (nx, ny) = (side * episodes.len(), side);
        let s = system.state_len();
        let mut data = vec![f32::NAN; nx * ny];
        for (k, episode) in episodes.iter().enumerate() {
            let state = &episode[episode.len() - s..];
            let mut paint = |x: f64, y: f64, value: f32| {
                let (i, j) = (((x + HALF) / PIXEL).floor(), ((y + HALF) / PIXEL).floor());
                if (0.0..side as f64).contains(&i) && (0.0..side as f64).contains(&j) {
                    data[j as usize * nx + k * side + i as usize] = value;
                }
            };
            let frames = episode.len() / s;
            for (n, past) in episode.chunks_exact(s).enumerate() {
                let strength = (0.15 + 0.6 * n as f64 / frames as f64) as f32;
                for object in 0..system.drivers + system.evaders {
                    let sign = if object < system.drivers { 1.0 } else { -1.0 };
                    for (dx, dy) in [(0.0, 0.0), (PIXEL, 0.0), (0.0, PIXEL), (PIXEL, PIXEL)] {
                        paint(past[4 * object] + dx, past[4 * object + 1] + dy, sign * strength);
                    }
                }
            }
            let reach = (RADIUS / PIXEL).ceil() as i32;
            for object in 0..system.drivers + system.evaders {
                let (x, y) = (state[4 * object], state[4 * object + 1]);
                let value = if object < system.drivers { 1.0 } else { -1.0 };
                for di in -reach..=reach {
                    for dj in -reach..=reach {
                        let (dx, dy) = (f64::from(di) * PIXEL, f64::from(dj) * PIXEL);
                        let r2 = (dx * dx + dy * dy) / (RADIUS * RADIUS);
                        if r2 <= 1.0 {
                            // Shaded like a ball: full colour at the centre.
                            paint(x + dx, y + dy, value * (1.0 - 0.4 * r2 as f32));
                        }
                    }
                }
            }
            for step in 0..64 {
                let phi = std::f64::consts::TAU * f64::from(step) / 64.0;
                let t = system.target;
                paint(t[0] + 0.3 * phi.cos(), t[1] + 0.3 * phi.sin(), 0.0);
            }
            if k > 0 {
                for j in 0..ny {
                    data[j * nx + k * side] = 0.0;
                }
            }
        }
        Field2 { nx, ny, data }
    }

    fn domain(_: &Guidance, runs: usize) -> Domain {
        [[-HALF, -HALF + 2.0 * HALF * runs as f64], [-HALF, HALF]]
    }

    fn episode_value(system: &Guidance, state: &[f64]) -> f64 {
        let sum: f64 = (system.drivers..system.drivers + system.evaders)
            .map(|k| {
                let (dx, dy) =
                    (state[4 * k] - system.target[0], state[4 * k + 1] - system.target[1]);
                dx * dx + dy * dy
            })
            .sum();
        (sum / system.evaders as f64).sqrt()
    }

    fn time(system: &Guidance, n: usize) -> f64 {
        n as f64 * system.dt
    }
}

fn cost(params: &ParamValues) -> Cost {
    let objects = (params.int("drivers") + params.int("evaders")) as u64;
    control_case::cost(params, 4 * objects, 2 * params.int("drivers") as u64, 60)
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "control-guidance",
    title: "Learning to herd (stabilized BPTT)",
    summary: "Drivers learn to herd fleeing evaders to a target, by gradients through the physics.",
    explanation: "Evaders (blue) run from every driver (red) and keep loose company with each \
        other; only the drivers are steered, each by a network that reads every agent's position \
        and speed and pushes its driver along and across the line from the evaders' centre. The \
        loss is the evaders' mean squared distance to the target (the ring) over the whole 4 s \
        episode, plus a small price on the pushes. Training differentiates the 60 explicit Euler \
        steps and every call of the network: the full gradient (F), the gradient through the \
        physics alone (P), none of either (S), or the paper's combination (C: P where its signs \
        agree with F). Two runs train side by side from the same seed and starts, one \
        mini-batch update of each per step of the page; left the first mode's herd, right the \
        other's, each under its controller as it was when the episode began.",
    reference: "P. Schnell, N. Thuerey, Stabilizing backpropagation through time to learn complex \
        physics, ICLR 2024 (github.com/tum-pbs/StableBPTT).",
    group: "learning",
    params: PARAMS,
    views: &[ViewSpec {
        name: "herds",
        label: "The herds under their controllers (left: mode, right: beside it)",
        unit: "",
        kind: ViewKind::Scalar,
        range: Some((-1.0, 1.0)),
        colormap: "coolwarm",
    }],
    observables: &[
        ObservableSpec { name: "test_loss", label: "Test loss (mode)", unit: "" },
        ObservableSpec { name: "test_loss_versus", label: "Test loss (beside it)", unit: "" },
        ObservableSpec { name: "cosine_pf", label: "cos(P, F) gradients (mode)", unit: "" },
    ],
    interactions: &[],
    presets: &[
        Preset { name: "default", label: "2 drivers, 4 evaders: C against F", params: &[] },
        Preset {
            name: "crowd",
            label: "3 drivers, 8 evaders",
            params: &[("drivers", "3"), ("evaders", "8")],
        },
        Preset {
            name: "cheap",
            label: "Nearly free pushes (price 0.001), clipped by norm",
            params: &[("regularisation", "0.001"), ("clip", "norm")],
        },
        Preset {
            name: "pretrained",
            label: "The shipped controller, training on",
            params: &[("start", "pretrained"), ("versus", "none")],
        },
    ],
    exchange: Some(Exchange { label: "controller", file_name: "controller.safetensors" }),
    models: &[MODEL_FILE],
    gpu: false,
    cost,
};

#[cfg(test)]
mod tests {
    use super::*;
    use flowscope_core::Case;

    #[test]
    fn both_runs_learn_to_herd_and_the_agents_move() {
        let mut params = SPEC.defaults();
        for (name, value) in [("samples", "16"), ("width", "16"), ("lr", "0.01")] {
            SPEC.set_text(&mut params, name, value).unwrap();
        }
        let mut case = ControlGuidanceCase::new(&params, &crate::ModelFiles::new()).unwrap();
        let before = case.observables().unwrap();
        let picture = case.read_view("herds").unwrap();
        assert_eq!((picture.nx, picture.ny), (400, 200));
        case.step(20).unwrap();
        assert_ne!(case.read_view("herds").unwrap(), picture, "the episode plays");
        let after = case.observables().unwrap();
        assert!(
            after[0] < 0.9 * before[0] && after[1] < 0.9 * before[1],
            "{before:?} -> {after:?}"
        );
        assert_eq!(case.plots().unwrap()[1].series.len(), 2);
    }
}
