//! `control-cartpole` (contract id): a controller learns to swing up 1–4 poles on one cart,
//! trained in the page by backpropagation through the simulator (stabilized BPTT, Schnell &
//! Thuerey 2024). Two gradient modes train side by side from the same seed; the learning curves
//! above, both carts below under their current controllers. The physics, its adjoint and the
//! trainer are the control room's ([`flowscope_control`]); this file only composes them.
//!
//! `flowscope train bptt-cartpole` (contract) takes the same parameters, `versus` aside.

use flowscope_control::bptt::{rollout, Rollout};
use flowscope_control::cartpole::HALF_LENGTH;
use flowscope_control::{CartPole, Clip, EpochStats, Mlp, Mode, System, Trainer, TrainerSettings};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    Backend, Case, CaseError, CaseSpec, Cost, Domain, Exchange, Field2, Interaction,
    ObservableSpec, ParamValue, ParamValues, Plot, Preset, Series, ViewKind, ViewSpec,
};

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
        name: "start",
        label: "Start from",
        unit: "",
        help: "scratch: new random weights from the seed. pretrained: the controller shipped for \
            this many poles (trained with C by `flowscope train`, see docs/CONTROL.md), for \
            the default width only.",
        kind: ParamKind::Enum { options: &["scratch", "pretrained"], default: "scratch" },
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
/// Frames the finished swing stays before the next one starts.
const HOLD: usize = 25;
/// Test starts the animation cycles through.
const SHOWN: usize = 8;

/// One training run and what the page shows of it.
struct Run {
    trainer: Trainer<CartPole>,
    curve: Vec<EpochStats>,
    /// Why it stopped, when it diverged.
    stopped: Option<String>,
    /// The swing shown, under the controller as it was when the swing began.
    swing: Rollout,
}

impl Run {
    fn mode(&self) -> Mode {
        self.trainer.settings.mode
    }

    fn test_loss(&self) -> f64 {
        self.curve.last().map_or(f64::NAN, |s| s.test_loss)
    }
}

pub struct ControlCartpoleCase {
    params: ParamValues,
    runs: Vec<Run>,
    initial_test_loss: f64,
    updates: u64,
    /// The swing's step on screen (beyond the last: holding it).
    frame: usize,
    /// The test start the swing began from.
    shown: usize,
    notices: Vec<String>,
}

impl ControlCartpoleCase {
    pub fn new(params: &ParamValues, models: &crate::ModelFiles) -> Result<Self, CaseError> {
        let params = SPEC.complete(params)?;
        let (mode, versus) = modes(&params);
        let mut notices = Vec::new();
        let start = if params.choice("start") == "pretrained" {
            let poles = params.int("poles") as usize;
            let file = MODEL_FILES[poles - 1];
            let bytes = models.get(file).ok_or(CaseError::MissingModel { case: SPEC.id, file })?;
            let (mlp, _) = Mlp::from_safetensors(bytes).map_err(CaseError::Model)?;
            let width = params.int("width") as usize;
            if mlp.widths[1..mlp.widths.len() - 1].iter().all(|&w| w == width) {
                Some(mlp)
            } else {
                notices.push(format!(
                    "The shipped controller is {:?} wide, not {width}: starting from scratch",
                    &mlp.widths[1..mlp.widths.len() - 1]
                ));
                None
            }
        } else {
            None
        };
        let runs = Self::runs(&params, mode, versus, start)?;
        let initial_test_loss = runs[0].trainer.test_loss();
        notices.push(format!(
            "Each step is one update of {} from {} starts; an epoch is {} updates",
            runs[0].trainer.settings.batch,
            runs[0].trainer.settings.samples,
            runs[0].trainer.batches()
        ));
        Ok(Self { params, runs, initial_test_loss, updates: 0, frame: 0, shown: 0, notices })
    }

    /// The runs of `mode` and `versus`, from `start` or new weights.
    fn runs(
        params: &ParamValues,
        mode: Mode,
        versus: Option<Mode>,
        start: Option<Mlp>,
    ) -> Result<Vec<Run>, CaseError> {
        std::iter::once(mode)
            .chain(versus)
            .map(|mode| {
                let (system, settings) = problem(params, mode);
                let trainer =
                    Trainer::new(system, settings, start.clone()).map_err(CaseError::Model)?;
                let first = &trainer.test_starts()[..system.state_len()];
                let swing = rollout(&trainer.system, &trainer.controller, first);
                Ok(Run { trainer, curve: Vec::new(), stopped: None, swing })
            })
            .collect()
    }

    fn system(&self) -> &CartPole {
        &self.runs[0].trainer.system
    }

    /// Starts the next swing from the next test start under the controllers as they are now.
    fn next_swing(&mut self) {
        self.shown = (self.shown + 1) % SHOWN.min(self.runs[0].trainer.settings.samples);
        let s = self.system().state_len();
        for run in &mut self.runs {
            let start = &run.trainer.test_starts()[self.shown * s..(self.shown + 1) * s];
            run.swing = rollout(&run.trainer.system, &run.trainer.controller, start);
        }
        self.frame = 0;
    }

