//! The case contract: everything the web UI, the CLI and the tests need to know about a case.
//!
//! A case declares itself once in a static [`CaseSpec`] (id, text, parameters, views,
//! observables, interactions) and implements [`Case`] to run. Adding a case means adding one
//! file that does both, plus one line in the catalog.

use crate::field::{Domain, Field2};
use crate::params::{ParamError, ParamSpec, ParamValue, ParamValues};
use serde::Serialize;

/// Where a case runs. The CPU backend always exists; the GPU backend is an upgrade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Cpu,
    Gpu,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ViewKind {
    Scalar,
    Vector,
    Particles,
}

/// A named field the case can show and export. A vector view `name` is read as the two scalar
/// views `name_x` and `name_y`. NaN marks "nothing here" (no fluid in a particle view, the
/// background of a drawn scene) and shows as the background colour.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ViewSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub kind: ViewKind,
    /// A fixed colour range where the physics bounds the field (e.g. a maximum principle).
    pub range: Option<(f32, f32)>,
    /// Default colormap name (see [`crate::colormap`]).
    pub colormap: &'static str,
}

impl ViewSpec {
    /// The scalar views to read for this view: `[name]`, or `[name_x, name_y]` for a vector.
    pub fn scalar_names(&self) -> Vec<String> {
        match self.kind {
            ViewKind::Vector => vec![format!("{}_x", self.name), format!("{}_y", self.name)],
            _ => vec![self.name.to_string()],
        }
    }
}

/// A named time series the case records.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ObservableSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    /// Pointer adds a smooth blob of the case's scalar (heat, smoke).
    PaintScalar,
    /// Pointer pours fluid: particles appear under it, where there is room.
    AddFluid,
    /// Pointer drags the case's movable obstacle (the SPH playground's paddle) along x.
    DragObstacle,
}

impl InteractionKind {
    /// What the pointer does, for the UI's pointer-mode choice.
    pub fn label(self) -> &'static str {
        match self {
            InteractionKind::PaintScalar => "paint",
            InteractionKind::AddFluid => "pour fluid",
            InteractionKind::DragObstacle => "drag the paddle",
        }
    }
}

/// A pointer interaction in domain coordinates (for [`InteractionKind::AddFluid`], `Paint` adds
/// fluid inside the blob and `value` is unused).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Interaction {
    /// Raise the scalar towards `value` inside a Gaussian blob of the given radius.
    Paint { x: f64, y: f64, radius: f64, value: f32 },
    /// Pull the movable obstacle towards the point (for [`InteractionKind::DragObstacle`]).
    Drag { x: f64, y: f64 },
}

/// How a [`Series`] is drawn: the simulation as a line, published or exact data as markers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SeriesStyle {
    Line,
    Markers,
}

/// One curve of a [`Plot`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    pub label: String,
    pub points: Vec<[f64; 2]>,
    pub style: SeriesStyle,
}

impl Series {
    pub fn line(label: impl Into<String>, points: Vec<[f64; 2]>) -> Self {
        Self { label: label.into(), points, style: SeriesStyle::Line }
    }

    pub fn markers(label: impl Into<String>, points: Vec<[f64; 2]>) -> Self {
        Self { label: label.into(), points, style: SeriesStyle::Markers }
    }
}

/// A profile of the current state against reference data (a centreline against Ghia's table,
/// a 1D solution against the exact one): what a time series cannot show.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plot {
    pub name: &'static str,
    pub title: String,
    pub x_label: &'static str,
    pub y_label: &'static str,
    pub series: Vec<Series>,
}

/// A named set of parameter values a case offers (the panel's presets): the published setups and
/// a few instructive variations. Values are text, checked like a link's or the CLI's.
#[derive(Debug, Serialize)]
pub struct Preset {
    pub name: &'static str,
    pub label: &'static str,
    pub params: &'static [(&'static str, &'static str)],
}

