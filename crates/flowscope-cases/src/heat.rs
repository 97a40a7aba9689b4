//! `heat` (contract id): the 2D heat equation on a periodic unit square, painted with the pointer.

use crate::{GpuView, Simulation};
use flowscope_core::case::unknown_view;
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    Backend, Case, CaseError, CaseSpec, Cost, Domain, Field2, Interaction, InteractionKind,
    ObservableSpec, ParamValue, ParamValues, Preset, ViewKind, ViewSpec,
};
use flowscope_gpu::GpuContext;
use flowscope_spectral::heat::{CpuHeat, GpuHeat, HeatConfig, PaintBlob, Scheme};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "n",
        label: "Grid size",
        unit: "cells",
        help: "Cells along each side of the unit square.",
        kind: ParamKind::Int { min: 32, max: 1024, default: 256 },
        needs_reset: true,
    },
    ParamSpec {
        name: "diffusivity",
        label: "Diffusivity D",
        unit: "m²/s",
        help: "How fast heat spreads: a blob of radius r fades in about r²/(4D).",
        kind: ParamKind::Float { min: 1e-6, max: 1e-2, default: 1e-4, log: true },
        needs_reset: false,
    },
    ParamSpec {
        name: "dt",
        label: "Time step dt",
        unit: "s",
        help: "The explicit scheme is stable only for dt ≤ dx²/(4D); larger values are lowered to that limit. The implicit scheme accepts any dt.",
        kind: ParamKind::Float { min: 1e-6, max: 1.0, default: 0.02, log: true },
        needs_reset: false,
    },
    ParamSpec {
        name: "scheme",
        label: "Time scheme",
        unit: "",
        help: "explicit: forward Euler. implicit: backward Euler solved by Jacobi sweeps. spectral: the exact solution over each step, every Fourier mode times exp(−D|k|²dt) by FFT (grid sizes that are powers of two).",
        kind: ParamKind::Enum { options: &["explicit", "implicit", "spectral"], default: "explicit" },
        needs_reset: false,
    },
    ParamSpec {
        name: "iterations",
        label: "Jacobi sweeps",
        unit: "per step",
        help: "Sweeps of the implicit solve per step; more sweeps, closer to exact backward Euler at large dt.",
        kind: ParamKind::Int { min: 1, max: 500, default: 30 },
        needs_reset: false,
    },
    ParamSpec {
        name: "initial",
        label: "Initial state",
        unit: "",
        help: "blobs: three hot spots. mode: one Fourier mode, which decays as exp(−8π²Dt). cold: empty, paint your own.",
        kind: ParamKind::Enum { options: &["blobs", "mode", "cold"], default: "blobs" },
        needs_reset: true,
    },
];
/// The two fields of the explicit scheme (the implicit one adds its right-hand side).
fn cost(params: &ParamValues) -> Cost {
    let n = params.int("n") as u64;
    Cost::grid(n * n, HEAT_CELL_BYTES, &["n"])
}

/// Bytes per cell: f32 fields, current, next and right-hand side; measured by tests/budget.rs.
const HEAT_CELL_BYTES: u64 = 16;

pub static SPEC: CaseSpec = CaseSpec {
    id: "heat",
    title: "Heat equation",
    summary: "Diffusion of heat on a periodic square; paint hot spots with the pointer.",
    explanation: "The temperature T obeys ∂T/∂t = D ∇²T: every point relaxes towards the average \
        of its neighbours, so sharp features blur first and a Fourier mode of wavenumber k decays \
        as exp(−D k² t). The grid is periodic (what leaves on one side comes back on the other). \
        The explicit scheme (forward Euler) is cheap but only stable for dt ≤ dx²/(4D); the \
        implicit scheme (backward Euler) is stable for any dt and smooths more at large steps. \
        Total heat is conserved by both. Drag on the canvas to add heat.",
    reference: "The diffusion step of PhiFlow (diffuse.explicit / diffuse.implicit); heat \
        equation setup of Holzschuh et al., Solving Inverse Physics Problems with Score \
        Matching (SMDP), NeurIPS 2023.",
    group: "grids",
    params: PARAMS,
    views: &[ViewSpec {
        name: "temperature",
        label: "Temperature",
        unit: "",
        kind: ViewKind::Scalar,
        range: Some((0.0, 1.0)),
        colormap: "inferno",
    }],
    observables: &[
        ObservableSpec { name: "mean", label: "Mean temperature (conserved)", unit: "" },
        ObservableSpec { name: "max", label: "Maximum temperature", unit: "" },
        ObservableSpec { name: "min", label: "Minimum temperature", unit: "" },
    ],
    interactions: &[InteractionKind::PaintScalar],
    presets: &[
        Preset { name: "blobs", label: "Hot spots diffusing", params: &[("initial", "blobs")] },
        Preset {
            name: "mode",
            label: "One Fourier mode (decays as exp(−8π²Dt))",
            params: &[("initial", "mode")],
        },
        Preset { name: "paint", label: "A cold plate to paint on", params: &[("initial", "cold")] },
        Preset {
            name: "implicit",
            label: "Implicit steps 25× the explicit limit",
            params: &[("scheme", "implicit"), ("dt", "0.5"), ("diffusivity", "0.0001")],
        },
        Preset {
            name: "spectral",
            label: "Exact spectral steps of the Fourier mode",
            params: &[("scheme", "spectral"), ("initial", "mode"), ("dt", "1")],
        },
    ],
    exchange: None,
    models: &[],
    gpu: true,
    cost,
};

