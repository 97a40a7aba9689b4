//! What the incompressible-flow cases share: stepping at a CFL number, the common views
//! (speed, vorticity, pressure, velocity) and observables. Each case file supplies a
//! [`FlowSetup`]: its spec, how parameters become a grid and an initial velocity, and any
//! observables of its own.

use crate::{GpuView, Simulation};
use flowscope_core::case::unknown_view;
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    Backend, Case, CaseError, CaseSpec, Cost, Domain, Field2, Interaction, ObservableSpec,
    ParamValue, ParamValues, Plot, ViewKind, ViewSpec,
};
use flowscope_gpu::GpuContext;
use flowscope_grid::forces::obstacle_force;
use flowscope_grid::gpu::FORCE_HISTORY;
use flowscope_grid::{
    Advection, FlowError, GpuFlow, Grid, IncompressibleFlow, Integrator, ScalarForcing, Velocity,
    Viscosity,
};
use std::borrow::Cow;

/// Observables every flow case records first, in this order.
pub const COMMON_OBSERVABLES: [ObservableSpec; 6] = [
    ObservableSpec { name: "kinetic_energy", label: "Kinetic energy ½∫|u|²", unit: "m⁴/s²" },
    ObservableSpec { name: "max_divergence", label: "Max |∇·u| after projection", unit: "1/s" },
    ObservableSpec { name: "pressure_iterations", label: "Pressure solver iterations", unit: "" },
    ObservableSpec { name: "pressure_residual", label: "Pressure relative residual", unit: "" },
    ObservableSpec { name: "cfl", label: "CFL number", unit: "" },
    ObservableSpec {
        name: "viscosity_iterations",
        label: "Implicit viscosity solver iterations (0: explicit)",
        unit: "",
    },
];

/// Parameters every flow case offers (besides its own).
pub const ADVECTION: ParamSpec = ParamSpec {
    name: "advection",
    label: "Advection scheme",
    unit: "",
    help: "maccormack: second order where the flow is smooth. semi-lagrangian: first order, more numerical viscosity.",
    kind: ParamKind::Enum { options: &["maccormack", "semi-lagrangian"], default: "maccormack" },
    needs_reset: false,
};

pub const INTEGRATOR: ParamSpec = ParamSpec {
    name: "integrator",
    label: "Trace-back integrator",
    unit: "",
    help: "How advection finds where the fluid came from. midpoint: second order, two velocity lookups. euler: first order, one lookup (PhiFlow's default).",
    kind: ParamKind::Enum { options: &["midpoint", "euler"], default: "midpoint" },
    needs_reset: false,
};

pub const VISCOSITY: ParamSpec = ParamSpec {
    name: "viscosity",
    label: "Viscosity time stepping",
    unit: "",
    help: "explicit: forward Euler, sub-stepped when ν dt / dx² is large (low Re, fine grids). implicit: backward Euler, one multigrid-CG solve per velocity component, stable for any step.",
    kind: ParamKind::Enum { options: &["explicit", "implicit"], default: "explicit" },
    needs_reset: false,
};

/// Vorticity confinement, for cases that offer it.
pub const CONFINEMENT: ParamSpec = ParamSpec {
    name: "confinement",
    label: "Vorticity confinement ε",
    unit: "",
    help: "Puts back small-scale swirl that the advection's numerical viscosity smears out (Fedkiw et al. 2001); 0 is off.",
    kind: ParamKind::Float { min: 0.0, max: 2.0, default: 0.0, log: false },
    needs_reset: false,
};

pub const TOLERANCE: ParamSpec = ParamSpec {
    name: "tolerance",
    label: "Pressure tolerance",
    unit: "relative residual",
    help: "The pressure solve stops when the residual has shrunk by this factor.",
    kind: ParamKind::Float { min: 1e-10, max: 1e-2, default: 1e-6, log: true },
    needs_reset: false,
};

