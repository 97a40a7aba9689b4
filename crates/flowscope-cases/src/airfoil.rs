//! `airfoil` (contract id): flow past a NACA 4-digit airfoil at an angle of attack.

use crate::flow_case::{self, FlowSetup, ADVECTION, INTEGRATOR, VISCOSITY};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{CaseError, CaseSpec, Cost, ObservableSpec, ParamValues, Preset};
use flowscope_grid::{Grid, IncompressibleFlow, Side, Sides, Velocity};

const CHORD: f64 = 1.0;
const DOMAIN: (f64, f64) = (6.0, 3.0);
/// Leading edge position; the airfoil turns about its quarter chord.
const LEADING_EDGE: (f64, f64) = (1.5, 1.5);

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "naca",
        label: "NACA code",
        unit: "",
        help: "Four digits: camber (% chord), camber position (tenths), thickness (% chord).",
        kind: ParamKind::Enum { options: &["0012", "2412", "4412", "0006", "0018", "6409"], default: "2412" },
        needs_reset: true,
    },
    ParamSpec {
        name: "alpha",
        label: "Angle of attack",
        unit: "°",
        help: "Nose up is positive.",
        kind: ParamKind::Float { min: -20.0, max: 25.0, default: 5.0, log: false },
        needs_reset: true,
    },
    ParamSpec {
        name: "Re",
        label: "Reynolds number Re = U c / ν",
        unit: "",
        help: "Free-stream speed times chord over viscosity; at these grid sizes only low Re is resolved.",
        kind: ParamKind::Float { min: 10.0, max: 5000.0, default: 500.0, log: true },
        needs_reset: false,
    },
    flow_case::grid_size("Cells across the domain height (3 chords).", 32, 512, 96),
    flow_case::cfl(0.5),
    ADVECTION,
    INTEGRATOR,
    VISCOSITY,
    flow_case::tolerance(1e-5),
];
fn cost(params: &ParamValues) -> Cost {
    let n = params.int("n") as usize;
    flow_case::cost(n * (DOMAIN.0 / DOMAIN.1) as usize, n, &["n"])
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "airfoil",
    title: "Airfoil",
    summary: "A NACA 4-digit wing section at an angle of attack: lift, drag and the wake.",
    explanation: "Uniform flow meets a wing section. Camber and angle of attack turn the flow \
        downwards, the pressure below the wing rises and above it falls, and the wing is lifted. \
        The NACA 4-digit family describes the shape with three numbers (camber, its position, \
        thickness). Drag and lift coefficients come from the pressure and shear on the wing's \
        cells; at the low Reynolds numbers a browser grid resolves, drag is large and lift smaller \
        than in textbook (high-Re) tables.",
    reference: "I. H. Abbott, A. E. von Doenhoff, Theory of Wing Sections (1959), the NACA \
        4-digit definition; the airfoil flows of Q. Liu, N. Thuerey, Uncertainty-aware surrogate \
        models for airfoil flow simulations with denoising diffusion probabilistic models, AIAA \
        Journal 62(8), 2024.",
    group: "grids",
    params: PARAMS,
    views: &[
        flow_case::view("vorticity"),
        flow_case::view("speed"),
        flow_case::view("pressure"),
        flow_case::view("velocity"),
    ],
    observables: crate::flow_observables![
        ObservableSpec {
            name: "drag_coefficient",
            label: "Drag coefficient Cd = 2Fx/(U²c)",
            unit: "",
        },
        ObservableSpec {
            name: "lift_coefficient",
            label: "Lift coefficient Cl = 2Fy/(U²c)",
            unit: "",
        },
    ],
    interactions: &[],
    presets: &[
        Preset {
            name: "cruise",
            label: "NACA 2412 at 5°",
            params: &[("naca", "2412"), ("alpha", "5")],
        },
        Preset {
            name: "symmetric",
            label: "NACA 0012 at 0°: no lift",
            params: &[("naca", "0012"), ("alpha", "0")],
        },
        Preset {
            name: "stall",
            label: "NACA 4412 at 18°: stall",
            params: &[("naca", "4412"), ("alpha", "18")],
        },
    ],
    exchange: None,
    models: &[],
    gpu: true,
    cost,
};

