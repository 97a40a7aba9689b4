//! `control-cartpole` (contract id): a controller learns to swing up 1–4 poles on one cart,
//! trained in the page by backpropagation through the simulator (stabilized BPTT, Schnell &
//! Thuerey 2024). Two gradient modes train side by side from the same seed; the learning curves
//! above, both carts below under their current controllers. The physics, its adjoint and the
//! trainer are the control room's ([`flowscope_control`]); this file only composes them.
//!
//! `flowscope train bptt-cartpole` (contract) takes the same parameters, `versus` aside.

use flowscope_control::{CartPole, Clip, Mode, TrainerSettings};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::ParamValues;

/// The case id, also the id `flowscope train bptt-cartpole` names in its errors.
pub const SPEC_ID: &str = "control-cartpole";

const MODES: &[&str] = &["C", "F", "P", "S"];

pub static PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "poles",
        label: "Poles",
        unit: "",
        help: "Poles on the one cart. Each adds a chaotic degree of freedom: the full gradient \
            (F) grows erratic with more poles, the combined update (C) keeps training.",
        kind: ParamKind::Int { min: 1, max: 4, default: 2 },
        needs_reset: true,
    },
    ParamSpec {
        name: "mode",
        label: "Gradient",
        unit: "",
        help: "C: the physics gradient where its signs agree with the full one (the paper's \
            update). F: the full gradient through physics and controller. P: through the \
            physics only (the controller sees a stopped state). S: stopped, each force judged \
            by the next state alone.",
        kind: ParamKind::Enum { options: MODES, default: "C" },
        needs_reset: true,
    },
    ParamSpec {
        name: "versus",
        label: "Beside it",
        unit: "",
        help: "A second run from the same seed and starts with this gradient mode, trained \
            side by side (none: one run).",
        kind: ParamKind::Enum { options: &["F", "C", "P", "S", "none"], default: "F" },
        needs_reset: true,
    },
    ParamSpec {
        name: "clip",
        label: "Clipping",
        unit: "",
        help: "Of the update before Adam: none, each component to ±1 (value) or the whole \
            gradient to norm 1 (norm), as the paper's comparison.",
        kind: ParamKind::Enum { options: &["none", "value", "norm"], default: "none" },
        needs_reset: true,
    },
    ParamSpec {
        name: "lr",
        label: "Learning rate",
        unit: "",
        help: "Adam's step size (the paper: 0.001).",
        kind: ParamKind::Float { min: 1e-5, max: 0.1, default: 1e-3, log: true },
        needs_reset: true,
    },
    ParamSpec {
        name: "batch",
        label: "Batch",
        unit: "",
        help: "Start states per update (the paper: 8).",
        kind: ParamKind::Int { min: 1, max: 64, default: 8 },
        needs_reset: true,
    },
    ParamSpec {
        name: "samples",
        label: "Training starts",
        unit: "",
        help: "Start states in the training set, one epoch is a pass over them; as many again \
            measure the test loss (the paper: 256).",
        kind: ParamKind::Int { min: 8, max: 1024, default: 256 },
        needs_reset: true,
    },
    ParamSpec {
        name: "width",
        label: "Controller width",
        unit: "",
        help: "Neurons in each of the controller's two tanh layers (the paper: 100).",
        kind: ParamKind::Int { min: 4, max: 256, default: 100 },
        needs_reset: true,
    },
    ParamSpec {
        name: "seed",
        label: "Seed",
        unit: "",
        help: "Draws the start states and the controller's first weights; both runs share it.",
        kind: ParamKind::Int { min: 0, max: 1_000_000, default: 0 },
        needs_reset: true,
    },
];

/// The system and the training settings of complete, valid parameters, in `mode`.
pub fn problem(params: &ParamValues, mode: Mode) -> (CartPole, TrainerSettings) {
    let clip = Clip::parse(params.choice("clip")).expect("the schema lists the clip modes");
    let width = params.int("width") as usize;
    let settings = TrainerSettings {
        mode,
        clip,
        lr: params.float("lr"),
        batch: params.int("batch") as usize,
        samples: params.int("samples") as usize,
        hidden: vec![width, width],
        seed: params.int("seed") as u64,
    };
    (CartPole::new(params.int("poles") as usize), settings)
}

/// The run's gradient mode (`mode`) and the one beside it (`versus`, unless none).
pub fn modes(params: &ParamValues) -> (Mode, Option<Mode>) {
    let mode = Mode::parse(params.choice("mode")).expect("the schema lists the modes");
    (mode, Mode::parse(params.choice("versus")).ok())
}
