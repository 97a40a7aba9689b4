//! `learned-sph-2d`: a learned particle solver (SFBC's basis convolutions) steps the swirling
//! box of weakly compressible SPH fluid (`flowscope_sph::swirl`, SFBC's test case II at our
//! scale), one network step per frame of 16 solver steps, beside the solver it learned from,
//! both from the same random start; the view shows the two boxes side by side.
//!
//! Fluid and wall particles are nodes of one neighbour graph; a wall channel among the features
//! gives the walls their own first-layer convolution (SFBC's boundary treatment), and only the
//! fluid moves.

use crate::learned_particles::{Rollout, Runner};
use crate::particle_case::{self, splat};
use crate::ModelFiles;
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    Backend, Case, CaseError, CaseSpec, Cost, Domain, Field2, Interaction, ObservableSpec,
    ParamValue, ParamValues, ParticleState, Plot, Preset, Series, ViewSpec,
};
use flowscope_gpu::GpuContext;
use flowscope_nn::particles::{Graph, ParticleNet};
use flowscope_nn::Weights;
use flowscope_sph::gpu::view_raster;
use flowscope_sph::neighbours::CellList;
use flowscope_sph::swirl::{self, SIDE};
use flowscope_sph::wcsph::Wcsph;

/// The shipped models, as the `model` parameter names them.
pub const MODELS: &[&str] = &["fourier-small-noise", "fourier-noise", "linear-noise"];

/// The model file of a `model` option.
pub fn model_file(model: &str) -> String {
    format!("sfbc-2d-{model}.safetensors")
}

/// Where the solver's box is drawn, right of the learned one.
const SOLVER_OFFSET: f64 = 1.1 * SIDE;

/// Positions and velocities of the fluid particles.
pub type FluidState = (Vec<[f64; 2]>, Vec<[f64; 2]>);

/// A trained 2D particle model: the network and what it was trained with.
pub struct SfbcModel2d {
    pub net: ParticleNet,
    /// Support radius of every convolution [m].
    pub radius: f64,
    /// Physical time of one network step.
    pub dt: f64,
    /// Solver steps per network step.
    pub frame_distance: u32,
    /// Particles across the box in the training data.
    pub n: usize,
    u_scale: f64,
    du_scale: f64,
}