enum Engine {
    Cpu(Box<CpuHeat>),
    Gpu(Box<GpuHeat>),
}

pub struct HeatCase {
    params: ParamValues,
    config: HeatConfig,
    engine: Engine,
    steps: u64,
    time: f64,
    notices: Vec<String>,
    /// The GPU state as last read back without blocking (browser only).
    #[cfg(target_arch = "wasm32")]
    mirror: std::cell::RefCell<Option<Vec<f32>>>,
}

/// The solver configuration for `params`, with dt lowered to the explicit limit where needed.
fn configure(params: &mut ParamValues, notices: &mut Vec<String>) -> HeatConfig {
    let n = params.int("n") as usize;
    let implicit = Scheme::Implicit { iterations: params.int("iterations") as u32 };
    let scheme = match params.choice("scheme") {
        "implicit" => implicit,
        "spectral" if n.is_power_of_two() => Scheme::Spectral,
        "spectral" => {
            notices.push(format!(
                "the spectral scheme's FFT needs a grid size that is a power of two, not {n}; \
                 using the implicit scheme (choose n = {} for spectral steps)",
                n.next_power_of_two()
            ));
            implicit
        }
        _ => Scheme::Explicit,
    };
    let mut config = HeatConfig {
        nx: n,
        ny: n,
        lx: 1.0,
        ly: 1.0,
        diffusivity: params.float("diffusivity"),
        dt: params.float("dt"),
        scheme,
    };
    if scheme == Scheme::Explicit && config.dt > config.explicit_dt_limit() {
        let limit = config.explicit_dt_limit();
        notices.push(format!(
            "dt = {} s exceeds the explicit stability limit dx²/(4D) = {limit:.3e} s for n = {n}, \
             D = {}; using dt = {limit:.3e} s (choose scheme=implicit for larger steps)",
            config.dt, config.diffusivity
        ));
        config.dt = limit;
        let spec = SPEC.param("dt").expect("dt is declared");
        params
            .set(SPEC.id, SPEC.params, "dt", spec.clamp(&ParamValue::Float(limit)))
            .expect("the limit lies in dt's range");
    }
    config
}

fn initial_state(kind: &str, config: &HeatConfig) -> Vec<f32> {
    let mut field = vec![0.0f32; config.nx * config.ny];
    match kind {
        "mode" => {
            for j in 0..config.ny {
                for i in 0..config.nx {
                    let (x, y) = config.cell_centre(i, j);
                    let tau = std::f64::consts::TAU;
                    field[j * config.nx + i] =
                        (0.5 + 0.5 * (tau * x).sin() * (tau * y).sin()) as f32;
                }
            }
        }
        "blobs" => {
            for (x, y, r, v) in
                [(0.3, 0.35, 0.08, 1.0), (0.7, 0.6, 0.12, 0.8), (0.45, 0.8, 0.05, 0.9)]
            {
                let blob = PaintBlob::at(config, x, y, r, v);
                flowscope_spectral::heat::cpu::paint(&mut field, config.nx, config.ny, &blob);
            }
        }
        _ => {}
    }
    field
}

