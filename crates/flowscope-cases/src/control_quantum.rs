//! `control-quantum` (contract id): a dipole field learns to lift a particle in a box from a mix
//! of its two lowest states into an excited one, trained in the page by backpropagation through
//! the Schrödinger equation (stabilized BPTT's quantum control). Two gradient modes train side by
//! side from the same seed; both wave functions are drawn under their current controllers. The
//! physics and its adjoint are the control room's ([`flowscope_control::quantum`]), the
//! controller is its CNN, the case's body is [`crate::control_case`].
//!
//! `flowscope train bptt-quantum` (contract) takes the same parameters, `versus` aside.

use crate::control_case::{self, ControlCase, Problem};
use flowscope_control::quantum::{eigenstate, TARGETS};
use flowscope_control::{Cnn, Quantum, System};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    CaseSpec, Cost, Domain, Exchange, Field2, ObservableSpec, ParamValues, Preset, ViewKind,
    ViewSpec,
};

pub static PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "target",
        label: "Target state",
        unit: "",
        help: "The eigenstate to reach (1 is the ground state; the paper: 3, 4 and 5).",
        kind: ParamKind::Int {
            min: *TARGETS.start() as i64,
            max: *TARGETS.end() as i64,
            default: 3,
        },
        needs_reset: true,
    },
    control_case::MODE,
    control_case::VERSUS,
    control_case::CLIP,
    control_case::LR,
    control_case::BATCH,
    ParamSpec {
        kind: ParamKind::Int { min: 8, max: 1024, default: 64 },
        help: "Start states in the training set, one epoch is a pass over them; as many again \
            measure the test loss. The paper: 256; 64 here keeps an epoch to 8 updates, a few \
            seconds in the page (the published CNN's update takes about 0.1 s there).",
        ..control_case::SAMPLES
    },
    ParamSpec {
        name: "width",
        label: "Controller channels",
        unit: "",
        help: "Channels of each of the controller's two convolutions (the paper: 60).",
        kind: ParamKind::Int { min: 4, max: 128, default: 60 },
        needs_reset: true,
    },
    control_case::START,
    control_case::SEED,
];

/// The shipped controllers, for targets 3, 4 and 5 (60 channels, trained with C).
pub const MODEL_FILES: [&str; 3] = [
    "control-quantum-3.safetensors",
    "control-quantum-4.safetensors",
    "control-quantum-5.safetensors",
];

/// Pixels per grid point across; rows of the density profile above the history.
const CELL: usize = 6;
const PROFILE: usize = 96;
/// Colours (the view's range is 0–1): the profile's fill and the target's outline.
const FILL: f32 = 0.8;
const OUTLINE: f32 = 0.35;

pub struct QuantumProblem;

pub type ControlQuantumCase = ControlCase<QuantumProblem>;

impl Problem for QuantumProblem {
    type System = Quantum;
    type Controller = Cnn;
    const NAME: &'static str = "bptt-quantum";
    const EPISODE: (&'static str, &'static str) =
        ("The episode shown: the target state's occupation |⟨φ|ψ⟩|²", "occupation");

    fn spec() -> &'static CaseSpec {
        &SPEC
    }

    fn hidden(params: &ParamValues) -> Vec<usize> {
        vec![params.int("width") as usize]
    }

    fn system(params: &ParamValues) -> Quantum {
        Quantum::new(params.int("target") as usize).expect("the schema bounds the target")
    }

    /// The shipped controller of the target (the nearest one outside 3–5).
    fn pretrained(params: &ParamValues) -> &'static str {
        MODEL_FILES[(params.int("target").clamp(3, 5) - 3) as usize]
    }

    /// One panel per run, side by side: on top |ψ(x)|² now (filled) with the target's
    /// density (outlined); below, |ψ(x)|² at every step so far, time running down.
    fn picture(system: &Quantum, episodes: &[&[f64]]) -> Field2 {
        let (points, s) = (system.points, system.state_len());
        let side = points * CELL;
        let (nx, ny) = (side * episodes.len(), PROFILE + system.steps + 1);
        let mut data = vec![f32::NAN; nx * ny];
        let target: Vec<f64> = eigenstate(system.target, points).iter().map(|v| v * v).collect();
        // Densities relative to twice the target's peak fill the colour range.
        let peak = 2.0 * target.iter().fold(0.0f64, |m, &v| m.max(v));
        let density = |state: &[f64], j: usize| state[2 * j].powi(2) + state[2 * j + 1].powi(2);
        for (k, episode) in episodes.iter().enumerate() {
            let state = &episode[episode.len() - s..];
            for i in 0..side {
                let j = i / CELL;
                let x = k * side + i;
                // Row 0 is the bottom of the picture: the profile sits at the top.
                let height = |v: f64| ((v / peak).min(1.0) * (PROFILE - 2) as f64) as usize;
                for row in 0..height(density(state, j)) {
                    data[(ny - PROFILE + row) * nx + x] = FILL;
                }
                data[(ny - PROFILE + height(target[j])) * nx + x] = OUTLINE;
                for (n, past) in episode.chunks_exact(s).enumerate() {
                    let value = (density(past, j) / peak).min(1.0) as f32;
                    data[(ny - PROFILE - 1 - n) * nx + x] = value;
                }
            }
            if k > 0 {
                for j in 0..ny {
                    data[j * nx + k * side] = 1.0;
                }
            }
        }
        Field2 { nx, ny, data }
    }

    fn domain(system: &Quantum, runs: usize) -> Domain {
        let side = (system.points * CELL) as f64;
        let height = (PROFILE + system.steps + 1) as f64;
        let length = flowscope_control::quantum::LENGTH;
        [[0.0, length * runs as f64], [0.0, length * height / side]]
    }

    fn episode_value(system: &Quantum, state: &[f64]) -> f64 {
        system.fidelity(state)
    }

    fn time(system: &Quantum, n: usize) -> f64 {
        n as f64 * system.dt
    }
}

