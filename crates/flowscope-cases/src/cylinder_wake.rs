//! `cylinder-wake` (contract id): flow past a cylinder in a channel, shedding a von Kármán
//! vortex street; defaults are the Schäfer–Turek 2D-2 benchmark.

use crate::flow_case::{self, FlowSetup, ADVECTION, INTEGRATOR, VISCOSITY};
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    CaseError, CaseSpec, Cost, ObservableSpec, ParamValues, Preset, ViewKind, ViewSpec,
};
use flowscope_grid::{Grid, IncompressibleFlow, Side, Sides, Velocity};

const fn float(
    name: &'static str,
    label: &'static str,
    unit: &'static str,
    help: &'static str,
    min: f64,
    max: f64,
    default: f64,
) -> ParamSpec {
    ParamSpec {
        name,
        label,
        unit,
        help,
        kind: ParamKind::Float { min, max, default, log: false },
        needs_reset: true,
    }
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "Re",
        label: "Reynolds number Re = Ū D / ν",
        unit: "",
        help: "Mean inflow speed times diameter over viscosity. Shedding starts near Re 47.",
        kind: ParamKind::Float { min: 10.0, max: 1000.0, default: 100.0, log: true },
        needs_reset: false,
    },
    flow_case::grid_size("Cells across the channel height; the length follows with square cells.", 16, 256, 48),
    float("width", "Channel length", "m", "", 0.5, 5.0, 2.2),
    float("height", "Channel height", "m", "", 0.1, 2.0, 0.41),
    float("diameter", "Cylinder diameter D", "m", "", 0.01, 1.0, 0.1),
    float("x", "Cylinder centre x", "m", "", 0.05, 4.0, 0.2),
    float("y", "Cylinder centre y", "m", "Slightly off-centre (0.2 of 0.41) in the benchmark, which starts the shedding.", 0.02, 2.0, 0.2),
    float("umax", "Peak inflow speed", "m/s", "Parabolic profile between walls (mean ⅔ of the peak); uniform with free-slip sides.", 0.1, 5.0, 1.5),
    ParamSpec {
        name: "confinement",
        label: "Channel sides",
        unit: "",
        help: "walls: no-slip channel with a parabolic inflow (the benchmark). free-slip: an open far field with uniform inflow.",
        kind: ParamKind::Enum { options: &["walls", "free-slip"], default: "walls" },
        needs_reset: true,
    },
    ParamSpec {
        name: "shape",
        label: "Obstacle shape",
        unit: "",
        help: "circle: the benchmark's cylinder. square: a box of side D (sharp edges fix the separation points).",
        kind: ParamKind::Enum { options: &["circle", "square"], default: "circle" },
        needs_reset: true,
    },
    ParamSpec {
        name: "outflow",
        label: "Outflow condition",
        unit: "",
        help: "zero-gradient: the outflow copies its upstream neighbour. convective: the flow carries itself out (fewer reflections of passing vortices).",
        kind: ParamKind::Enum { options: &["zero-gradient", "convective"], default: "zero-gradient" },
        needs_reset: true,
    },
    flow_case::cfl(0.5),
    ParamSpec {
        name: "dt",
        label: "Fixed time step (0: from the CFL number)",
        unit: "s",
        help: "A fixed step puts every step at known times (the learned wake's data are sampled so).",
        kind: ParamKind::Float { min: 0.0, max: 0.1, default: 0.0, log: false },
        needs_reset: false,
    },
    ADVECTION,
    INTEGRATOR,
    VISCOSITY,
    flow_case::tolerance(1e-5),
];
fn cost(params: &ParamValues) -> Cost {
    let [nx, ny] = shape(params);
    flow_case::cost(nx, ny, &["n", "width", "height"])
}

/// Cells along and across the channel: `n` across its height, square cells.
fn shape(params: &ParamValues) -> [usize; 2] {
    let n = params.int("n") as usize;
    let h = params.float("height") / n as f64;
    [((params.float("width") / h).round() as usize).max(16), n]
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "cylinder-wake",
    title: "Cylinder wake",
    summary: "A von Kármán vortex street behind a cylinder in a channel (Schäfer–Turek 2D-2).",
    explanation:
        "Fluid enters on the left with a parabolic profile and leaves on the right. Above \
        Re ≈ 47 the wake behind the cylinder becomes unstable and sheds vortices alternately from \
        its top and bottom, so drag and lift oscillate; the Strouhal number St = f D / Ū measures \
        the shedding frequency. The benchmark (Re 100) gives St 0.295–0.305, max Cd 3.22–3.24 and \
        max Cl 0.99–1.01; here the cylinder is resolved by whole cells, which costs accuracy in \
        the forces at coarse grids.",
    reference: "M. Schäfer, S. Turek, Benchmark computations of laminar flow around a cylinder \
        (1996), test case 2D-2; the wake data of Kohl, Chen, Thuerey, ACDM (2023).",
    group: "grids",
    params: PARAMS,
    views: &[
        flow_case::view("vorticity"),
        flow_case::view("speed"),
        flow_case::view("pressure"),
        ViewSpec {
            name: "obstacle",
            label: "Obstacle mask",
            unit: "",
            kind: ViewKind::Scalar,
            range: Some((0.0, 1.0)),
            colormap: "viridis",
        },
        flow_case::view("velocity"),
    ],
    observables: crate::flow_observables![
        ObservableSpec {
            name: "drag_coefficient",
            label: "Drag coefficient Cd = 2Fx/(Ū²D)",
            unit: "",
        },
        ObservableSpec {
            name: "lift_coefficient",
            label: "Lift coefficient Cl = 2Fy/(Ū²D)",
            unit: "",
        },
        ObservableSpec {
            name: "strouhal",
            label: "Strouhal number f D / Ū (0 until two periods)",
            unit: "",
        },
    ],
    interactions: &[],
    presets: &[
        Preset { name: "schafer-turek-2d-2", label: "Schäfer–Turek 2D-2 (Re 100)", params: &[] },
        Preset { name: "steady", label: "Re 30: a steady wake", params: &[("Re", "30")] },
        Preset {
            name: "free-slip",
            label: "Free-slip far field",
            params: &[("confinement", "free-slip")],
        },
        Preset { name: "square", label: "Square cylinder", params: &[("shape", "square")] },
    ],
    exchange: None,
    models: &[],
    gpu: true,
    cost,
};

