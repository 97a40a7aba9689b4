//! What the incompressible-flow cases share: stepping at a CFL number, the common views
//! (speed, vorticity, pressure, velocity) and observables. Each case file supplies a
//! [`FlowSetup`]: its spec, how parameters become a grid and an initial velocity, and any
//! observables of its own.

use crate::{GpuView, Simulation};
use flowscope_core::case::unknown_view;
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    Backend, Case, CaseError, CaseSpec, Domain, Field2, Interaction, ObservableSpec, ParamValue,
    ParamValues, ViewKind, ViewSpec,
};
use flowscope_grid::{Advection, Grid, IncompressibleFlow, Velocity};

/// Observables every flow case records first, in this order.
pub const COMMON_OBSERVABLES: [ObservableSpec; 5] = [
    ObservableSpec { name: "kinetic_energy", label: "Kinetic energy ½∫|u|²", unit: "m⁴/s²" },
    ObservableSpec { name: "max_divergence", label: "Max |∇·u| after projection", unit: "1/s" },
    ObservableSpec { name: "pressure_iterations", label: "Pressure solver iterations", unit: "" },
    ObservableSpec { name: "pressure_residual", label: "Pressure relative residual", unit: "" },
    ObservableSpec { name: "cfl", label: "CFL number", unit: "" },
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

pub trait FlowSetup {
    fn spec(&self) -> &'static CaseSpec;
    /// The flow for `params`, and the speed that sets the time step while the flow is slower.
    fn build(&mut self, params: &ParamValues) -> Result<(IncompressibleFlow, f64), CaseError>;
    /// Observables after [`COMMON_OBSERVABLES`], in the spec's order.
    fn extra_observables(&self, flow: &IncompressibleFlow) -> Vec<f64>;
    /// A fixed colour range for a view, where the setup bounds it (e.g. the lid speed).
    fn view_range(&self, params: &ParamValues, view: &str) -> Option<(f32, f32)>;
    /// The next time step; by default the CFL rule with the case's reference speed.
    fn dt(&self, flow: &IncompressibleFlow, params: &ParamValues, reference_speed: f64) -> f64 {
        flow.cfl_dt(params.float("cfl"), reference_speed)
    }
    /// Advances the flow by `dt`; cases with scalars or forces override it.
    fn advance(&mut self, flow: &mut IncompressibleFlow, dt: f64) -> Result<(), CaseError> {
        flow.step(dt).map(|_| ()).map_err(|e| CaseError::Diverged(e.to_string()))
    }
    /// Views beyond the common ones (cell-centred values), e.g. a smoke density.
    fn extra_view(&self, _name: &str) -> Option<Vec<f64>> {
        None
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
    IncompressibleFlow::new(grid, velocity, nu, advection(params), params.float("tolerance"))
}

pub fn advection(params: &ParamValues) -> Advection {
    match params.choice("advection") {
        "semi-lagrangian" => Advection::SemiLagrangian,
        _ => Advection::MacCormack,
    }
}

pub struct FlowCase<S: FlowSetup> {
    setup: S,
    params: ParamValues,
    flow: IncompressibleFlow,
    reference_speed: f64,
    steps: u64,
    notices: Vec<String>,
}

impl<S: FlowSetup> FlowCase<S> {
    pub fn new(mut setup: S, params: &ParamValues) -> Result<Self, CaseError> {
        let spec = setup.spec();
        let mut checked = spec.defaults();
        for (name, value) in params.iter() {
            checked.set(spec.id, spec.params, name, value.clone())?;
        }
        let (flow, reference_speed) = setup.build(&checked)?;
        Ok(Self { setup, params: checked, flow, reference_speed, steps: 0, notices: Vec::new() })
    }

    fn centred(&self, data: Vec<f64>) -> Field2 {
        Field2 {
            nx: self.flow.grid.nx,
            ny: self.flow.grid.ny,
            data: data.iter().map(|&v| v as f32).collect(),
        }
    }
}

impl<S: FlowSetup> Case for FlowCase<S> {
    fn spec(&self) -> &'static CaseSpec {
        self.setup.spec()
    }

    fn backend(&self) -> Backend {
        Backend::Cpu
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
            "tolerance" => self.flow.set_tolerance(params.float("tolerance")),
            "cfl" | "dt" => {}
            _ => {
                if !self.setup.apply_live(&mut self.flow, &params, name) {
                    return Err(CaseError::NeedsReset(name.to_string()));
                }
            }
        }
        self.params = params;
        Ok(())
    }

    fn step(&mut self, n: u32) -> Result<(), CaseError> {
        for _ in 0..n {
            let dt = self.setup.dt(&self.flow, &self.params, self.reference_speed);
            self.setup.advance(&mut self.flow, dt)?;
            self.steps += 1;
        }
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn time(&self) -> f64 {
        self.flow.time
    }

    fn dt(&self) -> f64 {
        match self.flow.last.dt {
            dt if dt > 0.0 => dt,
            _ => self.setup.dt(&self.flow, &self.params, self.reference_speed),
        }
    }

    fn domain(&self) -> Domain {
        [[0.0, self.flow.grid.lx], [0.0, self.flow.grid.ly]]
    }

    fn shape(&self) -> Option<[usize; 2]> {
        Some([self.flow.grid.ny, self.flow.grid.nx])
    }

    fn read_view(&self, name: &str) -> Result<Field2, CaseError> {
        let grid = &self.flow.grid;
        let (ux, uy) = self.flow.velocity.centred(grid);
        let data = match name {
            "speed" => ux.iter().zip(&uy).map(|(a, b)| a.hypot(*b)).collect(),
            "vorticity" => self.flow.velocity.vorticity(grid),
            "pressure" => self.flow.pressure(),
            "velocity_x" => ux,
            "velocity_y" => uy,
            "obstacle" => (0..grid.cells())
                .map(|k| f64::from(u8::from(grid.is_solid(k % grid.nx, k / grid.nx))))
                .collect(),
            other => {
                self.setup.extra_view(other).ok_or_else(|| unknown_view(self.setup.spec(), name))?
            }
        };
        Ok(self.centred(data))
    }

    fn observables(&self) -> Result<Vec<f64>, CaseError> {
        let last = &self.flow.last;
        let mut values = vec![
            self.flow.kinetic_energy(),
            last.max_divergence,
            last.pressure.iterations as f64,
            last.pressure.residual,
            last.cfl,
        ];
        values.extend(self.setup.extra_observables(&self.flow));
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
}

impl<S: FlowSetup> Simulation for FlowCase<S> {
    fn gpu_view(&self, _: &str) -> Option<GpuView<'_>> {
        None
    }
}