impl SfbcModel2d {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let net = ParticleNet::from_bytes(bytes).map_err(|e| e.to_string())?;
        let c = &net.config;
        if c.dim != 2 || c.in_features != 4 || c.out_features != 2 {
            return Err(format!(
                "a {}D particle model of {} inputs and {} outputs; the box needs 2D, 4 and 2",
                c.dim, c.in_features, c.out_features
            ));
        }
        let weights = Weights::from_bytes(bytes).map_err(|e| e.to_string())?;
        let extra: serde_json::Value = serde_json::from_str(weights.metadata("extra").ok_or(
            "the model file has no 'extra' metadata: export it with training/train_sfbc.py",
        )?)
        .map_err(|e| format!("the model's 'extra' metadata: {e}"))?;
        let number = |key: &str| {
            extra[key]
                .as_f64()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| format!("the model's 'extra' metadata has no positive '{key}'"))
        };
        Ok(Self {
            radius: number("radius")?,
            dt: number("dt")?,
            frame_distance: number("frame_distance")? as u32,
            n: number("n")? as usize,
            u_scale: number("u_scale")?,
            du_scale: number("du_scale")?,
            net,
        })
    }

    /// The network's inputs: the neighour graph over fluid then wall particles (from the SPH
    /// room's cell lists) and the features [fluid, u / u_scale, v / u_scale, wall].
    pub fn inputs(&self, x: &[[f64; 2]], v: &[[f64; 2]], walls: &[[f64; 2]]) -> (Graph, Vec<f32>) {
        let all: Vec<[f64; 2]> = x.iter().chain(walls).copied().collect();
        let cells = cell_list(&all, self.radius);
        let mut graph = Graph::new(2);
        for i in 0..all.len() {
            graph.push(i, &[0.0, 0.0]);
            // `d` is x_i − x_j; the layer takes q = (x_j − x_i) / radius.
            cells.for_each_neighbour(&all, i, self.radius, |j, d, _| {
                graph.push(j, &[(-d[0] / self.radius) as f32, (-d[1] / self.radius) as f32]);
            });
            graph.end_row();
        }
        let mut features = Vec::with_capacity(4 * all.len());
        for u in v {
            features.extend([1.0, (u[0] / self.u_scale) as f32, (u[1] / self.u_scale) as f32, 0.0]);
        }
        for _ in walls {
            features.extend([0.0, 0.0, 0.0, 1.0]);
        }
        (graph, features)
    }

    /// The fluid a frame later from the network's output `[fluid + walls, 2]`: u' = u + du,
    /// and the trapezoidal rule for the positions.
    pub fn integrate(&self, x: &[[f64; 2]], v: &[[f64; 2]], out: &[f32]) -> FluidState {
        let s = self.du_scale;
        let v_next: Vec<[f64; 2]> = v
            .iter()
            .zip(out.chunks_exact(2))
            .map(|(u, du)| [u[0] + f64::from(du[0]) * s, u[1] + f64::from(du[1]) * s])
            .collect();
        let half = 0.5 * self.dt;
        let x_next = (0..x.len())
            .map(|i| {
                let (a, b) = (v[i], v_next[i]);
                [x[i][0] + half * (a[0] + b[0]), x[i][1] + half * (a[1] + b[1])]
            })
            .collect();
        (x_next, v_next)
    }

    /// One network step of the fluid.
    pub fn step(
        &self,
        x: &[[f64; 2]],
        v: &[[f64; 2]],
        walls: &[[f64; 2]],
    ) -> Result<FluidState, String> {
        let (graph, features) = self.inputs(x, v, walls);
        let out = self.net.forward(&features, &graph).map_err(|e| e.to_string())?;
        Ok(self.integrate(x, v, &out))
    }
}

/// A cell list over the points' bounding box (learned particles may stray from the box).
fn cell_list(points: &[[f64; 2]], radius: f64) -> CellList {
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in points.iter().filter(|p| p[0].is_finite() && p[1].is_finite()) {
        for a in 0..2 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a] + radius);
        }
    }
    let mut list = CellList::new(lo, hi, radius, [false, false]);
    list.build(points);
    list
}

/// Summation density of `fluid` among the box's `walls`, all of mass `m`.
pub fn summation_density(sph: &Wcsph, fluid: &[[f64; 2]]) -> Vec<f64> {
    let all: Vec<[f64; 2]> = fluid.iter().chain(&sph.walls).copied().collect();
    let (h, m) = (sph.h, sph.fluid.mass);
    let radius = sph.kernel.support(h);
    let cells = cell_list(&all, radius);
    (0..fluid.len())
        .map(|i| {
            let mut rho = m * sph.kernel.w(0.0, h);
            cells.for_each_neighbour(&all, i, radius, |_, _, r| rho += m * sph.kernel.w(r, h));
            rho
        })
        .collect()
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "model",
        label: "Learned model",
        unit: "",
        help: "fourier-small-noise: SFBC's Fourier basis (4 terms per axis) at half SFBC's \
            layer widths, a quarter of the work (fast enough for 30 frames a second). \
            fourier-noise: the same at SFBC's widths, a little more accurate. linear-noise: \
            CConv's piecewise-linear filters, the baseline. All trained with noisy starts.",
        kind: ParamKind::Enum { options: MODELS, default: "fourier-small-noise" },
        needs_reset: true,
    },
    ParamSpec {
        name: "n",
        label: "Particles across",
        unit: "",
        help: "n × n fluid particles fill the box (the models were trained with 45: about 2000).",
        kind: ParamKind::Int { min: 24, max: 64, default: 45 },
        needs_reset: true,
    },
    ParamSpec {
        name: "speed",
        label: "Peak initial speed",
        unit: "m/s",
        help: "Of the random swirl; the speed of sound is ten times this (trained at 1).",
        kind: ParamKind::Float { min: 0.25, max: 2.0, default: 1.0, log: false },
        needs_reset: true,
    },
    ParamSpec {
        name: "solver",
        label: "SPH solver",
        unit: "",
        help: "beside: the SPH solver steps along (16 steps a frame) for the comparison; off: \
            the learned solver alone, as fast as it goes (the errors are then not measured).",
        kind: ParamKind::Enum { options: &["beside", "off"], default: "beside" },
        needs_reset: true,
    },
    ParamSpec {
        name: "seed",
        label: "Seed",
        unit: "",
        help: "Chooses the random swirl; both solvers start from it.",
        kind: ParamKind::Int { min: 0, max: 1_000_000, default: 1 },
        needs_reset: true,
    },
];

