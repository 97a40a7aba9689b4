//! `lid-cavity` (contract id): flow in a unit square driven by its sliding lid.

use crate::flow_case::{self, FlowSetup, ADVECTION, TOLERANCE, VISCOSITY};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{CaseError, CaseSpec, ParamValues};
use flowscope_grid::{Grid, IncompressibleFlow, Side, Sides, Velocity};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "Re",
        label: "Reynolds number Re = U L / ν",
        unit: "",
        help: "Lid speed times cavity size over viscosity. Ghia et al. tabulate 100 to 10000; above a few thousand the flow needs finer grids.",
        kind: ParamKind::Float { min: 10.0, max: 5000.0, default: 100.0, log: true },
        needs_reset: false,
    },
    flow_case::grid_size("Cells along each side.", 16, 512, 64),
    flow_case::cfl(0.5),
    ADVECTION,
    VISCOSITY,
    TOLERANCE,
];

pub static SPEC: CaseSpec = CaseSpec {
    id: "lid-cavity",
    title: "Lid-driven cavity",
    summary: "A square box of fluid stirred by its sliding lid: the classic solver benchmark.",
    explanation: "The top wall slides to the right at speed 1 while the other walls stay still; \
        viscosity passes the motion down and a large vortex fills the box, with small counter-\
        rotating eddies in the lower corners as Re grows. The velocity obeys the incompressible \
        Navier–Stokes equations ∂u/∂t + (u·∇)u = −∇p + ∇²u/Re, ∇·u = 0, solved on a staggered \
        grid: advect, diffuse, then project onto divergence-free fields with a multigrid-\
        preconditioned conjugate-gradient pressure solve. At steady state the centreline \
        velocities match Ghia et al.'s tables.",
    reference:
        "U. Ghia, K. N. Ghia, C. T. Shin, High-Re solutions for incompressible flow using the \
        Navier–Stokes equations and a multigrid method, J. Comput. Phys. 48 (1982); PhiFlow \
        validation notebooks (cavity at Re 100 on 128²).",
    group: "grids",
    params: PARAMS,
    views: &[
        flow_case::view("speed"),
        flow_case::view("vorticity"),
        flow_case::view("pressure"),
        flow_case::view("velocity"),
    ],
    observables: crate::flow_observables![],
    interactions: &[],
    gpu: true,
};

pub struct LidCavity;

impl FlowSetup for LidCavity {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn build(&mut self, params: &ParamValues) -> Result<(IncompressibleFlow, f64), CaseError> {
        let n = params.int("n") as usize;
        let wall = Side::NoSlip { tangential: 0.0 };
        let sides =
            Sides { left: wall, right: wall, bottom: wall, top: Side::NoSlip { tangential: 1.0 } };
        let grid = Grid::new(n, n, 1.0, 1.0, sides).expect("the schema keeps n ≥ 16");
        let flow = flow_case::new_flow(
            grid.clone(),
            Velocity::zeros(&grid),
            1.0 / params.float("Re"),
            params,
        );
        Ok((flow, 1.0))
    }

    fn view_range(&self, _: &ParamValues, view: &str) -> Option<(f32, f32)> {
        // The lid is the fastest thing in the box.
        (view == "speed").then_some((0.0, 1.0))
    }

    fn extra_observables(&self, _: &IncompressibleFlow, _: Option<&[f64]>) -> Vec<f64> {
        Vec::new()
    }

    fn apply_live(
        &mut self,
        flow: &mut IncompressibleFlow,
        params: &ParamValues,
        name: &str,
    ) -> bool {
        if name == "Re" {
            flow.nu = 1.0 / params.float("Re");
            return true;
        }
        false
    }
}
