//! `taylor-green` (contract id): the decaying Taylor–Green vortex, an exact Navier–Stokes
//! solution on the periodic box [0, 2π]².

use crate::flow_case::{self, FlowSetup, ADVECTION, INTEGRATOR, TOLERANCE, VISCOSITY};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{CaseError, CaseSpec, Cost, ObservableSpec, ParamValues, Preset};
use flowscope_grid::{Grid, IncompressibleFlow, Sides, Velocity};
use std::f64::consts::TAU;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "nu",
        label: "Viscosity ν",
        unit: "m²/s",
        help: "The vortex pattern decays as exp(−2νt).",
        kind: ParamKind::Float { min: 1e-4, max: 1.0, default: 0.1, log: true },
        needs_reset: false,
    },
    ParamSpec {
        name: "U",
        label: "Velocity amplitude U",
        unit: "m/s",
        help: "Peak speed of the initial vortices.",
        kind: ParamKind::Float { min: 0.01, max: 10.0, default: 1.0, log: true },
        needs_reset: true,
    },
    flow_case::grid_size("Cells along each side of the 2π box.", 16, 512, 64),
    flow_case::cfl(0.25),
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
    id: "taylor-green",
    title: "Taylor–Green vortex",
    summary:
        "A checkerboard of vortices that decays exactly as exp(−2νt): a solver's accuracy test.",
    explanation: "u = U cos x sin y F(t), v = −U sin x cos y F(t) with F = exp(−2νt) solves the \
        incompressible Navier–Stokes equations exactly on the periodic box [0, 2π]²: the \
        nonlinear term is balanced by pressure and only viscosity acts, so the pattern keeps its \
        shape and fades. The 'amplitude' observable measures the simulated F against the exact \
        one; what remains is numerical error (here first order in the time step, from splitting \
        advection and projection).",
    reference: "G. I. Taylor, A. E. Green, Mechanism of the production of small eddies from large \
        ones, Proc. R. Soc. A 158 (1937); PhiFlow validation notebooks.",
    group: "grids",
    params: PARAMS,
    views: &[
        flow_case::view("vorticity"),
        flow_case::view("speed"),
        flow_case::view("pressure"),
        flow_case::view("velocity"),
    ],
    observables: crate::flow_observables![
        ObservableSpec { name: "amplitude", label: "Amplitude F (simulated)", unit: "" },
        ObservableSpec {
            name: "amplitude_exact",
            label: "Amplitude F = exp(−2νt) (exact)",
            unit: "",
        },
    ],
    interactions: &[],
    presets: &[
        Preset {
            name: "validation",
            label: "Validation setup: ν 0.1, U 1 on 64²",
            params: &[("nu", "0.1"), ("U", "1"), ("n", "64")],
        },
        Preset { name: "inviscid", label: "Nearly inviscid: ν 0.001", params: &[("nu", "0.001")] },
    ],
    exchange: None,
    models: &[],
    gpu: true,
    cost,
};

#[derive(Default)]
pub struct TaylorGreen {
    /// The initial field divided by U, to measure the amplitude by projection.
    shape: Option<Velocity>,
    /// `(t, F)` the exact decay starts from: the start, or the moment ν last changed.
    decay_origin: (f64, f64),
}

impl TaylorGreen {
    fn amplitude(&self, flow: &IncompressibleFlow) -> f64 {
        let Some(shape) = &self.shape else { return 0.0 };
        let dot = |a: &Velocity, b: &Velocity| {
            a.u.iter().zip(&b.u).map(|(x, y)| x * y).sum::<f64>()
                + a.v.iter().zip(&b.v).map(|(x, y)| x * y).sum::<f64>()
        };
        dot(&flow.velocity, shape) / dot(shape, shape)
    }
}

impl FlowSetup for TaylorGreen {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn build(&mut self, params: &ParamValues) -> Result<(IncompressibleFlow, f64), CaseError> {
        let n = params.int("n") as usize;
        let u0 = params.float("U");
        let grid = Grid::new(n, n, TAU, TAU, Sides::periodic()).expect("the schema keeps n ≥ 16");
        let shape = Velocity::from_fn(&grid, |x, y| x.cos() * y.sin(), |x, y| -x.sin() * y.cos());
        let velocity = Velocity {
            u: shape.u.iter().map(|s| u0 * s).collect(),
            v: shape.v.iter().map(|s| u0 * s).collect(),
        };
        self.shape = Some(shape);
        self.decay_origin = (0.0, u0);
        let flow = flow_case::new_flow(grid, velocity, params.float("nu"), params);
        Ok((flow, u0))
    }

    fn view_range(&self, params: &ParamValues, view: &str) -> Option<(f32, f32)> {
        // The initial field's extremes, so the decay shows as fading colour.
        let u0 = params.float("U") as f32;
        match view {
            "vorticity" => Some((-2.0 * u0, 2.0 * u0)),
            "speed" => Some((0.0, u0)),
            _ => None,
        }
    }

    fn extra_observables(&self, flow: &IncompressibleFlow, _: Option<&[f64]>) -> Vec<f64> {
        let (t0, a0) = self.decay_origin;
        let exact = a0 * (-2.0 * flow.nu * (flow.time - t0)).exp();
        vec![self.amplitude(flow), exact]
    }

    fn apply_live(
        &mut self,
        flow: &mut IncompressibleFlow,
        params: &ParamValues,
        name: &str,
    ) -> bool {
        if name == "nu" {
            self.decay_origin = (flow.time, self.amplitude(flow));
            flow.nu = params.float("nu");
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow_case::FlowCase;
    use flowscope_core::Case;

    #[test]
    fn the_amplitude_follows_the_exact_decay() {
        let mut case = FlowCase::new(TaylorGreen::default(), &SPEC.defaults(), None).unwrap();
        while case.time() < 1.0 {
            case.step(1).unwrap();
        }
        let values = case.observables().unwrap();
        let (simulated, exact) = (values[6], values[7]);
        assert!((simulated - exact).abs() / exact < 0.01, "{simulated} vs {exact}");
    }
}