/// The pressure tolerance with a case-specific default.
pub const fn tolerance(default: f64) -> ParamSpec {
    ParamSpec { kind: ParamKind::Float { min: 1e-10, max: 1e-2, default, log: true }, ..TOLERANCE }
}

/// How the notice of [`FlowCase::note_viscosity_fallback`] starts.
const VISCOSITY_FALLBACK: &str = "Explicit viscosity would take";

/// Bytes a flow holds per cell (velocity, pressure, the multigrid hierarchy, advection and
/// solver scratch, f64 on the CPU); measured by tests/budget.rs.
pub const CELL_BYTES: u64 = 192;

/// The cost of a flow on `nx × ny` cells, sized by the parameters `set_by`.
pub fn cost(nx: usize, ny: usize, set_by: &'static [&'static str]) -> Cost {
    Cost::grid((nx * ny) as u64, CELL_BYTES, set_by)
}

/// The grid-size parameter: `help` says along which side the cells are counted.
pub const fn grid_size(help: &'static str, min: i64, max: i64, default: i64) -> ParamSpec {
    ParamSpec {
        name: "n",
        label: "Grid size",
        unit: "cells",
        help,
        kind: ParamKind::Int { min, max, default },
        needs_reset: true,
    }
}

/// The observables of a flow case: [`COMMON_OBSERVABLES`], then the case's own.
#[macro_export]
macro_rules! flow_observables {
    ($($extra:expr),* $(,)?) => {
        &[
            $crate::flow_case::COMMON_OBSERVABLES[0],
            $crate::flow_case::COMMON_OBSERVABLES[1],
            $crate::flow_case::COMMON_OBSERVABLES[2],
            $crate::flow_case::COMMON_OBSERVABLES[3],
            $crate::flow_case::COMMON_OBSERVABLES[4],
            $crate::flow_case::COMMON_OBSERVABLES[5],
            $($extra),*
        ]
    };
}

/// The CFL parameter with a case-specific default.
pub const fn cfl(default: f64) -> ParamSpec {
    ParamSpec {
        name: "cfl",
        label: "CFL number",
        unit: "",
        help: "Time step as a fraction of the time the fastest fluid needs to cross a cell.",
        kind: ParamKind::Float { min: 0.05, max: 2.0, default, log: false },
        needs_reset: false,
    }
}

/// The common views: speed, vorticity, pressure (cell centres) and the velocity vector.
pub const fn view(name: &'static str) -> ViewSpec {
    match name.as_bytes() {
        b"speed" => ViewSpec {
            name: "speed",
            label: "Speed |u|",
            unit: "m/s",
            kind: ViewKind::Scalar,
            range: None,
            colormap: "viridis",
        },
        b"vorticity" => ViewSpec {
            name: "vorticity",
            label: "Vorticity ∂v/∂x − ∂u/∂y",
            unit: "1/s",
            kind: ViewKind::Scalar,
            range: None,
            colormap: "coolwarm",
        },
        b"pressure" => ViewSpec {
            name: "pressure",
            label: "Pressure",
            unit: "m²/s²",
            kind: ViewKind::Scalar,
            range: None,
            colormap: "coolwarm",
        },
        _ => ViewSpec {
            name: "velocity",
            label: "Velocity",
            unit: "m/s",
            kind: ViewKind::Vector,
            range: None,
            colormap: "viridis",
        },
    }
}

/// A passive scalar (smoke) that a case's flow carries: the view that shows it, its initial
/// values, its source coverage per cell and its forcing.
pub struct Scalar {
    pub view: &'static str,
    pub initial: Vec<f64>,
    pub source: Vec<f64>,
    pub forcing: ScalarForcing,
}