/// Whether the chord-frame point (x, y), x ∈ [0, 1] from the leading edge, is inside the NACA
/// 4-digit section `m p t` (camber, camber position, thickness as fractions of the chord).
pub fn naca_inside(x: f64, y: f64, m: f64, p: f64, t: f64) -> bool {
    if !(0.0..=1.0).contains(&x) {
        return false;
    }
    let thickness = 5.0
        * t
        * (0.2969 * x.sqrt() - 0.1260 * x - 0.3516 * x * x + 0.2843 * x.powi(3)
            - 0.1015 * x.powi(4));
    let camber = if m == 0.0 || p == 0.0 {
        0.0
    } else if x < p {
        m / (p * p) * (2.0 * p * x - x * x)
    } else {
        m / ((1.0 - p) * (1.0 - p)) * (1.0 - 2.0 * p + 2.0 * p * x - x * x)
    };
    (y - camber).abs() <= thickness
}

#[derive(Default)]
pub struct Airfoil {
    coefficients: (f64, f64),
}

impl FlowSetup for Airfoil {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn build(&mut self, params: &ParamValues) -> Result<(IncompressibleFlow, f64), CaseError> {
        let code: Vec<f64> =
            params.choice("naca").chars().filter_map(|c| c.to_digit(10)).map(f64::from).collect();
        let (m, p, t) = (code[0] / 100.0, code[1] / 10.0, (code[2] * 10.0 + code[3]) / 100.0);
        let alpha = params.float("alpha").to_radians();
        let n = params.int("n") as usize;
        let h = DOMAIN.1 / n as f64;
        let nx = (DOMAIN.0 / h).round() as usize;
        let speed = 1.0;
        let sides = Sides {
            left: Side::Inflow { speed, parabolic: false },
            right: Side::Outflow { convective: false },
            bottom: Side::FreeSlip,
            top: Side::FreeSlip,
        };
        let pivot = (LEADING_EDGE.0 + 0.25 * CHORD, LEADING_EDGE.1);
        let grid = Grid::new(nx, n, nx as f64 * h, DOMAIN.1, sides)
            .expect("valid domain")
            .with_obstacle(|x, y| {
                // Rotate the point back by −α about the quarter chord into the chord frame.
                let (dx, dy) = (x - pivot.0, y - pivot.1);
                let (c, s) = (alpha.cos(), alpha.sin());
                let (xr, yr) = (c * dx - s * dy, s * dx + c * dy);
                naca_inside((xr + 0.25 * CHORD) / CHORD, yr / CHORD, m, p, t)
            });
        let nu = speed * CHORD / params.float("Re");
        let velocity = Velocity::from_fn(&grid, |_, _| speed, |_, _| 0.0);
        let flow = flow_case::new_flow(grid, velocity, nu, params);
        Ok((flow, speed))
    }

    fn measures_force(&self) -> bool {
        true
    }

    fn on_force(&mut self, _: f64, (fx, fy): (f64, f64)) {
        self.coefficients = (2.0 * fx / CHORD, 2.0 * fy / CHORD);
    }

    fn view_range(&self, _: &ParamValues, view: &str) -> Option<(f32, f32)> {
        match view {
            "vorticity" => Some((-20.0, 20.0)),
            "speed" => Some((0.0, 1.6)),
            _ => None,
        }
    }

    fn extra_observables(&self, _: &IncompressibleFlow, _: Option<&[f64]>) -> Vec<f64> {
        vec![self.coefficients.0, self.coefficients.1]
    }

    fn apply_live(
        &mut self,
        flow: &mut IncompressibleFlow,
        params: &ParamValues,
        name: &str,
    ) -> bool {
        if name == "Re" {
            flow.nu = CHORD / params.float("Re");
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
    fn naca_0012_is_twelve_percent_thick_and_symmetric() {
        assert!(
            naca_inside(0.3, 0.059, 0.0, 0.0, 0.12) && !naca_inside(0.3, 0.061, 0.0, 0.0, 0.12)
        );
        assert!(
            naca_inside(0.3, -0.059, 0.0, 0.0, 0.12) && !naca_inside(0.3, -0.061, 0.0, 0.0, 0.12)
        );
        assert!(!naca_inside(1.01, 0.0, 0.0, 0.0, 0.12));
    }

    #[test]
    fn a_cambered_airfoil_at_positive_incidence_lifts() {
        let mut params = SPEC.defaults();
        SPEC.set_text(&mut params, "n", "48").unwrap();
        let mut case = FlowCase::new(Airfoil::default(), &params, None).unwrap();
        while case.time() < 3.0 {
            case.step(10).unwrap();
        }
        let values = case.observables().unwrap();
        let (cd, cl) = (values[6], values[7]);
        assert!(cl > 0.1, "Cl = {cl}");
        assert!(cd > 0.0, "Cd = {cd}");
    }
}