/// Two systems of fluid and walls, the graph, its filter basis and the network's activations
/// (about 4 kB a particle at n = 64); measured by tests/budget.rs.
fn cost(params: &ParamValues) -> Cost {
    let n = params.int("n") as u64;
    Cost::particles((n + 6) * (n + 6), 4096, &["n"]).plus_bytes(1 << 20)
}

const fn view(name: &'static str, label: &'static str, unit: &'static str) -> ViewSpec {
    particle_case::view(name, label, unit)
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "learned-sph-2d",
    title: "Learned particle solver (2D)",
    summary: "A network steps swirling SPH water 16 solver steps at a time, beside the solver.",
    explanation: "A closed box full of weakly compressible SPH fluid, set swirling by a random \
        divergence-free velocity field, stepped two ways from the same start: by the SPH solver \
        (δ-SPH, Tait equation, 16 small steps a frame; right) and by a learned solver that jumps \
        a whole frame at once (left). The network is four continuous convolutions over each \
        particle's neighbours (SFBC): the filter is a sum of basis functions of the offset — \
        Fourier terms or CConv's linear hats — and it predicts each particle's change of \
        velocity; the walls are particles too, with a convolution of their own. Colour the \
        particles by speed, by density or by how far each is from its twin in the solver. The \
        plots compare the error, momentum and kinetic energy of both over time.",
    reference: "R. Winchenbach, N. Thuerey, Symmetric basis convolutions for learning \
        Lagrangian fluid mechanics, ICLR 2024 (SFBC); L. Prantl, B. Ummenhofer, V. Koltun, \
        N. Thuerey, Guaranteed conservation of momentum for learning particle-based fluid \
        dynamics, NeurIPS 2022 (DMCF).",
    group: "learned",
    params: PARAMS,
    views: &[
        view("speed", "Speed |u| (learned left, solver right)", "m/s"),
        view("density", "Density ρ, by summation (learned left, solver right)", "kg/m²"),
        view("error", "Distance to the twin particle (spacings)", ""),
    ],
    observables: crate::particle_observables!(
        ObservableSpec {
            name: "position_error",
            label: "RMS position error against the solver (particle spacings)",
            unit: "",
        },
        ObservableSpec {
            name: "density_error",
            label: "RMS density error against the solver, relative to ρ0",
            unit: "",
        },
        ObservableSpec {
            name: "solver_momentum_x",
            label: "The solver's momentum",
            unit: "kg·m/s"
        },
        ObservableSpec {
            name: "solver_kinetic_energy",
            label: "The solver's kinetic energy",
            unit: "J"
        },
    ),
    interactions: &[],
    presets: &[
        Preset { name: "default", label: "Fourier basis (small network), seed 1", params: &[] },
        Preset {
            name: "wide",
            label: "Fourier basis at SFBC's layer widths",
            params: &[("model", "fourier-noise")],
        },
        Preset {
            name: "linear",
            label: "Linear basis (CConv)",
            params: &[("model", "linear-noise")],
        },
        Preset {
            name: "fast",
            label: "The learned solver alone, as fast as it goes",
            params: &[("solver", "off")],
        },
        Preset { name: "slow", label: "A gentler swirl", params: &[("speed", "0.5")] },
    ],
    exchange: None,
    models: &[
        "sfbc-2d-fourier-noise.safetensors",
        "sfbc-2d-fourier-small-noise.safetensors",
        "sfbc-2d-linear-noise.safetensors",
    ],
    gpu: true,
    cost,
};

