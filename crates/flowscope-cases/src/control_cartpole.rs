//! `control-cartpole` (contract id): a controller learns to swing up 1–4 poles on one cart,
//! trained in the page by backpropagation through the simulator (stabilized BPTT, Schnell &
//! Thuerey 2024). Two gradient modes train side by side from the same seed; the learning curves
//! above, both carts below under their current controllers. The physics, its adjoint and the
//! trainer are the control room's ([`flowscope_control`]), the case's body is
//! [`crate::control_case`]; this file brings the cart-pole's parameters and its picture.
//!
//! `flowscope train bptt-cartpole` (contract) takes the same parameters, `versus` aside.

use crate::control_case::{self, ControlCase, Problem};
use flowscope_control::cartpole::HALF_LENGTH;
use flowscope_control::{CartPole, System};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    CaseSpec, Cost, Domain, Exchange, Field2, ObservableSpec, ParamValues, Preset, ViewKind,
    ViewSpec,
};

/// The case id.
pub const SPEC_ID: &str = "control-cartpole";

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

/// The shipped controllers (2 × 100, trained with C), for 1 to 4 poles.
pub const MODEL_FILES: [&str; 4] = [
    "control-cartpole-1.safetensors",
    "control-cartpole-2.safetensors",
    "control-cartpole-3.safetensors",
    "control-cartpole-4.safetensors",
];

/// Length of a pole as drawn (the model's l is its half length).
const POLE: f64 = 2.0 * HALF_LENGTH;
/// The track shown; the cart wraps around it.
const TRACK: f64 = 4.0;
/// Height of one run's lane.
const LANE: f64 = 2.4;
/// Metres per pixel of the picture.
const PIXEL: f64 = 0.025;

pub struct CartPoleProblem;

pub type ControlCartpoleCase = ControlCase<CartPoleProblem>;

impl Problem for CartPoleProblem {
    type System = CartPole;
    type Controller = flowscope_control::Mlp;
    const NAME: &'static str = "bptt-cartpole";
    const EPISODE: (&'static str, &'static str) = ("The swing shown: mean cos θ", "mean cos θ");

    fn spec() -> &'static CaseSpec {
        &SPEC
    }

    fn system(params: &ParamValues) -> CartPole {
        CartPole::new(params.int("poles") as usize)
    }

    fn pretrained(params: &ParamValues) -> &'static str {
        MODEL_FILES[params.int("poles") as usize - 1]
    }

    /// One lane per run (the first on top): the cart and the track (0), each pole coloured by
    /// the height of its points over the pivot in pole lengths (its tip: cos θ, 1 upright, −1
    /// hanging), and the path of the tips so far, fainter.
    fn picture(system: &CartPole, episodes: &[&[f64]]) -> Field2 {
        let (nx, lane) = ((TRACK / PIXEL) as usize, (LANE / PIXEL) as usize);
        let ny = lane * episodes.len();
        let s = system.state_len();
        let mut data = vec![f32::NAN; nx * ny];
        for (k, episode) in episodes.iter().enumerate() {
            let state = &episode[episode.len() - s..];
            // Rows count upwards.
            let base = (episodes.len() - 1 - k) * lane;
            let pivot = [
                (state[0] + TRACK / 2.0).rem_euclid(TRACK),
                (base as f64 + 0.5 * lane as f64) * PIXEL,
            ];
            let mut paint = |x: f64, y: f64, value: f32| {
                let (i, j) = ((x / PIXEL).floor(), (y / PIXEL).floor() - base as f64);
                if (0.0..nx as f64).contains(&i) && (0.0..lane as f64).contains(&j) {
                    data[(base + j as usize) * nx + i as usize] = value;
                }
            };
            for i in 0..nx {
                for dy in [0.16, 0.16 + PIXEL] {
                    paint((i as f64 + 0.5) * PIXEL, pivot[1] - dy, 0.0);
                }
            }
            for past in episode.chunks_exact(s) {
                let x = past[0] + TRACK / 2.0;
                for p in 0..system.poles {
                    let (sin, cos) = past[2 + 2 * p].sin_cos();
                    let tip = [(x + POLE * sin).rem_euclid(TRACK), pivot[1] + POLE * cos];
                    // Fainter than the poles: the trail's colour halfway to the track's.
                    paint(tip[0], tip[1], 0.5 * cos as f32);
                }
            }
            for i in -12..=12 {
                for j in -5..=5 {
                    paint(pivot[0] + f64::from(i) * PIXEL, pivot[1] + f64::from(j) * PIXEL, 0.0);
                }
            }
            for p in 0..system.poles {
                let (sin, cos) = state[2 + 2 * p].sin_cos();
                for t in 0..=(POLE / (0.5 * PIXEL)) as usize {
                    let r = t as f64 * 0.5 * PIXEL;
                    for w in [-2.0, -1.0, 0.0, 1.0, 2.0] {
                        let x = pivot[0] + r * sin + w * PIXEL * cos;
                        let y = pivot[1] + r * cos - w * PIXEL * sin;
                        paint(x.rem_euclid(TRACK), y, (r * cos / POLE) as f32);
                    }
                }
            }
        }
        Field2 { nx, ny, data }
    }

    fn domain(_: &CartPole, runs: usize) -> Domain {
        [[-TRACK / 2.0, TRACK / 2.0], [0.0, LANE * runs as f64]]
    }

    fn episode_value(system: &CartPole, state: &[f64]) -> f64 {
        1.0 - system.loss(state)
    }

    fn time(system: &CartPole, n: usize) -> f64 {
        n as f64 * system.dt
    }
}

