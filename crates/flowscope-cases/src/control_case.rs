//! What the control cases share: two runs of the control room's [`Trainer`] side by side (the
//! gradient modes `mode` and `versus` from one seed), stepped one mini-batch update at a time;
//! their learning curves, the agreement of the P and F gradients, an episode under the current
//! controllers shown in the viewport; the controller out and in as a file. A problem file
//! ([`Problem`]) brings the system, its picture and its own parameters.

use flowscope_control::bptt::{rollout, Rollout};
use flowscope_control::{Clip, Controller, EpochStats, Mode, System, Trainer, TrainerSettings};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    Backend, Case, CaseError, CaseSpec, Cost, Domain, Field2, Interaction, ParamValue, ParamValues,
    Plot, Series,
};

const MODES: &[&str] = &["C", "F", "P", "S"];

/// The training parameters every control case has, after its problem's own.
pub const MODE: ParamSpec = ParamSpec {
    name: "mode",
    label: "Gradient",
    unit: "",
    help: "C: the physics gradient where its signs agree with the full one (the paper's \
        update). F: the full gradient through physics and controller. P: through the physics \
        only (the controller sees a stopped state). S: stopped, each control judged by the \
        states after it alone.",
    kind: ParamKind::Enum { options: MODES, default: "C" },
    needs_reset: true,
};
pub const VERSUS: ParamSpec = ParamSpec {
    name: "versus",
    label: "Beside it",
    unit: "",
    help: "A second run from the same seed and starts with this gradient mode, trained side by \
        side (none: one run).",
    kind: ParamKind::Enum { options: &["F", "C", "P", "S", "none"], default: "F" },
    needs_reset: true,
};
pub const CLIP: ParamSpec = ParamSpec {
    name: "clip",
    label: "Clipping",
    unit: "",
    help: "Of the update before Adam: none, each component to ±1 (value) or the whole gradient \
        to norm 1 (norm), as the paper's comparison.",
    kind: ParamKind::Enum { options: &["none", "value", "norm"], default: "none" },
    needs_reset: true,
};
pub const LR: ParamSpec = ParamSpec {
    name: "lr",
    label: "Learning rate",
    unit: "",
    help: "Adam's step size (the paper: 0.001).",
    kind: ParamKind::Float { min: 1e-5, max: 0.1, default: 1e-3, log: true },
    needs_reset: true,
};
pub const BATCH: ParamSpec = ParamSpec {
    name: "batch",
    label: "Batch",
    unit: "",
    help: "Start states per update (the paper: 8).",
    kind: ParamKind::Int { min: 1, max: 64, default: 8 },
    needs_reset: true,
};
pub const SAMPLES: ParamSpec = ParamSpec {
    name: "samples",
    label: "Training starts",
    unit: "",
    help: "Start states in the training set, one epoch is a pass over them; as many again \
        measure the test loss (the paper: 256).",
    kind: ParamKind::Int { min: 8, max: 1024, default: 256 },
    needs_reset: true,
};
pub const WIDTH: ParamSpec = ParamSpec {
    name: "width",
    label: "Controller width",
    unit: "",
    help: "Neurons in each of the controller's two tanh layers (the paper: 100).",
    kind: ParamKind::Int { min: 4, max: 256, default: 100 },
    needs_reset: true,
};
pub const START: ParamSpec = ParamSpec {
    name: "start",
    label: "Start from",
    unit: "",
    help: "scratch: new random weights from the seed. pretrained: the controller shipped for \
        this problem (trained with C by `flowscope train`, see docs/CONTROL.md), for the \
        default width only.",
    kind: ParamKind::Enum { options: &["scratch", "pretrained"], default: "scratch" },
    needs_reset: true,
};
pub const SEED: ParamSpec = ParamSpec {
    name: "seed",
    label: "Seed",
    unit: "",
    help: "Draws the start states and the controller's first weights; both runs share it.",
    kind: ParamKind::Int { min: 0, max: 1_000_000, default: 0 },
    needs_reset: true,
};

/// Frames a finished episode stays on screen before the next starts.
const HOLD: usize = 25;
/// Test starts the episodes shown cycle through.
const SHOWN: usize = 8;