/// Mean position error (particle spacings) beyond which the case says the rollout has left
/// the solver.
const LEFT_THE_SOLVER: f64 = 2.0;

/// Per frame: time, position error, density error, learned and solver momentum (x, y),
/// learned and solver kinetic energy.
type Record = [f64; 9];

/// The learned fluid and the solver's, a frame per step.
struct Sim {
    model: SfbcModel2d,
    x: Vec<[f64; 2]>,
    v: Vec<[f64; 2]>,
    solver: Wcsph,
    solver_dt: f64,
    /// Whether the solver steps along.
    beside: bool,
    time: f64,
    steps: u64,
    history: Vec<Record>,
    notices: Vec<String>,
    left_the_solver: bool,
}

impl Sim {
    fn spacing(&self) -> f64 {
        self.solver.tank.dx
    }

    /// Each learned particle's distance to its solver twin, in spacings.
    fn distances(&self) -> Vec<f64> {
        let dx = self.spacing();
        let twin = &self.solver.fluid.x;
        self.x.iter().zip(twin).map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1]) / dx).collect()
    }

    fn kinetic_energy(&self) -> f64 {
        let m = self.solver.fluid.mass;
        0.5 * m * self.v.iter().map(|v| v[0] * v[0] + v[1] * v[1]).sum::<f64>()
    }

    fn momentum(&self) -> [f64; 2] {
        let m = self.solver.fluid.mass;
        let sum = self.v.iter().fold([0.0; 2], |s, v| [s[0] + v[0], s[1] + v[1]]);
        [m * sum[0], m * sum[1]]
    }

    fn record(&mut self) {
        if !self.beside {
            let (p, e) = (self.momentum(), self.kinetic_energy());
            let nan = f64::NAN;
            self.history.push([self.time, nan, nan, p[0], p[1], nan, nan, e, nan]);
            return;
        }
        let n = self.x.len() as f64;
        let position = (self.distances().iter().map(|d| d * d).sum::<f64>() / n).sqrt();
        let rho0 = self.solver.config.rho0;
        let learned = summation_density(&self.solver, &self.x);
        let solver = summation_density(&self.solver, &self.solver.fluid.x);
        let density =
            (learned.iter().zip(&solver).map(|(a, b)| ((a - b) / rho0).powi(2)).sum::<f64>() / n)
                .sqrt();
        let (p, q) = (self.momentum(), self.solver.fluid.momentum());
        self.history.push([
            self.time,
            position,
            density,
            p[0],
            p[1],
            q[0],
            q[1],
            self.kinetic_energy(),
            self.solver.fluid.kinetic_energy(),
        ]);
        if position > LEFT_THE_SOLVER && !self.left_the_solver {
            self.left_the_solver = true;
            self.notices.push(format!(
                "After {} frames (t = {:.3}) the learned fluid is {position:.1} particle \
                 spacings from the solver on average: the models drift from the solver over \
                 time (docs/MODELS.md)",
                self.steps, self.time
            ));
        }
    }

    /// Advances the solver to time `t` in equal steps of at most its own.
    fn advance_solver(&mut self, t: f64) -> Result<(), CaseError> {
        let left = t - self.solver.time;
        let substeps = (left / self.solver_dt).ceil().max(1.0);
        for _ in 0..substeps as u64 {
            self.solver
                .step(left / substeps)
                .map_err(|e| CaseError::Diverged(format!("the SPH solver: {e}")))?;
        }
        self.solver.time = t;
        Ok(())
    }

    /// Per-particle values of a view: the learned fluid's and the solver's.
    fn values(&self, name: &str) -> Option<(Vec<f64>, Vec<f64>)> {
        let speed = |v: &[[f64; 2]]| v.iter().map(|v| v[0].hypot(v[1])).collect::<Vec<_>>();
        match name {
            "speed" => Some((speed(&self.v), speed(&self.solver.fluid.v))),
            "density" => Some((
                summation_density(&self.solver, &self.x),
                summation_density(&self.solver, &self.solver.fluid.x),
            )),
            // Not measured without the solver: blank.
            "error" if !self.beside => Some((vec![f64::NAN; self.x.len()], Vec::new())),
            "error" => {
                let d = self.distances();
                Some((d.clone(), d))
            }
            _ => None,
        }
    }
}