    /// The state of `run`'s swing on screen.
    fn shown_state<'a>(&self, run: &'a Run) -> &'a [f64] {
        let s = self.system().state_len();
        let n = self.frame.min(self.system().steps());
        &run.swing.states[n * s..(n + 1) * s]
    }

    /// Both lanes: the cart (0), each pole coloured by cos θ (1 upright, −1 hanging), the track.
    fn picture(&self) -> Field2 {
        let (nx, lane) = ((TRACK / PIXEL) as usize, (LANE / PIXEL) as usize);
        let ny = lane * self.runs.len();
        let mut data = vec![f32::NAN; nx * ny];
        let poles = self.system().poles;
        for (k, run) in self.runs.iter().enumerate() {
            let state = self.shown_state(run);
            // Run 0 on top; rows count upwards.
            let base = (self.runs.len() - 1 - k) * lane;
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
            for i in -12..=12 {
                for j in -5..=5 {
                    paint(pivot[0] + f64::from(i) * PIXEL, pivot[1] + f64::from(j) * PIXEL, 0.0);
                }
            }
            for p in 0..poles {
                let theta = state[2 + 2 * p];
                let (sin, cos) = theta.sin_cos();
                for t in 0..=(POLE / (0.5 * PIXEL)) as usize {
                    let r = t as f64 * 0.5 * PIXEL;
                    for w in [-2.0, -1.0, 0.0, 1.0, 2.0] {
                        let (x, y) = (
                            pivot[0] + r * sin + w * PIXEL * cos,
                            pivot[1] + r * cos - w * PIXEL * sin,
                        );
                        paint(x.rem_euclid(TRACK), y, cos as f32);
                    }
                }
            }
        }
        Field2 { nx, ny, data }
    }

    /// cos θ averaged over the poles, along each run's swing so far.
    fn swing_series(&self) -> Vec<Series> {
        let (s, system) = (self.system().state_len(), self.system());
        let shown = self.frame.min(system.steps());
        self.runs
            .iter()
            .map(|run| {
                let points = (0..=shown)
                    .map(|n| {
                        let state = &run.swing.states[n * s..(n + 1) * s];
                        [n as f64 * system.dt, 1.0 - system.loss(state)]
                    })
                    .collect();
                Series::line(run.mode().letter(), points)
            })
            .collect()
    }
}

impl Case for ControlCartpoleCase {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn backend(&self) -> Backend {
        Backend::Cpu
    }

    fn params(&self) -> &ParamValues {
        &self.params
    }

    fn set_param(&mut self, name: &str, _: ParamValue) -> Result<(), CaseError> {
        SPEC.param(name).ok_or_else(|| CaseError::UnknownCase(format!("no parameter '{name}'")))?;
        Err(CaseError::NeedsReset(name.into()))
    }

    /// `n` training updates of every run (one mini-batch each), the swing on screen one
    /// simulation step further each.
    fn step(&mut self, n: u32) -> Result<(), CaseError> {
        for _ in 0..n {
            for run in self.runs.iter_mut().filter(|r| r.stopped.is_none()) {
                match run.trainer.update() {
                    Ok(Some(stats)) => run.curve.push(stats),
                    Ok(None) => {}
                    Err(why) => {
                        self.notices.push(format!("{}: {why}", run.mode().letter()));
                        run.stopped = Some(why);
                    }
                }
            }
            if self.runs.iter().all(|r| r.stopped.is_some()) {
                let why = self.runs.iter().filter_map(|r| r.stopped.clone()).collect::<Vec<_>>();
                return Err(CaseError::Diverged(why.join("; ")));
            }
            self.updates += 1;
            self.frame += 1;
            if self.frame > self.system().steps() + HOLD {
                self.next_swing();
            }
        }
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.updates
    }

    /// Epochs trained (fractional within one).
    fn time(&self) -> f64 {
        let t = &self.runs[0].trainer;
        t.epochs() as f64 + t.progress()
    }

    fn dt(&self) -> f64 {
        1.0 / self.runs[0].trainer.batches() as f64
    }

    fn domain(&self) -> Domain {
        [[-TRACK / 2.0, TRACK / 2.0], [0.0, LANE * self.runs.len() as f64]]
    }

    fn shape(&self) -> Option<[usize; 2]> {
        Some([(LANE / PIXEL) as usize * self.runs.len(), (TRACK / PIXEL) as usize])
    }

    fn read_view(&self, name: &str) -> Result<Field2, CaseError> {
        match name {
            "carts" => Ok(self.picture()),
            _ => Err(flowscope_core::case::unknown_view(&SPEC, name)),
        }
    }

    fn observables(&self) -> Result<Vec<f64>, CaseError> {
        let first = &self.runs[0];
        let loss = if first.curve.is_empty() { self.initial_test_loss } else { first.test_loss() };
        let versus = self.runs.get(1).map_or(f64::NAN, |r| {
            if r.curve.is_empty() {
                self.initial_test_loss
            } else {
                r.test_loss()
            }
        });
        let cosine = first.curve.last().map_or(f64::NAN, |s| s.cosine);
        Ok(vec![loss, versus, cosine])
    }

