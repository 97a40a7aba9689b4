//! `backward-step` (contract id): channel flow over a backward-facing step; the flow separates
//! at the step edge and reattaches downstream.

use crate::flow_case::{self, FlowSetup, ADVECTION, INTEGRATOR, TOLERANCE, VISCOSITY};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{CaseError, CaseSpec, Cost, ObservableSpec, ParamValues, Preset};
use flowscope_grid::{Grid, IncompressibleFlow, Side, Sides, Velocity};

/// Upstream inlet length over the step, in channel heights.
const INLET: f64 = 1.0;
/// Channel height downstream of the step (m).
const HEIGHT: f64 = 1.0;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "Re",
        label: "Reynolds number Re = Ū · 2h / ν",
        unit: "",
        help: "Mean inlet speed times the inlet's hydraulic diameter (twice its height h) over viscosity, as Armaly et al. define it.",
        kind: ParamKind::Float { min: 10.0, max: 1000.0, default: 389.0, log: true },
        needs_reset: false,
    },
    ParamSpec {
        name: "expansion",
        label: "Expansion ratio H / h",
        unit: "",
        help: "Channel height after the step over the inlet height (Armaly et al.: 1.9423).",
        kind: ParamKind::Float { min: 1.2, max: 3.0, default: 1.9423, log: false },
        needs_reset: true,
    },
    ParamSpec {
        name: "length",
        label: "Channel length after the step",
        unit: "H",
        help: "In channel heights; long enough for the flow to reattach.",
        kind: ParamKind::Float { min: 4.0, max: 40.0, default: 12.0, log: false },
        needs_reset: true,
    },
    flow_case::grid_size("Cells across the channel height H.", 16, 128, 32),
    flow_case::cfl(0.5),
    ADVECTION,
    INTEGRATOR,
    VISCOSITY,
    TOLERANCE,
];
fn cost(params: &ParamValues) -> Cost {
    let [nx, ny] = shape(params);
    flow_case::cost(nx, ny, &["n", "length"])
}

/// Cells along and across the channel (the inlet, then `length`), `n` across.
fn shape(params: &ParamValues) -> [usize; 2] {
    let n = params.int("n") as usize;
    let h = HEIGHT / n as f64;
    [((INLET + params.float("length")) / h).round() as usize, n]
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "backward-step",
    title: "Backward-facing step",
    summary:
        "Channel flow over a sudden widening: separation, a recirculation bubble, reattachment.",
    explanation:
        "Fluid enters a narrow channel with a parabolic profile and meets a step down. It \
        cannot turn the sharp corner, so it separates and leaves a recirculating bubble behind the \
        step; downstream it reattaches to the floor. The reattachment length grows with Re in the \
        laminar range — Armaly et al. measured about 8 step heights at Re ≈ 389.",
    reference: "B. F. Armaly, F. Durst, J. C. F. Pereira, B. Schönung, Experimental and \
        theoretical investigation of backward-facing step flow, J. Fluid Mech. 127 (1983); \
        PhiFlow validation notebooks (Re ≈ 389).",
    group: "grids",
    params: PARAMS,
    views: &[
        flow_case::view("speed"),
        flow_case::view("vorticity"),
        flow_case::view("pressure"),
        flow_case::view("velocity"),
    ],
    observables: crate::flow_observables![ObservableSpec {
        name: "reattachment",
        label: "Reattachment length / step height",
        unit: "",
    },],
    interactions: &[],
    presets: &[
        Preset { name: "armaly-389", label: "Armaly et al. Re 389", params: &[("Re", "389")] },
        Preset { name: "re-100", label: "Re 100: short bubble", params: &[("Re", "100")] },
        Preset {
            name: "re-800",
            label: "Re 800: long bubble, finer grid",
            params: &[("Re", "800"), ("n", "48")],
        },
    ],
    exchange: None,
    models: &[],
    gpu: true,
    cost,
};

#[derive(Default)]
pub struct BackwardStep {
    step: f64,
    inlet_speed: f64,
}

impl FlowSetup for BackwardStep {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn build(&mut self, params: &ParamValues) -> Result<(IncompressibleFlow, f64), CaseError> {
        let [nx, n] = shape(params);
        let height = HEIGHT;
        let step = height * (1.0 - 1.0 / params.float("expansion"));
        let h = height / n as f64;
        let umax = 1.5;
        let inlet = height - step;
        let wall = Side::NoSlip { tangential: 0.0 };
        let sides = Sides {
            left: Side::Inflow { speed: umax, parabolic: true },
            right: Side::Outflow { convective: false },
            bottom: wall,
            top: wall,
        };
        let grid = Grid::new(nx, n, nx as f64 * h, height, sides)
            .expect("valid channel")
            .with_obstacle(|x, y| x < INLET && y < step)
            .with_inflow_span(step, height);
        self.step = step;
        self.inlet_speed = 2.0 / 3.0 * umax;
        let nu = self.inlet_speed * 2.0 * inlet / params.float("Re");
        let velocity = Velocity::from_fn(&grid, |_, _| 0.0, |_, _| 0.0);
        let flow = flow_case::new_flow(grid, velocity, nu, params);
        Ok((flow, umax))
    }

    fn view_range(&self, _: &ParamValues, view: &str) -> Option<(f32, f32)> {
        (view == "speed").then_some((0.0, (1.5 * self.inlet_speed * 1.5) as f32))
    }

    fn extra_observables(&self, flow: &IncompressibleFlow, _: Option<&[f64]>) -> Vec<f64> {
        // The first place downstream of the step where the floor's near-wall flow turns forward.
        let grid = &flow.grid;
        let dx = grid.dx();
        let first = (INLET / dx).ceil() as usize;
        let near_wall = |i: usize| flow.velocity.u[i];
        let reattach = (first + 1..grid.nx)
            .find(|&i| near_wall(i - 1) < 0.0 && near_wall(i) >= 0.0)
            .map(|i| {
                let (a, b) = (near_wall(i - 1), near_wall(i));
                let x = (i - 1) as f64 * dx + dx * (-a) / (b - a);
                (x - INLET) / self.step
            });
        vec![reattach.unwrap_or(0.0)]
    }

    fn apply_live(
        &mut self,
        flow: &mut IncompressibleFlow,
        params: &ParamValues,
        name: &str,
    ) -> bool {
        if name == "Re" {
            let inlet = self.step / (1.0 - 1.0 / params.float("expansion")) - self.step;
            flow.nu = self.inlet_speed * 2.0 * inlet / params.float("Re");
            return true;
        }
        false
    }
}