/// The file of [`CaseSpec::exchange`]: what the page's export and import buttons say and the
/// name it downloads under.
#[derive(Debug, Serialize)]
pub struct Exchange {
    /// What the file is, e.g. "controller".
    pub label: &'static str,
    pub file_name: &'static str,
}

/// The static declaration of a case.
#[derive(Debug, Serialize)]
pub struct CaseSpec {
    pub id: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
    /// One paragraph: what it shows, the equation, what to try.
    pub explanation: &'static str,
    /// The published work it comes from.
    pub reference: &'static str,
    /// Gallery group: "grids", "particles", "learned", "learning" or "spectral".
    pub group: &'static str,
    pub params: &'static [ParamSpec],
    pub views: &'static [ViewSpec],
    pub observables: &'static [ObservableSpec],
    pub interactions: &'static [InteractionKind],
    pub presets: &'static [Preset],
    /// A file the user can take out of a running case and give back to a new one (a trained
    /// controller), where the case has one.
    pub exchange: Option<Exchange>,
    /// The model files a learned case runs (names in the site's `models/` folder, checked against
    /// its `manifest.json`); the front end fetches them before it starts the case.
    pub models: &'static [&'static str],
    /// Whether the case has WGSL kernels; without them it runs on the CPU backend only.
    pub gpu: bool,
    /// What the case allocates for given (complete, valid) parameters, for the resource budget
    /// (see [`crate::budget`]).
    #[serde(skip)]
    pub cost: fn(&ParamValues) -> crate::budget::Cost,
}

impl CaseSpec {
    pub fn defaults(&self) -> ParamValues {
        ParamValues::defaults(self.params)
    }

    /// The defaults with `params` set over them, each checked against the schema.
    pub fn complete(&self, params: &ParamValues) -> Result<ParamValues, ParamError> {
        let mut complete = self.defaults();
        for (name, value) in params.iter() {
            complete.set(self.id, self.params, name, value.clone())?;
        }
        Ok(complete)
    }

    /// Validates `name=value` text against the schema.
    pub fn set_text(
        &self,
        values: &mut ParamValues,
        name: &str,
        text: &str,
    ) -> Result<(), ParamError> {
        values.set_text(self.id, self.params, name, text)
    }