pub trait FlowSetup {
    fn spec(&self) -> &'static CaseSpec;
    /// The flow for `params`, and the speed that sets the time step while the flow is slower.
    fn build(&mut self, params: &ParamValues) -> Result<(IncompressibleFlow, f64), CaseError>;
    /// The passive scalar of the flow built last, if the case has one.
    fn scalar(&self, _params: &ParamValues) -> Option<Scalar> {
        None
    }
    /// The scalar's forcing for `params` (after a live change).
    fn scalar_forcing(&self, _params: &ParamValues) -> Option<ScalarForcing> {
        None
    }
    /// Observables after [`COMMON_OBSERVABLES`], in the spec's order.
    fn extra_observables(&self, flow: &IncompressibleFlow, scalar: Option<&[f64]>) -> Vec<f64>;
    /// A fixed colour range for a view, where the setup bounds it (e.g. the lid speed).
    fn view_range(&self, params: &ParamValues, view: &str) -> Option<(f32, f32)>;
    /// A fixed time step, for cases that do not step at a CFL number.
    fn fixed_dt(&self, _params: &ParamValues) -> Option<f64> {
        None
    }
    /// Whether the case wants the force on its obstacles after every step.
    fn measures_force(&self) -> bool {
        false
    }
    /// The force `(Fx, Fy)` on the obstacles after the step that ended at `time`.
    fn on_force(&mut self, _time: f64, _force: (f64, f64)) {}
    /// Profiles of the flow against reference data (see [`Case::plots`]).
    fn plots(&self, _flow: &IncompressibleFlow, _params: &ParamValues) -> Vec<Plot> {
        Vec::new()
    }
    /// Applies a live parameter to a running flow; `false` if the parameter is not live here.
    fn apply_live(
        &mut self,
        flow: &mut IncompressibleFlow,
        params: &ParamValues,
        name: &str,
    ) -> bool;
}

/// A flow on `grid` from `velocity` with the viscosity given and the advection scheme and pressure
/// tolerance of `params`.
pub fn new_flow(
    grid: Grid,
    velocity: Velocity,
    nu: f64,
    params: &ParamValues,
) -> IncompressibleFlow {
    let mut flow =
        IncompressibleFlow::new(grid, velocity, nu, advection(params), params.float("tolerance"));
    if let Some(ParamValue::Float(epsilon)) = params.get("confinement") {
        flow.confinement = *epsilon;
    }
    flow.viscosity = viscosity(params);
    flow.integrator = integrator(params);
    flow
}

pub fn viscosity(params: &ParamValues) -> Viscosity {
    match params.get("viscosity") {
        Some(ParamValue::Enum(choice)) if choice == "implicit" => Viscosity::Implicit,
        _ => Viscosity::Explicit,
    }
}

pub fn integrator(params: &ParamValues) -> Integrator {
    match params.choice("integrator") {
        "euler" => Integrator::Euler,
        _ => Integrator::Midpoint,
    }
}

pub fn advection(params: &ParamValues) -> Advection {
    match params.choice("advection") {
        "semi-lagrangian" => Advection::SemiLagrangian,
        _ => Advection::MacCormack,
    }
}

/// A flow and its scalar, borrowed from the CPU backend or copied from the GPU.
type Current<'a> = (Cow<'a, IncompressibleFlow>, Option<Cow<'a, [f64]>>);

/// The scalar's state on the CPU backend.
struct CpuScalar {
    values: Vec<f64>,
    source: Vec<f64>,
    forcing: ScalarForcing,
}

pub struct FlowCase<S: FlowSetup> {
    setup: S,
    params: ParamValues,
    /// The state on the CPU backend; on the GPU backend the initial state and the grid.
    flow: IncompressibleFlow,
    gpu: Option<Box<GpuFlow>>,
    scalar_view: Option<&'static str>,
    cpu_scalar: Option<CpuScalar>,
    reference_speed: f64,
    steps: u64,
    notices: Vec<String>,
    /// The GPU state as last read back without blocking (the browser's observables, plots and
    /// exports: a frame or so behind the simulation).
    #[cfg(target_arch = "wasm32")]
    mirror: std::cell::RefCell<Option<flowscope_grid::gpu::Snapshot>>,
}