#[derive(Default)]
pub struct CylinderWake {
    diameter: f64,
    mean_speed: f64,
    /// Times at which the lift crossed zero upwards, and the last lift seen.
    crossings: Vec<f64>,
    last_lift: Option<(f64, f64)>,
    coefficients: (f64, f64),
}

impl CylinderWake {
    /// Strouhal number from the mean of the last two lift periods.
    fn strouhal(&self) -> f64 {
        match self.crossings.as_slice() {
            [.., a, _, c] => {
                let period = (c - a) / 2.0;
                self.diameter / (self.mean_speed * period)
            }
            _ => 0.0,
        }
    }
}

impl FlowSetup for CylinderWake {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn build(&mut self, params: &ParamValues) -> Result<(IncompressibleFlow, f64), CaseError> {
        let (height, diameter) = (params.float("height"), params.float("diameter"));
        let (cx, cy, umax) = (params.float("x"), params.float("y"), params.float("umax"));
        let [nx, n] = shape(params);
        let h = height / n as f64;
        let walls = params.choice("confinement") == "walls";
        if cy - diameter / 2.0 <= 0.0
            || cy + diameter / 2.0 >= height
            || cx + diameter / 2.0 >= nx as f64 * h
        {
            return Err(CaseError::BadInteraction(
                "the cylinder must lie inside the channel: check x, y, diameter and height".into(),
            ));
        }
        let side = if walls { Side::NoSlip { tangential: 0.0 } } else { Side::FreeSlip };
        let sides = Sides {
            left: Side::Inflow { speed: umax, parabolic: walls },
            right: Side::Outflow { convective: params.choice("outflow") == "convective" },
            bottom: side,
            top: side,
        };
        let grid = Grid::new(nx, n, nx as f64 * h, height, sides)
            .expect("valid channel")
            .with_obstacle(|x, y| match params.choice("shape") {
                "square" => (x - cx).abs() < diameter / 2.0 && (y - cy).abs() < diameter / 2.0,
                _ => (x - cx).hypot(y - cy) < diameter / 2.0,
            });
        self.diameter = diameter;
        self.mean_speed = if walls { 2.0 / 3.0 * umax } else { umax };
        self.crossings.clear();
        self.last_lift = None;
        let nu = self.mean_speed * diameter / params.float("Re");
        let velocity = Velocity::from_fn(&grid, |_, _| 0.0, |_, _| 0.0);
        let flow = flow_case::new_flow(grid, velocity, nu, params);
        Ok((flow, umax))
    }

    fn fixed_dt(&self, params: &ParamValues) -> Option<f64> {
        Some(params.float("dt")).filter(|&dt| dt > 0.0)
    }

    fn measures_force(&self) -> bool {
        true
    }

    fn on_force(&mut self, time: f64, (fx, fy): (f64, f64)) {
        let scale = 2.0 / (self.mean_speed * self.mean_speed * self.diameter);
        self.coefficients = (fx * scale, fy * scale);
        let lift = self.coefficients.1;
        if let Some((t0, l0)) = self.last_lift {
            if l0 < 0.0 && lift >= 0.0 {
                // Linear interpolation of the crossing time.
                self.crossings.push(t0 + (time - t0) * (-l0) / (lift - l0));
            }
        }
        self.last_lift = Some((time, lift));
    }

    fn view_range(&self, _: &ParamValues, view: &str) -> Option<(f32, f32)> {
        // The boundary layer on the cylinder is far stronger than the shed vortices: a range of
        // ±3 Ū/D shows the street instead of the surface.
        let scale = (3.0 * self.mean_speed / self.diameter) as f32;
        match view {
            "vorticity" => Some((-scale, scale)),
            "speed" => Some((0.0, (1.6 * self.mean_speed) as f32)),
            _ => None,
        }
    }

    fn extra_observables(&self, _: &IncompressibleFlow, _: Option<&[f64]>) -> Vec<f64> {
        vec![self.coefficients.0, self.coefficients.1, self.strouhal()]
    }

    fn apply_live(
        &mut self,
        flow: &mut IncompressibleFlow,
        params: &ParamValues,
        name: &str,
    ) -> bool {
        if name == "Re" {
            flow.nu = self.mean_speed * self.diameter / params.float("Re");
            return true;
        }
        false
    }
}