/// One control problem as a case.
pub trait Problem: 'static {
    type System: System + Clone;
    /// The controller network (the tanh MLP unless the problem says otherwise).
    type Controller: Controller;
    fn spec() -> &'static CaseSpec;
    /// The controller's hidden sizes for these parameters (an MLP: two layers of `width`).
    fn hidden(params: &ParamValues) -> Vec<usize> {
        let width = params.int("width") as usize;
        vec![width, width]
    }
    /// The name `flowscope train` takes and exported controllers record.
    const NAME: &'static str;
    /// The system of complete, valid parameters.
    fn system(params: &ParamValues) -> Self::System;
    /// The shipped controller `start=pretrained` takes for these parameters.
    fn pretrained(params: &ParamValues) -> &'static str;
    /// Every run's episode up to the state shown (`states[k]`: s_0 … s_frame of run k, flat),
    /// one panel each: the system now, and the trail that led there.
    fn picture(system: &Self::System, states: &[&[f64]]) -> Field2;
    fn domain(system: &Self::System, runs: usize) -> Domain;
    /// What the episode plot shows of a state: its title, y label and the value.
    const EPISODE: (&'static str, &'static str);
    fn episode_value(system: &Self::System, state: &[f64]) -> f64;
    /// The simulated time of step `n` of an episode.
    fn time(system: &Self::System, n: usize) -> f64;
}

/// The training settings of complete, valid parameters, in `mode`, for a controller with
/// `hidden` sizes.
pub fn settings(params: &ParamValues, mode: Mode, hidden: Vec<usize>) -> TrainerSettings {
    TrainerSettings {
        mode,
        clip: Clip::parse(params.choice("clip")).expect("the schema lists the clip modes"),
        lr: params.float("lr"),
        batch: params.int("batch") as usize,
        samples: params.int("samples") as usize,
        hidden,
        seed: params.int("seed") as u64,
    }
}

/// The run's gradient mode (`mode`) and the one beside it (`versus`, unless none).
pub fn modes(params: &ParamValues) -> (Mode, Option<Mode>) {
    let mode = Mode::parse(params.choice("mode")).expect("the schema lists the modes");
    (mode, Mode::parse(params.choice("versus")).ok())
}

/// What the case holds for a system of `state` numbers, `control` outputs and `steps` steps
/// under an MLP controller: see [`cost_of`].
pub fn cost(params: &ParamValues, state: u64, control: u64, steps: u64) -> Cost {
    let width = params.int("width") as u64;
    let weights = (state + 1) * width + (width + 1) * width + (width + 1) * control;
    let unit = control * (2 * width + state);
    let tape = steps * (2 * state + 2 * width + 2 * control + unit);
    cost_of(params, state, weights, tape)
}

/// What the case holds for a controller of `weights` parameters whose rollout records `tape`
/// numbers (states, activations, unit adjoints): per run its starts and the controller with
/// Adam's moments and last gradients; once, the update under way — every sample's gradients
/// (F, P and, in S, S) and the tapes of the samples in flight (up to four at a time).
pub fn cost_of(params: &ParamValues, state: u64, weights: u64, tape: u64) -> Cost {
    let (batch, samples) = (params.int("batch") as u64, params.int("samples") as u64);
    let run = 2 * samples * state + 4 * weights;
    let update = batch * 3 * weights + batch.min(4) * tape;
    Cost {
        bytes: (256 << 10) + 8 * (2 * run + update),
        set_by: &["samples", "width", "batch"],
        ..Default::default()
    }
}

/// One training run and what the page shows of it.
struct Run<S: System, C: Controller> {
    trainer: Trainer<S, C>,
    curve: Vec<EpochStats>,
    /// Why it stopped, when it diverged.
    stopped: Option<String>,
    /// The episode shown, under the controller as it was when the episode began.
    episode: Rollout,
}

/// A run of problem `P`'s system and controller.
type RunOf<P> = Run<<P as Problem>::System, <P as Problem>::Controller>;

impl<S: System, C: Controller> Run<S, C> {
    fn mode(&self) -> Mode {
        self.trainer.settings.mode
    }
}