impl HeatCase {
    pub fn new(params: &ParamValues, gpu: Option<&GpuContext>) -> Result<Self, CaseError> {
        for (name, value) in params.iter() {
            let mut checked = SPEC.defaults();
            checked.set(SPEC.id, SPEC.params, name, value.clone())?;
        }
        let mut params = params.clone();
        let mut notices = Vec::new();
        let config = configure(&mut params, &mut notices);
        let initial = initial_state(params.choice("initial"), &config);
        let engine = match gpu {
            Some(ctx) => Engine::Gpu(Box::new(GpuHeat::new(ctx, config, &initial))),
            None => Engine::Cpu(Box::new(CpuHeat::new(config, initial))),
        };
        #[cfg(target_arch = "wasm32")]
        if let Engine::Gpu(gpu) = &engine {
            gpu.request_field();
        }
        Ok(Self {
            params,
            config,
            engine,
            steps: 0,
            time: 0.0,
            notices,
            #[cfg(target_arch = "wasm32")]
            mirror: Default::default(),
        })
    }

    fn field(&self) -> Result<Vec<f32>, CaseError> {
        match &self.engine {
            Engine::Cpu(cpu) => Ok(cpu.field().to_vec()),
            #[cfg(not(target_arch = "wasm32"))]
            Engine::Gpu(gpu) => gpu.read_field().map_err(CaseError::Gpu),
            #[cfg(target_arch = "wasm32")]
            Engine::Gpu(gpu) => {
                if let Some(latest) = gpu.take_field() {
                    *self.mirror.borrow_mut() = Some(latest);
                }
                self.mirror.borrow().clone().ok_or_else(|| {
                    CaseError::Gpu("the GPU state has not been read back yet; try again".into())
                })
            }
        }
    }
}

impl Case for HeatCase {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn backend(&self) -> Backend {
        match self.engine {
            Engine::Cpu(_) => Backend::Cpu,
            Engine::Gpu(_) => Backend::Gpu,
        }
    }

    fn params(&self) -> &ParamValues {
        &self.params
    }

    fn set_param(&mut self, name: &str, value: ParamValue) -> Result<(), CaseError> {
        let mut params = self.params.clone();
        params.set(SPEC.id, SPEC.params, name, value)?;
        if SPEC.param(name).is_some_and(|p| p.needs_reset) {
            return Err(CaseError::NeedsReset(name.to_string()));
        }
        self.notices.clear();
        let config = configure(&mut params, &mut self.notices);
        match &mut self.engine {
            Engine::Cpu(cpu) => cpu.reconfigure(config),
            Engine::Gpu(gpu) => gpu.reconfigure(config),
        }
        self.config = config;
        self.params = params;
        Ok(())
    }

    fn step(&mut self, n: u32) -> Result<(), CaseError> {
        match &mut self.engine {
            Engine::Cpu(cpu) => cpu.step(n),
            Engine::Gpu(gpu) => {
                gpu.step(n);
                #[cfg(target_arch = "wasm32")]
                gpu.request_field();
            }
        }
        self.steps += n as u64;
        self.time += n as f64 * self.config.dt;
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn time(&self) -> f64 {
        self.time
    }

    fn dt(&self) -> f64 {
        self.config.dt
    }

    fn domain(&self) -> Domain {
        [[0.0, self.config.lx], [0.0, self.config.ly]]
    }

    fn shape(&self) -> Option<[usize; 2]> {
        Some([self.config.ny, self.config.nx])
    }

    fn read_view(&self, name: &str) -> Result<Field2, CaseError> {
        if name != "temperature" {
            return Err(unknown_view(&SPEC, name));
        }
        Ok(Field2 { nx: self.config.nx, ny: self.config.ny, data: self.field()? })
    }

    fn observables(&self) -> Result<Vec<f64>, CaseError> {
        let field = self.field()?;
        if let Some(bad) = field.iter().find(|v| !v.is_finite()) {
            return Err(CaseError::Diverged(format!("temperature became {bad}")));
        }
        let mean = field.iter().map(|&v| v as f64).sum::<f64>() / field.len() as f64;
        let max = field.iter().fold(f32::MIN, |m, &v| m.max(v)) as f64;
        let min = field.iter().fold(f32::MAX, |m, &v| m.min(v)) as f64;
        Ok(vec![mean, max, min])
    }

    fn interact(&mut self, interaction: &Interaction) -> Result<(), CaseError> {
        let Interaction::Paint { x, y, radius, value } = *interaction else {
            return Err(CaseError::BadInteraction("the heat case is painted, not dragged".into()));
        };
        if !(x.is_finite() && y.is_finite() && radius.is_finite() && value.is_finite()) {
            return Err(CaseError::BadInteraction("paint position must be finite".into()));
        }
        let blob = PaintBlob::at(&self.config, x, y, radius, value.clamp(0.0, 1.0));
        match &mut self.engine {
            Engine::Cpu(cpu) => cpu.paint(&blob),
            Engine::Gpu(gpu) => gpu.paint(&blob),
        }
        Ok(())
    }

    fn notices(&self) -> &[String] {
        &self.notices
    }
}

impl Simulation for HeatCase {
    fn gpu_view(&self, view: &str) -> Option<GpuView<'_>> {
        match (&self.engine, view) {
            (Engine::Gpu(gpu), "temperature") => Some(GpuView {
                buffer: gpu.field_buffer(),
                nx: self.config.nx as u32,
                ny: self.config.ny as u32,
            }),
            _ => None,
        }
    }