impl Rollout for Sim {
    fn net(&self) -> &ParticleNet {
        &self.model.net
    }

    fn inputs(&self) -> (Graph, Vec<f32>) {
        self.model.inputs(&self.x, &self.v, &self.solver.walls)
    }

    fn arrive(&mut self, out: &[f32]) -> Result<(), CaseError> {
        let (x, v) = self.model.integrate(&self.x, &self.v, out);
        if let Some(bad) = x.iter().chain(&v).flatten().find(|v| !v.is_finite()) {
            return Err(CaseError::Diverged(format!(
                "the learned solver after {} steps: a particle's state became {bad}",
                self.steps
            )));
        }
        (self.x, self.v) = (x, v);
        self.steps += 1;
        self.time = self.steps as f64 * self.model.dt;
        if self.beside {
            self.advance_solver(self.time)?;
        }
        self.record();
        Ok(())
    }
}

/// The case.
pub struct LearnedSph2dCase {
    params: ParamValues,
    runner: Runner,
    sim: Sim,
}

impl LearnedSph2dCase {
    /// The case on the CPU, or with `gpu` its network on that device.
    pub fn new(
        params: &ParamValues,
        models: &ModelFiles,
        gpu: Option<&GpuContext>,
    ) -> Result<Self, CaseError> {
        let params = SPEC.complete(params)?;
        let choice = params.choice("model");
        let file = SPEC
            .models
            .iter()
            .copied()
            .find(|f| *f == model_file(choice))
            .ok_or_else(|| CaseError::Model(format!("no model '{choice}'")))?;
        let bytes = models.get(file).ok_or(CaseError::MissingModel { case: SPEC.id, file })?;
        let model = SfbcModel2d::from_bytes(bytes).map_err(CaseError::Model)?;
        let n = params.int("n") as usize;
        let solver = swirl::swirling_box(n, params.float("speed"), params.int("seed") as u64)
            .map_err(|e| CaseError::Diverged(e.to_string()))?;
        let mut notices = Vec::new();
        if n != model.n {
            notices.push(format!(
                "The model was trained with {0} × {0} particles; with {n} × {n} the spacing \
                 differs, so it extrapolates",
                model.n
            ));
        }
        let runner = Runner::new(gpu, &model.net);
        let mut sim = Sim {
            x: solver.fluid.x.clone(),
            v: solver.fluid.v.clone(),
            solver_dt: swirl::solver_dt(&solver),
            solver,
            model,
            beside: params.choice("solver") == "beside",
            time: 0.0,
            steps: 0,
            history: Vec::new(),
            notices,
            left_the_solver: false,
        };
        sim.record();
        Ok(Self { params, runner, sim })
    }
}

impl Case for LearnedSph2dCase {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn backend(&self) -> Backend {
        self.runner.backend()
    }

    fn params(&self) -> &ParamValues {
        &self.params
    }

    fn set_param(&mut self, name: &str, _: ParamValue) -> Result<(), CaseError> {
        SPEC.param(name).ok_or_else(|| CaseError::UnknownCase(format!("no parameter '{name}'")))?;
        Err(CaseError::NeedsReset(name.into()))
    }