pub struct ControlCase<P: Problem> {
    params: ParamValues,
    runs: Vec<RunOf<P>>,
    initial_test_loss: f64,
    updates: u64,
    /// The episode's step on screen (beyond the last: holding it).
    frame: usize,
    /// The test start the episode began from.
    shown: usize,
    notices: Vec<String>,
}

impl<P: Problem> ControlCase<P> {
    pub fn new(params: &ParamValues, models: &crate::ModelFiles) -> Result<Self, CaseError> {
        let spec = P::spec();
        let params = spec.complete(params)?;
        let (mode, versus) = modes(&params);
        let mut notices = Vec::new();
        let start = if params.choice("start") == "pretrained" {
            let file = P::pretrained(&params);
            let bytes = models.get(file).ok_or(CaseError::MissingModel { case: spec.id, file })?;
            let (controller, _) =
                P::Controller::from_safetensors(bytes).map_err(CaseError::Model)?;
            let system = P::system(&params);
            let hidden = P::hidden(&params);
            match controller.fits(system.state_len(), &hidden, system.control_len()) {
                Ok(()) => Some(controller),
                Err(why) => {
                    notices.push(format!("The shipped controller: {why}; starting from scratch"));
                    None
                }
            }
        } else {
            None
        };
        let runs = Self::runs(&params, mode, versus, start)?;
        let initial_test_loss = runs[0].trainer.test_loss();
        let first = &runs[0].trainer;
        notices.push(format!(
            "Each step is one update of {} from {} starts; an epoch is {} updates",
            first.settings.batch,
            first.settings.samples,
            first.batches()
        ));
        Ok(Self { params, runs, initial_test_loss, updates: 0, frame: 0, shown: 0, notices })
    }

    /// The runs of `mode` and `versus`, from `start` or new weights.
    fn runs(
        params: &ParamValues,
        mode: Mode,
        versus: Option<Mode>,
        start: Option<P::Controller>,
    ) -> Result<Vec<RunOf<P>>, CaseError> {
        std::iter::once(mode)
            .chain(versus)
            .map(|mode| {
                let system = P::system(params);
                let s = system.state_len();
                let settings = settings(params, mode, P::hidden(params));
                let trainer =
                    Trainer::new(system, settings, start.clone()).map_err(CaseError::Model)?;
                let episode =
                    rollout(&trainer.system, &trainer.controller, &trainer.test_starts()[..s]);
                Ok(Run { trainer, curve: Vec::new(), stopped: None, episode })
            })
            .collect()
    }

    fn system(&self) -> &P::System {
        &self.runs[0].trainer.system
    }

    /// Starts the next episode from the next test start under the controllers as they are now.
    fn next_episode(&mut self) {
        self.shown = (self.shown + 1) % SHOWN.min(self.runs[0].trainer.settings.samples);
        let s = self.system().state_len();
        for run in &mut self.runs {
            let start = &run.trainer.test_starts()[self.shown * s..(self.shown + 1) * s];
            run.episode = rollout(&run.trainer.system, &run.trainer.controller, start);
        }
        self.frame = 0;
    }

    /// `run`'s episode up to the state on screen.
    fn shown_states<'a>(&self, run: &'a RunOf<P>) -> &'a [f64] {
        let s = self.system().state_len();
        let n = self.frame.min(self.system().steps());
        &run.episode.states[..(n + 1) * s]
    }

    fn test_loss(&self, run: &RunOf<P>) -> f64 {
        run.curve.last().map_or(self.initial_test_loss, |s| s.test_loss)
    }
}