    fn interact(&mut self, _: &Interaction) -> Result<(), CaseError> {
        Err(CaseError::BadInteraction("the cart-pole is steered by its controller only".into()))
    }

    fn notices(&self) -> &[String] {
        &self.notices
    }

    fn view_range(&self, _: &str) -> Option<(f32, f32)> {
        Some((-1.0, 1.0))
    }

    /// The first run's controller, as `flowscope train` writes it.
    fn export_file(&self) -> Result<Vec<u8>, CaseError> {
        let run = &self.runs[0];
        let extra = serde_json::json!({
            "model": "bptt-cartpole",
            "params": self.params,
            "mode": run.mode().letter(),
            "epochs": run.trainer.epochs(),
            "test_loss": run.curve.last().map(|s| s.test_loss),
        });
        Ok(run.trainer.controller.to_safetensors(&extra))
    }

    /// Both runs start again from the controller given.
    fn import_file(&mut self, bytes: &[u8]) -> Result<(), CaseError> {
        let bad = |why: String| CaseError::Model(format!("cannot import this controller: {why}"));
        let (mlp, extra) = Mlp::from_safetensors(bytes).map_err(bad)?;
        if !extra.is_null() && extra["model"] != "bptt-cartpole" {
            return Err(bad(format!(
                "it is a {} model, not a cart-pole controller",
                extra["model"]
            )));
        }
        let (mode, versus) = modes(&self.params);
        let runs =
            Self::runs(&self.params, mode, versus, Some(mlp)).map_err(|e| bad(e.to_string()))?;
        self.runs = runs;
        self.initial_test_loss = self.runs[0].trainer.test_loss();
        (self.updates, self.frame, self.shown) = (0, 0, 0);
        self.notices.push(format!(
            "Imported a controller (test loss {:.4}): training starts again from it",
            self.initial_test_loss
        ));
        Ok(())
    }

    fn plots(&self) -> Result<Vec<Plot>, CaseError> {
        let curve = |run: &Run, pick: fn(&EpochStats) -> f64| -> Vec<[f64; 2]> {
            let start = [0.0, self.initial_test_loss];
            std::iter::once(start)
                .chain(run.curve.iter().map(|s| [s.epoch as f64, pick(s)]))
                .collect()
        };
        let mut losses = Vec::new();
        for run in &self.runs {
            losses.push(Series::line(
                format!("{} test", run.mode().letter()),
                curve(run, |s| s.test_loss),
            ));
        }
        for run in &self.runs {
            let train: Vec<[f64; 2]> = curve(run, |s| s.train_loss).into_iter().skip(1).collect();
            losses.push(Series::markers(format!("{} train", run.mode().letter()), train));
        }
        let cosines = self
            .runs
            .iter()
            .map(|run| {
                let points = run.curve.iter().map(|s| [s.epoch as f64, s.cosine]).collect();
                Series::line(run.mode().letter(), points)
            })
            .collect();
        Ok(vec![
            Plot {
                name: "learning",
                title: "Learning curves: loss 1 − mean cos θ after 1 s".into(),
                x_label: "epoch",
                y_label: "loss",
                series: losses,
            },
            Plot {
                name: "swing",
                title: format!("The swing shown: mean cos θ (test start {})", self.shown + 1),
                x_label: "t (s)",
                y_label: "mean cos θ",
                series: self.swing_series(),
            },
            Plot {
                name: "agreement",
                title: "Agreement of the P and F gradients (cosine)".into(),
                x_label: "epoch",
                y_label: "cosine",
                series: cosines,
            },
        ])
    }
}

impl crate::Simulation for ControlCartpoleCase {
    fn gpu_view(&self, _: &str) -> Option<crate::GpuView<'_>> {
        None
    }
}

/// Starts, controllers, Adam's moments and one update's tapes and per-sample gradients, per run.
fn cost(params: &ParamValues) -> Cost {
    let (poles, width) = (params.int("poles") as u64, params.int("width") as u64);
    let (batch, samples) = (params.int("batch") as u64, params.int("samples") as u64);
    let state = 2 + 2 * poles;
    let weights = (state + 1) * width + (width + 1) * width + width + 1;
    let tape = 100 * (state + 2 * width + 1 + state);
    let run = 8 * (2 * samples * state + 6 * weights + batch * (tape + 3 * weights) + 101 * state);
    Cost {
        bytes: (256 << 10) + 2 * run,
        set_by: &["samples", "width", "batch"],
        ..Default::default()
    }
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
        coloured by cos θ (red upright), on a 4 m track that wraps. Try 3 or 4 poles, or \
        clipping.",
    reference: "P. Schnell, N. Thuerey, Stabilizing backpropagation through time to learn complex \
        physics, ICLR 2024 (github.com/tum-pbs/StableBPTT).",
    group: "learning",
    params: PARAMS,
    views: &[ViewSpec {
        name: "carts",
        label: "The carts under their controllers (top: mode, bottom: beside it)",
        unit: "cos θ",
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
        let trained = case.runs[0].trainer.test_loss();
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