    fn step(&mut self, n: u32) -> Result<(), CaseError> {
        self.runner.step(&mut self.sim, n)
    }

    fn steps(&self) -> u64 {
        self.sim.steps
    }

    fn time(&self) -> f64 {
        self.sim.time
    }

    fn dt(&self) -> f64 {
        self.sim.model.dt
    }

    fn domain(&self) -> Domain {
        [[0.0, SOLVER_OFFSET + SIDE], [0.0, SIDE]]
    }

    fn shape(&self) -> Option<[usize; 2]> {
        None
    }

    fn particles(&self) -> Option<usize> {
        Some(self.sim.x.len())
    }

    /// Both boxes side by side: the learned fluid at the left, the solver's at the right.
    fn read_view(&self, name: &str) -> Result<Field2, CaseError> {
        let (learned, solver) =
            self.sim.values(name).ok_or_else(|| flowscope_core::case::unknown_view(&SPEC, name))?;
        let shifted = self.sim.solver.fluid.x.iter().map(|p| [p[0] + SOLVER_OFFSET, p[1]]);
        let points: Vec<[f64; 2]> = self.sim.x.iter().copied().chain(shifted).collect();
        let values: Vec<f64> = learned.into_iter().chain(solver).collect();
        let (pixel, disc) = view_raster(&self.sim.solver.tank);
        Ok(splat(&points, &values, (SOLVER_OFFSET + SIDE, SIDE), pixel, disc))
    }

    fn particle_state(&self) -> Option<ParticleState> {
        let narrow = |values: &[f64]| values.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let views = SPEC
            .views
            .iter()
            .filter_map(|v| Some((v.name, narrow(&self.sim.values(v.name)?.0))))
            .collect();
        let c = &self.sim.model.net.config;
        let sph = &self.sim.solver;
        let meta = serde_json::json!({
            "particle_mass": sph.fluid.mass,
            "smoothing_length": sph.h,
            "equation_of_state": {
                "kind": "Tait, p = B ((rho / rho0)^gamma - 1), B = c0^2 rho0 / gamma",
                "gamma": flowscope_sph::wcsph::GAMMA, "rho0": sph.config.rho0, "c0": sph.config.c0,
            },
            "learned": {
                "model": self.params.choice("model"), "basis": c.basis, "terms": c.terms,
                "head": c.head, "radius": self.sim.model.radius, "dt": self.sim.model.dt,
                "frame_distance": self.sim.model.frame_distance,
                "positions": "the learned solver's fluid; 'error' is each particle's distance to its twin in the SPH solver",
            },
        });
        Some(ParticleState { dim: 2, positions: narrow(&self.sim.x.concat()), views, meta })
    }

    fn observables(&self) -> Result<Vec<f64>, CaseError> {
        let last = self.sim.history.last().copied().unwrap_or([0.0; 9]);
        let mass = self.sim.solver.fluid.total_mass();
        Ok(vec![mass, last[3], last[7], last[1], last[2], last[5], last[8]])
    }

    fn interact(&mut self, _: &Interaction) -> Result<(), CaseError> {
        Err(CaseError::BadInteraction("the learned box takes no pointer input".into()))
    }

    fn notices(&self) -> &[String] {
        &self.sim.notices
    }

