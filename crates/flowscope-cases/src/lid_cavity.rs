//! `lid-cavity` (contract id): flow in a unit square driven by its sliding lid.

use crate::flow_case::{self, FlowSetup, ADVECTION, INTEGRATOR, TOLERANCE, VISCOSITY};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{CaseError, CaseSpec, Cost, ParamValues, Plot, Preset, Series};
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
    INTEGRATOR,
    VISCOSITY,
    TOLERANCE,
];
fn cost(params: &ParamValues) -> Cost {
    let n = params.int("n") as usize;
    flow_case::cost(n, n, &["n"])
}

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
    presets: &[
        Preset {
            name: "ghia-100",
            label: "Ghia et al. Re 100 (128²)",
            params: &[("Re", "100"), ("n", "128")],
        },
        Preset {
            name: "ghia-400",
            label: "Ghia et al. Re 400 (128²)",
            params: &[("Re", "400"), ("n", "128")],
        },
        Preset {
            name: "re-1000",
            label: "Re 1000: corner eddies (128²)",
            params: &[("Re", "1000"), ("n", "128")],
        },
    ],
    exchange: None,
    models: &[],
    gpu: true,
    cost,
};

/// Ghia, Ghia & Shin's Tables I and II (Re 100 and 400 columns), as the tests use them.
const GHIA_U: &str = include_str!("../../../tests/fixtures/ghia1982/u_vertical_centreline.csv");
const GHIA_V: &str = include_str!("../../../tests/fixtures/ghia1982/v_horizontal_centreline.csv");
const GHIA_RE: [f64; 2] = [100.0, 400.0];

/// `(coordinate, velocity)` points of one Re column of a Ghia table (header skipped; an empty
/// cell, the known misprint, is left out).
fn ghia(table: &str, column: usize) -> Vec<[f64; 2]> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            Some([cells.first()?.parse().ok()?, cells.get(column + 1)?.parse().ok()?])
        })
        .collect()
}

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

    fn plots(&self, flow: &IncompressibleFlow, params: &ParamValues) -> Vec<Plot> {
        let re = params.float("Re");
        let published = GHIA_RE.iter().position(|&r| ((re - r) / r).abs() < 0.01);
        let pairs = |profile: Vec<(f64, f64)>| profile.into_iter().map(|(a, b)| [a, b]).collect();
        let mut u = vec![Series::line("simulation", pairs(flow.u_profile_at_x(0.5)))];
        let mut v = vec![Series::line("simulation", pairs(flow.v_profile_at_y(0.5)))];
        let note = match published {
            Some(column) => {
                let label = format!("Ghia et al. 1982, Re {}", GHIA_RE[column]);
                u.push(Series::markers(label.clone(), ghia(GHIA_U, column)));
                v.push(Series::markers(label, ghia(GHIA_V, column)));
                String::new()
            }
            None => " (published points at Re 100 and 400)".into(),
        };
        vec![
            Plot {
                name: "u_centreline",
                title: format!("u along the vertical centreline x = 0.5{note}"),
                x_label: "y",
                y_label: "u",
                series: u,
            },
            Plot {
                name: "v_centreline",
                title: format!("v along the horizontal centreline y = 0.5{note}"),
                x_label: "x",
                y_label: "v",
                series: v,
            },
        ]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ghia_tables_parse_without_the_misprint() {
        assert_eq!(ghia(GHIA_U, 0).len(), 17);
        assert_eq!(ghia(GHIA_U, 0)[1], [0.9766, 0.84123]);
        assert_eq!(ghia(GHIA_V, 0).len(), 17);
        assert_eq!(ghia(GHIA_V, 1).len(), 16);
    }

    #[test]
    fn the_centreline_plots_carry_ghia_points_at_published_re_only() {
        let mut params = SPEC.defaults();
        params.set_text(SPEC.id, SPEC.params, "n", "16").unwrap();
        let case = crate::create("lid-cavity", &params, None).unwrap();
        let plots = case.plots().unwrap();
        assert_eq!(plots.len(), 2);
        assert_eq!(plots[0].series.len(), 2, "Re 100 has Ghia's points");
        assert_eq!(plots[0].series[0].points.len(), 16);
        params.set_text(SPEC.id, SPEC.params, "Re", "250").unwrap();
        let case = crate::create("lid-cavity", &params, None).unwrap();
        assert_eq!(case.plots().unwrap()[1].series.len(), 1, "no published points at Re 250");
    }
}