impl<S: FlowSetup> FlowCase<S> {
    pub fn new(
        mut setup: S,
        params: &ParamValues,
        gpu: Option<&GpuContext>,
    ) -> Result<Self, CaseError> {
        let checked = setup.spec().complete(params)?;
        let (flow, reference_speed) = setup.build(&checked)?;
        let scalar = setup.scalar(&checked);
        let scalar_view = scalar.as_ref().map(|s| s.view);
        let (gpu, cpu_scalar) = match gpu {
            Some(ctx) => {
                let mut twin = GpuFlow::new(ctx, &flow);
                if setup.measures_force() {
                    twin = twin.with_forces();
                }
                if let Some(s) = &scalar {
                    twin = twin.with_scalar(&s.initial, &s.source, s.forcing);
                }
                #[cfg(target_arch = "wasm32")]
                twin.request_snapshot();
                (Some(Box::new(twin)), None)
            }
            None => (
                None,
                scalar.map(|s| CpuScalar {
                    values: s.initial,
                    source: s.source,
                    forcing: s.forcing,
                }),
            ),
        };
        Ok(Self {
            setup,
            params: checked,
            flow,
            gpu,
            scalar_view,
            cpu_scalar,
            reference_speed,
            steps: 0,
            notices: Vec::new(),
            #[cfg(target_arch = "wasm32")]
            mirror: Default::default(),
        })
    }

    fn centred(&self, data: Vec<f64>) -> Field2 {
        Field2 {
            nx: self.flow.grid.nx,
            ny: self.flow.grid.ny,
            data: data.iter().map(|&v| v as f32).collect(),
        }
    }

    fn next_dt(&self) -> f64 {
        let cfl = || self.params.float("cfl");
        match (self.setup.fixed_dt(&self.params), &self.gpu) {
            (Some(dt), _) => dt,
            (None, Some(gpu)) => gpu.cfl_dt(cfl(), self.reference_speed),
            (None, None) => self.flow.cfl_dt(cfl(), self.reference_speed),
        }
    }

    /// The current flow and scalar on the CPU: the state itself on the CPU backend; on the GPU
    /// backend a blocking copy natively, the last asynchronous one in the browser.
    fn current(&self) -> Result<Current<'_>, CaseError> {
        let Some(gpu) = &self.gpu else {
            let scalar = self.cpu_scalar.as_ref().map(|s| Cow::Borrowed(s.values.as_slice()));
            return Ok((Cow::Borrowed(&self.flow), scalar));
        };
        #[cfg(target_arch = "wasm32")]
        let snapshot = {
            if let Some(latest) = gpu.take_snapshot() {
                *self.mirror.borrow_mut() = Some(latest);
            }
            self.mirror.borrow().clone().ok_or_else(|| {
                CaseError::Gpu("the GPU state has not been read back yet; try again".into())
            })?
        };
        #[cfg(not(target_arch = "wasm32"))]
        let snapshot = gpu.download().map_err(CaseError::Gpu)?;
        let mut mirror = self.flow.clone();
        mirror.velocity = snapshot.velocity;
        mirror.phi = snapshot.phi;
        mirror.nu = gpu.nu;
        mirror.time = gpu.time;
        mirror.last = gpu.last;
        Ok((Cow::Owned(mirror), snapshot.scalar.map(Cow::Owned)))
    }
}

impl<S: FlowSetup> FlowCase<S> {
    /// Steps on the GPU in batches whose obstacle forces the GPU can record, taking in the
    /// statistics (and forces) of each: at once natively, a frame later in the browser.
    fn step_gpu(&mut self, n: u32) -> Result<(), CaseError> {
        let diverged = |e: FlowError| CaseError::Diverged(e.to_string());
        let mut left = n;
        while left > 0 {
            let batch = left.min(FORCE_HISTORY);
            let gpu = self.gpu.as_mut().expect("called on the GPU backend");
            gpu.poll_stats().map_err(diverged)?;
            self.take_forces();
            let dt = self.next_dt();
            let gpu = self.gpu.as_mut().expect("called on the GPU backend");
            gpu.step(dt, batch);
            #[cfg(not(target_arch = "wasm32"))]
            gpu.sync().map_err(diverged)?;
            #[cfg(target_arch = "wasm32")]
            {
                gpu.request_stats();
                gpu.request_snapshot();
            }
            self.take_forces();
            self.steps += u64::from(batch);
            left -= batch;
        }
        self.note_viscosity_fallback();
        Ok(())
    }