    /// The defaults with preset `name`'s values over them.
    pub fn preset(&self, name: &str) -> Result<ParamValues, CaseError> {
        let preset = self.presets.iter().find(|p| p.name == name).ok_or_else(|| {
            let known: Vec<_> = self.presets.iter().map(|p| p.name).collect();
            CaseError::UnknownCase(format!(
                "'{}' has no preset '{name}'; it has: {}",
                self.id,
                known.join(", ")
            ))
        })?;
        let mut values = self.defaults();
        for (param, text) in preset.params {
            self.set_text(&mut values, param, text)?;
        }
        Ok(values)
    }

    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// Why a case could not do what was asked. `Display` is one line a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error("{0}")]
    UnknownCase(String),
    /// A parameter that rebuilds the simulation was changed on a running one.
    #[error("parameter '{0}' takes effect on reset")]
    NeedsReset(String),
    /// A pointer interaction the case cannot apply (e.g. a non-finite position).
    #[error("invalid interaction: {0}")]
    BadInteraction(String),
    /// The state blew up; the simulation must be reset.
    #[error("simulation diverged: {0}")]
    Diverged(String),
    #[error("unknown view '{view}'; this case has: {known}")]
    UnknownView { view: String, known: String },
    #[error("GPU error: {0}")]
    Gpu(String),
    /// A model file that cannot run the case.
    #[error("model: {0}")]
    Model(String),
    /// A learned case was started without a model file it runs.
    #[error("case '{case}' needs the model file {file} (see public/models/manifest.json)")]
    MissingModel { case: &'static str, file: &'static str },
    #[error("case '{0}' has no GPU implementation yet; use the CPU backend")]
    NoGpu(&'static str),
    #[error("case '{0}' has no file to export or import")]
    NoExchange(&'static str),
    /// Parameters asking for more than the page's resource budget allows.
    #[error("{0}")]
    OverBudget(String),
}

/// The particles of a particle case as the CLI exports them (contract: `position_<step>.npy`
/// as f32 [N, dim] and each view as `<view>_<step>.npy`, f32 [N], in the same particle order).
#[derive(Clone, Debug, PartialEq)]
pub struct ParticleState {
    /// Coordinates per position: 1 or 2.
    pub dim: usize,
    /// N × dim coordinates, particle by particle.
    pub positions: Vec<f32>,
    /// Each view's per-particle values, in the spec's view order.
    pub views: Vec<(&'static str, Vec<f32>)>,
    /// What `meta.json` records of the particles: the particle mass (kg, or kg/m in 1D), the
    /// smoothing length (m; a range where it varies) and the equation of state.
    pub meta: serde_json::Value,
}

/// A running simulation of one case on one backend.
pub trait Case {
    fn spec(&self) -> &'static CaseSpec;
    fn backend(&self) -> Backend;
    /// The parameter values in use (after any clamping the case applied).
    fn params(&self) -> &ParamValues;
    /// Changes one live parameter (`needs_reset == false`); others wait for a reset.
    fn set_param(&mut self, name: &str, value: ParamValue) -> Result<(), CaseError>;
    /// Advances `n` time steps.
    fn step(&mut self, n: u32) -> Result<(), CaseError>;
    fn steps(&self) -> u64;
    /// Simulated time reached.
    fn time(&self) -> f64;
    fn dt(&self) -> f64;
    fn domain(&self) -> Domain;
    /// Grid shape `[ny, nx]`, where the case has a grid.
    fn shape(&self) -> Option<[usize; 2]>;
    /// Number of fluid particles, where the case has particles.
    fn particles(&self) -> Option<usize> {
        None
    }
    /// The particles' positions and per-particle views, where the case has particles (on the GPU
    /// backend, as last read back).
    fn particle_state(&self) -> Option<ParticleState> {
        None
    }
    /// Reads a view to the CPU. On the GPU backend this is a blocking read-back (native only).
    fn read_view(&self, name: &str) -> Result<Field2, CaseError>;
    /// Current observable values, in the order of `spec().observables`.
    fn observables(&self) -> Result<Vec<f64>, CaseError>;
    fn interact(&mut self, interaction: &Interaction) -> Result<(), CaseError>;
    /// Things the case changed or refused and the user should know (shown, never fatal).
    fn notices(&self) -> &[String];
    /// The fixed colour range of a view for the current parameters, where the physics bounds it
    /// (`None`: scale to the data). Defaults to the spec's range.
    fn view_range(&self, view: &str) -> Option<(f32, f32)> {
        self.spec().views.iter().find(|v| v.name == view).and_then(|v| v.range)
    }
    /// The file of [`CaseSpec::exchange`] as it stands now.
    fn export_file(&self) -> Result<Vec<u8>, CaseError> {
        Err(CaseError::NoExchange(self.spec().id))
    }
    /// Takes a file of [`CaseSpec::exchange`] in (checked; a bad one changes nothing).
    fn import_file(&mut self, _bytes: &[u8]) -> Result<(), CaseError> {
        Err(CaseError::NoExchange(self.spec().id))
    }
    /// Profiles of the current state with reference data overlaid, where the case has them.
    fn plots(&self) -> Result<Vec<Plot>, CaseError> {
        Ok(Vec::new())
    }
    /// Observables that mean nothing for the current settings (DFSPH's iterations under WCSPH,
    /// errors against a solver that is off): the page does not plot them. They are still
    /// recorded, so that the CSV and `observables()` keep one format.
    fn inapplicable_observables(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// The error for a view name the case does not declare.
pub fn unknown_view(spec: &CaseSpec, view: &str) -> CaseError {
    CaseError::UnknownView {
        view: view.into(),
        known: spec.views.iter().map(|v| v.name).collect::<Vec<_>>().join(", "),
    }
}