fn cost(params: &ParamValues) -> Cost {
    let state = 2 + 2 * params.int("poles") as u64;
    control_case::cost(params, state, 1, 100)
}

pub static SPEC: CaseSpec = CaseSpec {
    id: SPEC_ID,
    title: "Learning to swing up (stabilized BPTT)",
    summary: "A network learns to swing poles up on a cart, by gradients through the physics.",
    explanation: "A controller — a small network that reads the cart's and the poles' positions \
        and speeds and returns a force — is trained by backpropagation through time: 100 steps \
        of the simulated cart-pole, then the loss (1 − mean cos θ after 1 s: 0 with every pole \
        upright, 2 hanging) is differentiated back through every step of the physics and every \
        call of the controller. That full gradient (F) is exact but, with more poles, chaotic: \
        it points all over the place. The paper's combined update (C) takes the gradient \
        through the physics alone (P) and keeps it only where its signs agree with F. Two runs \
        train side by side from the same seed and starts; one step of the page is one \
        mini-batch update of each. Top: the first mode's cart, bottom: the other's, each pole \
        coloured by height (red up), on a 4 m track that wraps; the faint path is where the \
        tips have been. Try 3 or 4 poles, or clipping.",
    reference: "P. Schnell, N. Thuerey, Stabilizing backpropagation through time to learn complex \
        physics, ICLR 2024 (github.com/tum-pbs/StableBPTT).",
    group: "learning",
    params: PARAMS,
    views: &[ViewSpec {
        name: "carts",
        label: "The carts under their controllers (top: mode, bottom: beside it)",
        unit: "height / pole length",
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
        Preset { name: "default", label: "Two poles: C against F", params: &[] },
        Preset { name: "one", label: "One pole: both learn", params: &[("poles", "1")] },
        Preset { name: "chaotic", label: "Four poles: C against F", params: &[("poles", "4")] },
        Preset {
            name: "clipped",
            label: "Three poles, F clipped by norm against C",
            params: &[("poles", "3"), ("clip", "norm")],
        },
        Preset {
            name: "pretrained",
            label: "The shipped controller, training on",
            params: &[("start", "pretrained"), ("versus", "none")],
        },
    ],
    exchange: Some(Exchange { label: "controller", file_name: "controller.safetensors" }),
    models: &MODEL_FILES,
    gpu: false,
    cost,
};

#[cfg(test)]
mod tests {
    use super::*;
    use flowscope_core::Case;

    fn small(extra: &[(&str, &str)]) -> ControlCartpoleCase {
        let mut params = SPEC.defaults();
        for (name, value) in
            [("samples", "16"), ("width", "16"), ("lr", "0.01")].iter().chain(extra)
        {
            SPEC.set_text(&mut params, name, value).unwrap();
        }
        ControlCartpoleCase::new(&params, &crate::ModelFiles::new()).unwrap()
    }

    #[test]
    fn both_runs_train_and_the_carts_move() {
        let mut case = small(&[("poles", "1")]);
        let before = case.observables().unwrap();
        let picture = case.read_view("carts").unwrap();
        case.step(3).unwrap();
        assert_ne!(case.read_view("carts").unwrap(), picture, "the swing plays");
        case.step(2 * 25 - 3).unwrap();
        let after = case.observables().unwrap();
        assert_eq!(case.time(), 25.0);
        assert!(
            after[0] < 0.9 * before[0] && after[1] < 0.9 * before[1],
            "{before:?} -> {after:?}"
        );
        let plots = case.plots().unwrap();
        assert_eq!(plots[0].series.len(), 4, "test and train curves of both runs");
        assert_eq!(plots[0].series[0].points.len(), 26);
    }

    #[test]
    fn one_run_alone_leaves_the_other_curve_empty() {
        let case = small(&[("versus", "none")]);
        let values = case.observables().unwrap();
        assert!(values[0].is_finite() && values[1].is_nan());
        assert_eq!(case.read_view("carts").unwrap().ny, (LANE / PIXEL) as usize);
    }

    #[test]
    fn an_exported_controller_imports_and_a_bad_file_changes_nothing() {
        let mut case = small(&[]);
        case.step(4).unwrap();
        let file = case.export_file().unwrap();
        assert_eq!(case.time(), 2.0, "two epochs of two updates");
        let trained = case.observables().unwrap()[0];
        let mut other = small(&[("mode", "F"), ("versus", "P")]);
        let error = other.import_file(b"not a safetensors file").unwrap_err().to_string();
        assert!(error.contains("cannot import"), "{error}");
        assert_eq!(other.steps(), 0);
        other.import_file(&file).unwrap();
        assert!((other.observables().unwrap()[0] - trained).abs() < 1e-4);
        assert!(other.notices().last().unwrap().contains("Imported"));
        let mut narrow = small(&[("width", "8")]);
        let error = narrow.import_file(&file).unwrap_err().to_string();
        assert!(error.contains("do not fit"), "{error}");
    }
}