    /// In the browser the observables come from the state read back; after steps on a paused
    /// page that is the state they reached.
    fn poll(&mut self) -> Result<bool, CaseError> {
        match &self.engine {
            Engine::Gpu(gpu) => Ok(gpu.catch_up_field()),
            Engine::Cpu(_) => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_dt_above_the_limit_is_lowered_with_a_notice() {
        let mut params = SPEC.defaults();
        SPEC.set_text(&mut params, "n", "1024").unwrap();
        let case = HeatCase::new(&params, None).unwrap();
        let limit = (1.0f64 / 1024.0).powi(2) / (4.0 * 1e-4);
        assert!((case.dt() - limit).abs() < 1e-12, "dt {} vs limit {limit}", case.dt());
        assert_eq!(case.params().float("dt"), case.dt(), "params report the dt in use");
        assert!(case.notices()[0].contains("stability limit"), "{:?}", case.notices());
    }

    #[test]
    fn implicit_scheme_keeps_large_dt() {
        let mut params = SPEC.defaults();
        SPEC.set_text(&mut params, "n", "1024").unwrap();
        SPEC.set_text(&mut params, "scheme", "implicit").unwrap();
        let case = HeatCase::new(&params, None).unwrap();
        assert_eq!(case.dt(), 0.02);
        assert!(case.notices().is_empty());
    }

    #[test]
    fn reset_parameters_are_refused_live() {
        let mut case = HeatCase::new(&SPEC.defaults(), None).unwrap();
        assert!(case.set_param("n", ParamValue::Int(64)).is_err());
        case.set_param("diffusivity", ParamValue::Float(1e-3)).unwrap();
        assert_eq!(case.params().float("diffusivity"), 1e-3);
    }

    #[test]
    fn painting_adds_heat_where_the_pointer_is() {
        let mut params = SPEC.defaults();
        SPEC.set_text(&mut params, "initial", "cold").unwrap();
        SPEC.set_text(&mut params, "n", "64").unwrap();
        let mut case = HeatCase::new(&params, None).unwrap();
        case.interact(&Interaction::Paint { x: 0.25, y: 0.75, radius: 0.05, value: 1.0 }).unwrap();
        let field = case.read_view("temperature").unwrap();
        // (0.25, 0.75) is cell (16, 48) in the [j][i] layout, j counted from the bottom.
        assert!(field.at(16, 48) > 0.9 && field.at(48, 16) == 0.0);
    }

    /// The spectral scheme is exact: the mode sin(2πx) sin(2πy) (|k|² = 8π²) keeps its shape
    /// and decays by exactly exp(−8π²D t), at any dt, on both backends; a grid size that is no
    /// power of two falls back to the implicit scheme with a notice.
    #[test]
    fn spectral_steps_decay_the_mode_exactly_on_both_backends() {
        let mut params = SPEC.preset("spectral").unwrap();
        SPEC.set_text(&mut params, "n", "64").unwrap();
        let amplitude = |case: &dyn Case| {
            let f = case.read_view("temperature").unwrap();
            // The mode's peak cell, minus the 0.5 offset (which never decays).
            f.at(16, 16) - 0.5
        };
        let mut contexts = vec![None];
        contexts.extend(flowscope_gpu::context_for_tests().map(Some));
        for ctx in contexts {
            let mut case = HeatCase::new(&params, ctx.as_ref()).unwrap();
            let start = amplitude(&case);
            case.step(3).unwrap();
            let expected = (-8.0 * std::f64::consts::PI.powi(2) * 1e-4 * 3.0).exp() as f32;
            let got = amplitude(&case) / start;
            assert!(
                (got - expected).abs() < 1e-5,
                "{:?}: decay {got}, exact {expected}",
                case.backend()
            );
            assert!(case.notices().is_empty(), "{:?}", case.notices());
        }
        SPEC.set_text(&mut params, "n", "100").unwrap();
        let case = HeatCase::new(&params, None).unwrap();
        assert!(case.notices()[0].contains("power of two"), "{:?}", case.notices());
    }
}