impl<P: Problem> Case for ControlCase<P> {
    fn spec(&self) -> &'static CaseSpec {
        P::spec()
    }

    fn backend(&self) -> Backend {
        Backend::Cpu
    }

    fn params(&self) -> &ParamValues {
        &self.params
    }

    fn set_param(&mut self, name: &str, _: ParamValue) -> Result<(), CaseError> {
        P::spec()
            .param(name)
            .ok_or_else(|| CaseError::UnknownCase(format!("no parameter '{name}'")))?;
        Err(CaseError::NeedsReset(name.into()))
    }

    /// `n` training updates of every run (one mini-batch each), the episode on screen one
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
                let why: Vec<_> = self.runs.iter().filter_map(|r| r.stopped.clone()).collect();
                return Err(CaseError::Diverged(why.join("; ")));
            }
            self.updates += 1;
            self.frame += 1;
            if self.frame > self.system().steps() + HOLD {
                self.next_episode();
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
        P::domain(self.system(), self.runs.len())
    }

    fn shape(&self) -> Option<[usize; 2]> {
        let states: Vec<&[f64]> = self.runs.iter().map(|r| self.shown_states(r)).collect();
        let picture = P::picture(self.system(), &states);
        Some([picture.ny, picture.nx])
    }

    fn read_view(&self, name: &str) -> Result<Field2, CaseError> {
        let spec = P::spec();
        if spec.views.first().is_none_or(|v| v.name != name) {
            return Err(flowscope_core::case::unknown_view(spec, name));
        }
        let states: Vec<&[f64]> = self.runs.iter().map(|r| self.shown_states(r)).collect();
        Ok(P::picture(self.system(), &states))
    }

    fn observables(&self) -> Result<Vec<f64>, CaseError> {
        let first = &self.runs[0];
        let versus = self.runs.get(1).map_or(f64::NAN, |r| self.test_loss(r));
        let cosine = first.curve.last().map_or(f64::NAN, |s| s.cosine);
        Ok(vec![self.test_loss(first), versus, cosine])
    }

    fn interact(&mut self, _: &Interaction) -> Result<(), CaseError> {
        Err(CaseError::BadInteraction("the system is steered by its controller only".into()))
    }

    fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The first run's controller, as `flowscope train` writes it.
    fn export_file(&self) -> Result<Vec<u8>, CaseError> {
        let run = &self.runs[0];
        let extra = serde_json::json!({
            "model": P::NAME,
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
        let (controller, extra) = P::Controller::from_safetensors(bytes).map_err(bad)?;
        if !extra.is_null() && extra["model"] != P::NAME {
            return Err(bad(format!(
                "it is a {} model, not a {} controller",
                extra["model"],
                P::NAME
            )));
        }
        let (mode, versus) = modes(&self.params);
        self.runs = Self::runs(&self.params, mode, versus, Some(controller))
            .map_err(|e| bad(e.to_string()))?;
        self.initial_test_loss = self.runs[0].trainer.test_loss();
        (self.updates, self.frame, self.shown) = (0, 0, 0);
        self.notices.push(format!(
            "Imported a controller (test loss {:.4}): training starts again from it",
            self.initial_test_loss
        ));
        Ok(())
    }

    fn plots(&self) -> Result<Vec<Plot>, CaseError> {
        let curve = |run: &RunOf<P>, pick: fn(&EpochStats) -> f64| -> Vec<[f64; 2]> {
            let start = [0.0, self.initial_test_loss];
            std::iter::once(start)
                .chain(run.curve.iter().map(|s| [s.epoch as f64, pick(s)]))
                .collect()
        };
        let mut losses = Vec::new();
        for run in &self.runs {
            let label = format!("{} test", run.mode().letter());
            losses.push(Series::line(label, curve(run, |s| s.test_loss)));
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
        let (system, s) = (self.system(), self.system().state_len());
        let shown = self.frame.min(system.steps());
        let episode = self
            .runs
            .iter()
            .map(|run| {
                let points = (0..=shown)
                    .map(|n| {
                        let state = &run.episode.states[n * s..(n + 1) * s];
                        [P::time(system, n), P::episode_value(system, state)]
                    })
                    .collect();
                Series::line(run.mode().letter(), points)
            })
            .collect();
        let (title, y_label) = P::EPISODE;
        Ok(vec![
            Plot {
                name: "learning",
                title: "Learning curves: the test loss per epoch (train loss: markers)".into(),
                x_label: "epoch",
                y_label: "loss",
                series: losses,
            },
            Plot {
                name: "episode",
                title: format!("{title} (test start {})", self.shown + 1),
                x_label: "t (s)",
                y_label,
                series: episode,
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

impl<P: Problem> crate::Simulation for ControlCase<P> {
    fn gpu_view(&self, _: &str) -> Option<crate::GpuView<'_>> {
        None
    }
}