    /// Says once that explicit viscosity was too stiff for the step and was solved implicitly.
    fn note_viscosity_fallback(&mut self) {
        let last = self.gpu.as_ref().map_or(self.flow.last, |gpu| gpu.last);
        let said = self.notices.iter().any(|n| n.starts_with(VISCOSITY_FALLBACK));
        if last.implicit_fallback && !said {
            self.notices.push(format!(
                "{VISCOSITY_FALLBACK} more than {} sub-steps a step at this grid, ν and dt, so \
                 it is solved implicitly (as viscosity=implicit would)",
                flowscope_grid::diffuse::MAX_EXPLICIT_SUBSTEPS
            ));
        }
    }

    fn take_forces(&mut self) {
        let Some(gpu) = &mut self.gpu else { return };
        for (time, fx, fy) in std::mem::take(&mut gpu.forces) {
            self.setup.on_force(time, (fx, fy));
        }
    }
}

impl<S: FlowSetup> Case for FlowCase<S> {
    fn spec(&self) -> &'static CaseSpec {
        self.setup.spec()
    }

    fn backend(&self) -> Backend {
        if self.gpu.is_some() {
            Backend::Gpu
        } else {
            Backend::Cpu
        }
    }

    fn params(&self) -> &ParamValues {
        &self.params
    }

    fn set_param(&mut self, name: &str, value: ParamValue) -> Result<(), CaseError> {
        let spec = self.setup.spec();
        let mut params = self.params.clone();
        params.set(spec.id, spec.params, name, value)?;
        if spec.param(name).is_some_and(|p| p.needs_reset) {
            return Err(CaseError::NeedsReset(name.to_string()));
        }
        match name {
            "advection" => self.flow.advection = advection(&params),
            "integrator" => self.flow.integrator = integrator(&params),
            "viscosity" => self.flow.viscosity = viscosity(&params),
            "tolerance" => self.flow.set_tolerance(params.float("tolerance")),
            "confinement" => self.flow.confinement = params.float("confinement"),
            "cfl" | "dt" => {}
            _ => {
                // Live changes may read the current flow (e.g. an amplitude to decay from).
                #[cfg(not(target_arch = "wasm32"))]
                if self.gpu.is_some() {
                    let current = self.current()?.0.into_owned();
                    self.flow = current;
                }
                if !self.setup.apply_live(&mut self.flow, &params, name) {
                    return Err(CaseError::NeedsReset(name.to_string()));
                }
            }
        }
        let forcing = self.setup.scalar_forcing(&params);
        if let (Some(scalar), Some(forcing)) = (&mut self.cpu_scalar, forcing) {
            scalar.forcing = forcing;
        }
        if let Some(gpu) = &mut self.gpu {
            gpu.advection = self.flow.advection;
            gpu.integrator = self.flow.integrator;
            gpu.set_viscosity(self.flow.viscosity);
            gpu.tolerance = self.flow.tolerance();
            gpu.nu = self.flow.nu;
            gpu.confinement = self.flow.confinement;
            if let Some(forcing) = forcing {
                gpu.set_scalar_forcing(forcing);
            }
        }
        self.params = params;
        Ok(())
    }

    fn step(&mut self, n: u32) -> Result<(), CaseError> {
        let diverged = |e: FlowError| CaseError::Diverged(e.to_string());
        if self.gpu.is_some() {
            return self.step_gpu(n);
        }
        for _ in 0..n {
            let dt = self.next_dt();
            match &mut self.cpu_scalar {
                Some(s) => self.flow.step_with_scalar(dt, &mut s.values, &s.source, s.forcing),
                None => self.flow.step(dt),
            }
            .map_err(diverged)?;
            if self.setup.measures_force() {
                let flow = &self.flow;
                let force = obstacle_force(&flow.grid, &flow.velocity, &flow.pressure(), flow.nu);
                self.setup.on_force(flow.time, force);
            }
            self.steps += 1;
        }
        self.note_viscosity_fallback();
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn time(&self) -> f64 {
        self.gpu.as_ref().map_or(self.flow.time, |gpu| gpu.time)
    }

    fn dt(&self) -> f64 {
        let last = self.gpu.as_ref().map_or(self.flow.last.dt, |gpu| gpu.last.dt);
        if last > 0.0 {
            last
        } else {
            self.next_dt()
        }
    }

    fn domain(&self) -> Domain {
        [[0.0, self.flow.grid.lx], [0.0, self.flow.grid.ly]]
    }

    fn shape(&self) -> Option<[usize; 2]> {
        Some([self.flow.grid.ny, self.flow.grid.nx])
    }

    fn read_view(&self, name: &str) -> Result<Field2, CaseError> {
        let (flow, scalar) = self.current()?;
        let grid = &flow.grid;
        let (ux, uy) = flow.velocity.centred(grid);
        let data = match name {
            "speed" => ux.iter().zip(&uy).map(|(a, b)| a.hypot(*b)).collect(),
            "vorticity" => flow.velocity.vorticity(grid),
            "pressure" => flow.pressure(),
            "velocity_x" => ux,
            "velocity_y" => uy,
            "obstacle" => (0..grid.cells())
                .map(|k| f64::from(u8::from(grid.is_solid(k % grid.nx, k / grid.nx))))
                .collect(),
            other => match (self.scalar_view, scalar) {
                (Some(view), Some(values)) if view == other => values.into_owned(),
                _ => return Err(unknown_view(self.setup.spec(), name)),
            },
        };
        Ok(self.centred(data))
    }

    fn observables(&self) -> Result<Vec<f64>, CaseError> {
        let (flow, scalar) = self.current()?;
        let last = &flow.last;
        let mut values = vec![
            flow.kinetic_energy(),
            last.max_divergence,
            last.pressure.iterations as f64,
            last.pressure.residual,
            last.cfl,
            last.viscous.iterations as f64,
        ];
        values.extend(self.setup.extra_observables(&flow, scalar.as_deref()));
        Ok(values)
    }

    fn interact(&mut self, _: &Interaction) -> Result<(), CaseError> {
        Err(CaseError::BadInteraction(format!(
            "'{}' takes no pointer input yet",
            self.setup.spec().id
        )))
    }

    fn notices(&self) -> &[String] {
        &self.notices
    }

    fn view_range(&self, view: &str) -> Option<(f32, f32)> {
        self.setup.view_range(&self.params, view)
    }

    fn plots(&self) -> Result<Vec<Plot>, CaseError> {
        let (flow, _) = self.current()?;
        Ok(self.setup.plots(&flow, &self.params))
    }
}

impl<S: FlowSetup> FlowCase<S> {
    /// The GPU twin's name for a view.
    fn gpu_name<'a>(&self, view: &'a str) -> &'a str {
        if Some(view) == self.scalar_view {
            "scalar"
        } else {
            view
        }
    }
}

impl<S: FlowSetup> Simulation for FlowCase<S> {
    fn measured_range(&self, view: &str) -> Option<(f32, f32)> {
        self.gpu.as_ref()?.view_extent(self.gpu_name(view))
    }

    fn gpu_view(&self, view: &str) -> Option<GpuView<'_>> {
        let gpu = self.gpu.as_ref()?;
        let name = self.gpu_name(view);
        Some(GpuView {
            buffer: gpu.view(name)?,
            nx: self.flow.grid.nx as u32,
            ny: self.flow.grid.ny as u32,
        })
    }
}