    fn inapplicable_observables(&self) -> Vec<&'static str> {
        if self.params().choice("solver") == "off" {
            vec!["position_error", "density_error", "solver_momentum_x", "solver_kinetic_energy"]
        } else {
            Vec::new()
        }
    }

    fn plots(&self) -> Result<Vec<Plot>, CaseError> {
        let over_time =
            |k: usize| self.sim.history.iter().map(|h| [h[0], h[k]]).collect::<Vec<_>>();
        Ok(vec![
            Plot {
                name: "error",
                title: "Error against the solver over time".into(),
                x_label: "t",
                y_label: "RMS error",
                series: vec![
                    Series::line("position (spacings)", over_time(1)),
                    Series::line("density (× 100, of ρ0)", {
                        over_time(2).into_iter().map(|[t, e]| [t, 100.0 * e]).collect()
                    }),
                ],
            },
            Plot {
                name: "momentum",
                title: "Total momentum (the walls push back)".into(),
                x_label: "t",
                y_label: "kg·m/s",
                series: vec![
                    Series::line("learned, x", over_time(3)),
                    Series::line("learned, y", over_time(4)),
                    Series::line("SPH solver, x", over_time(5)),
                    Series::line("SPH solver, y", over_time(6)),
                ],
            },
            Plot {
                name: "energy",
                title: "Kinetic energy".into(),
                x_label: "t",
                y_label: "J",
                series: vec![
                    Series::line("learned", over_time(7)),
                    Series::line("SPH solver", over_time(8)),
                ],
            },
        ])
    }
}