fn cost(params: &ParamValues) -> Cost {
    let (w, state, steps) = (params.int("width") as u64, 64, 128);
    let (p0, p1) = (15, 7);
    let weights = 7 * w + (3 * w + 1) * w + p1 * w + 1;
    let tape_len = state + (p0 + p1) * w + 1;
    let unit_len = (p0 + p1) * w + state;
    control_case::cost_of(params, state, weights, steps * (2 * state + tape_len + unit_len))
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "control-quantum",
    title: "Steering a quantum state (stabilized BPTT)",
    summary: "A field learns to lift a particle in a box into an excited state, by gradients \
        through the Schrödinger equation.",
    explanation: "A particle in a box starts in a random mix of its two lowest states. A uniform \
        electric field (a dipole term u·x in the Hamiltonian) is the only handle: a small \
        convolutional network reads the wave function and sets the field at each of 128 \
        Crank–Nicolson steps. The loss is how far the state is from the target eigenstate, \
        summed over every step, 1 − |⟨φ_target|ψ⟩|². Training differentiates the linear solves \
        and every call of the network: the full gradient (F), the gradient through the physics \
        alone (P), none of either (S), or the paper's combination (C: P where its signs agree \
        with F). Two runs train side by side from the same seed and starts, one mini-batch \
        update of each per step of the page. Each panel shows the probability density now \
        (filled) against the target's (outlined), and below it the density at every step of \
        the episode so far.",
    reference: "P. Schnell, N. Thuerey, Stabilizing backpropagation through time to learn complex \
        physics, ICLR 2024 (github.com/tum-pbs/StableBPTT).",
    group: "learning",
    params: PARAMS,
    views: &[ViewSpec {
        name: "density",
        label: "Probability density |ψ|² now (top, target outlined) and over the episode (below)",
        unit: "",
        kind: ViewKind::Scalar,
        range: Some((0.0, 1.0)),
        colormap: "inferno",
    }],
    observables: &[
        ObservableSpec { name: "test_loss", label: "Test loss (mode)", unit: "" },
        ObservableSpec { name: "test_loss_versus", label: "Test loss (beside it)", unit: "" },
        ObservableSpec { name: "cosine_pf", label: "cos(P, F) gradients (mode)", unit: "" },
    ],
    interactions: &[],
    presets: &[
        Preset { name: "default", label: "Target state 3: C against F", params: &[] },
        Preset {
            name: "state-5",
            label: "Target state 5, clipped by value",
            params: &[("target", "5"), ("clip", "value")],
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

    #[test]
    fn both_runs_learn_and_the_wave_function_moves() {
        let mut params = SPEC.defaults();
        for (name, value) in [("samples", "8"), ("width", "8"), ("lr", "0.01")] {
            SPEC.set_text(&mut params, name, value).unwrap();
        }
        let mut case = ControlQuantumCase::new(&params, &crate::ModelFiles::new()).unwrap();
        let before = case.observables().unwrap();
        let picture = case.read_view("density").unwrap();
        assert_eq!((picture.nx, picture.ny), (2 * 32 * CELL, PROFILE + 129));
        case.step(10).unwrap();
        assert_ne!(case.read_view("density").unwrap(), picture, "the episode plays");
        let after = case.observables().unwrap();
        assert!(
            after[0] < 0.95 * before[0] && after[1] < 0.95 * before[1],
            "{before:?} -> {after:?}"
        );
        // The trained CNN out as a file and back into a fresh case: the same test loss.
        let file = case.export_file().unwrap();
        let mut fresh = ControlQuantumCase::new(&params, &crate::ModelFiles::new()).unwrap();
        fresh.import_file(&file).unwrap();
        let imported = fresh.observables().unwrap()[0];
        assert!((imported - after[0]).abs() < 1e-3 * after[0], "{imported} vs {}", after[0]);
        // A cart-pole controller is refused, and the case trains on as it was.
        let cartpole = flowscope_control::Mlp { widths: vec![4, 2, 1], params: vec![0.1; 13] };
        let refused = fresh.import_file(&cartpole.to_safetensors(&serde_json::json!({})));
        assert!(refused.unwrap_err().to_string().contains("not a CNN controller"));
        assert_eq!(fresh.observables().unwrap()[0], imported);
    }
}