impl crate::Simulation for LearnedSph2dCase {
    fn gpu_view(&self, _: &str) -> Option<crate::GpuView<'_>> {
        None
    }

    fn step_slice(&mut self) -> Result<(), CaseError> {
        self.runner.step_slice(&mut self.sim)
    }

    fn slices(&self) -> bool {
        true
    }

    fn poll(&mut self) -> Result<bool, CaseError> {
        self.runner.poll(&mut self.sim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Simulation;
    use std::path::PathBuf;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn shipped(model: &str) -> Vec<u8> {
        crate::read_model(&root().join("public/models"), &model_file(model)).unwrap().0
    }

    fn models() -> ModelFiles {
        MODELS.iter().map(|m| (model_file(m), shipped(m))).collect()
    }

    fn params(pairs: &[(&str, &str)]) -> ParamValues {
        let mut values = ParamValues::defaults(SPEC.params);
        for (name, text) in pairs {
            values.set_text(SPEC.id, SPEC.params, name, text).unwrap();
        }
        values
    }

    fn pairs(flat: &[f32]) -> Vec<[f64; 2]> {
        flat.chunks_exact(2).map(|p| [f64::from(p[0]), f64::from(p[1])]).collect()
    }

    /// Every shipped model's first network steps against PyTorch's (training/make_sfbc_fixture.py),
    /// from a held-out start, each step from PyTorch's state before it.
    #[test]
    fn steps_match_pytorch() {
        let bytes =
            std::fs::read(root().join("tests/fixtures/nn/sfbc-2d-rollout.safetensors")).unwrap();
        let mut fixture = Weights::from_bytes(&bytes).unwrap();
        let wall = fixture.take_any("wall").unwrap().data;
        let fluid = wall.iter().filter(|&&w| w == 0.0).count();
        assert!(wall[..fluid].iter().all(|&w| w == 0.0), "fluid first, then walls");
        let x0 = pairs(&fixture.take_any("x0").unwrap().data);
        let u0 = pairs(&fixture.take_any("u0").unwrap().data);
        let walls = x0[fluid..].to_vec();
        for name in MODELS {
            let model = SfbcModel2d::from_bytes(&shipped(name)).unwrap();
            let xs = pairs(&fixture.take_any(&format!("sfbc-2d-{name}.x")).unwrap().data);
            let us = pairs(&fixture.take_any(&format!("sfbc-2d-{name}.u")).unwrap().data);
            let n = x0.len();
            let (mut x, mut u) = (x0[..fluid].to_vec(), u0[..fluid].to_vec());
            for step in 0..xs.len() / n {
                let (nx, nu) = model.step(&x, &u, &walls).unwrap();
                let (tx, tu) = (&xs[step * n..][..fluid], &us[step * n..][..fluid]);
                let far = |a: &[[f64; 2]], b: &[[f64; 2]]| {
                    a.iter()
                        .zip(b)
                        .map(|(a, b)| (a[0] - b[0]).abs().max((a[1] - b[1]).abs()))
                        .fold(0.0, f64::max)
                };
                let spacing = 1.0 / model.n as f64;
                let scale = tu.iter().flatten().fold(0f64, |m, v| m.max(v.abs()));
                assert!(far(&nx, tx) < 1e-4 * spacing, "{name} step {}: positions", step + 1);
                assert!(far(&nu, tu) < 1e-4 * scale, "{name} step {}: velocities", step + 1);
                (x, u) = (tx.to_vec(), tu.to_vec());
            }
        }
    }

    #[test]
    fn the_learned_fluid_stays_near_the_solver_and_repeats_for_a_seed() {
        let run = || {
            let mut case =
                LearnedSph2dCase::new(&params(&[("seed", "3")]), &models(), None).unwrap();
            case.step(4).unwrap();
            case
        };
        let (a, b) = (run(), run());
        assert_eq!(a.sim.x, b.sim.x, "the same seed, the same rollout");
        let o = a.observables().unwrap();
        let names: Vec<_> = SPEC.observables.iter().map(|o| o.name).collect();
        assert_eq!(o.len(), names.len());
        let at = |n: &str| o[names.iter().position(|m| *m == n).unwrap()];
        assert!((a.sim.solver.time - a.time()).abs() < 1e-12);
        assert!(at("position_error") < 0.3, "{} spacings after 4 frames", at("position_error"));
        assert!(at("density_error") < 0.02, "{} of ρ0 after 4 frames", at("density_error"));
        let energy = at("kinetic_energy") / at("solver_kinetic_energy");
        assert!((0.8..1.2).contains(&energy), "kinetic energy {energy} of the solver's");
        assert!(o.iter().all(|v| v.is_finite()));
        for view in SPEC.views {
            let field = a.read_view(view.name).unwrap();
            assert!(field.nx > 2 * field.ny && field.data.iter().any(|v| v.is_finite()));
        }
        let state = a.particle_state().unwrap();
        assert_eq!(state.positions.len(), 2 * 45 * 45);
        assert!(a.notices().is_empty(), "{:?}", a.notices());
    }

    /// The WGSL network rolls out what the CPU one does, the frames arriving through `poll`.
    #[test]
    fn the_gpu_rollout_follows_the_cpu_one() {
        let Some(ctx) = flowscope_gpu::context_for_tests() else { return };
        let p = params(&[("n", "24")]);
        let mut cpu = LearnedSph2dCase::new(&p, &models(), None).unwrap();
        let mut gpu = LearnedSph2dCase::new(&p, &models(), Some(&ctx)).unwrap();
        cpu.step(2).unwrap();
        gpu.step(2).unwrap();
        assert_eq!((gpu.steps(), gpu.backend()), (2, Backend::Gpu));
        let apart = cpu
            .sim
            .x
            .iter()
            .zip(&gpu.sim.x)
            .map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1]))
            .fold(0.0, f64::max);
        assert!(apart < 1e-3 * cpu.sim.spacing(), "the backends' particles are {apart} apart");
        gpu.step_slice().unwrap();
        while gpu.poll().unwrap() {}
        assert_eq!(gpu.steps(), 3);
    }

    #[test]
    fn other_files_and_particle_counts_are_handled() {
        let mut wrong = models();
        wrong.insert(model_file(MODELS[0]), b"not a model".to_vec());
        assert!(LearnedSph2dCase::new(&params(&[]), &wrong, None).is_err());
        let one_d = crate::read_model(&root().join("public/models"), "sfbc-1d-fourier.safetensors");
        let error = SfbcModel2d::from_bytes(&one_d.unwrap().0).err().unwrap();
        assert!(error.contains("1D"), "{error}");
        let case = LearnedSph2dCase::new(&params(&[("n", "30")]), &models(), None).unwrap();
        assert!(case.notices()[0].contains("trained with 45"), "{:?}", case.notices());
    }
}
