//! What the particle (SPH) cases share: the solver behind them, stepping at a CFL number,
//! views rendered from the particles, and the conserved quantities as observables. Each case
//! file supplies a [`ParticleSetup`]: its spec, how parameters become particles, and its own
//! observables.
//!
//! Views: a 1D gas is shown as a strip along x (the SPH interpolant at 512 points); a 2D fluid
//! as an image of its tank at two pixels per particle spacing (at most 2048 across), each
//! particle a disc, NaN where there is no fluid.

use crate::{GpuView, Simulation};
use flowscope_core::case::unknown_view;
use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    Backend, Case, CaseError, CaseSpec, Domain, Field2, Interaction, InteractionKind,
    ObservableSpec, ParamValue, ParamValues, ParticleState, Plot, ViewKind, ViewSpec,
};
use flowscope_gpu::GpuContext;
use flowscope_sph::dfsph::Dfsph;
use flowscope_sph::gas1d::{Ends, Gas1d};
use flowscope_sph::gas1d::{Eos, GasError};
use flowscope_sph::gpu::{view_raster, GpuDfsph, GpuGas1d, GpuWcsph};
use flowscope_sph::wcsph::{SphError, Wcsph, GAMMA};
use flowscope_sph::Shape;

/// The solver of a particle case.
pub enum Engine {
    Gas(Box<Gas1d>),
    Wcsph(Box<Wcsph>),
    Dfsph(Box<Dfsph>),
    /// WCSPH on the GPU; `mirror` holds the parameters and the state as last read back (in the
    /// browser a batch or so behind).
    GpuWcsph {
        gpu: Box<GpuWcsph>,
        mirror: Box<Wcsph>,
    },
    /// DFSPH on the GPU, mirrored likewise (with the last step's solver statistics).
    GpuDfsph {
        gpu: Box<GpuDfsph>,
        mirror: Box<Dfsph>,
    },
    /// The 1D gas on the GPU, mirrored likewise.
    GpuGas {
        gpu: Box<GpuGas1d>,
        mirror: Box<Gas1d>,
    },
}

impl Engine {
    /// The WCSPH fluid, on the CPU or as mirrored from the GPU.
    pub fn wcsph(&self) -> Option<&Wcsph> {
        match self {
            Engine::Wcsph(sph) => Some(sph),
            Engine::GpuWcsph { mirror, .. } => Some(mirror),
            _ => None,
        }
    }

    /// The 1D gas, on the CPU or as mirrored from the GPU.
    pub fn gas(&self) -> Option<&Gas1d> {
        match self {
            Engine::Gas(gas) => Some(gas),
            Engine::GpuGas { mirror, .. } => Some(mirror),
            _ => None,
        }
    }

    /// The DFSPH fluid, on the CPU or as mirrored from the GPU.
    pub fn dfsph(&self) -> Option<&Dfsph> {
        match self {
            Engine::Dfsph(sph) => Some(sph),
            Engine::GpuDfsph { mirror, .. } => Some(mirror),
            _ => None,
        }
    }
}

/// Observables every particle case records first.
pub const COMMON_OBSERVABLES: [ObservableSpec; 3] = [
    ObservableSpec { name: "total_mass", label: "Total mass", unit: "kg" },
    ObservableSpec { name: "momentum_x", label: "Momentum along x", unit: "kg·m/s" },
    ObservableSpec { name: "kinetic_energy", label: "Kinetic energy", unit: "J" },
];

/// The observables of a particle case: [`COMMON_OBSERVABLES`], then the case's own.
#[macro_export]
macro_rules! particle_observables {
    ($($extra:expr),* $(,)?) => {
        &[
            $crate::particle_case::COMMON_OBSERVABLES[0],
            $crate::particle_case::COMMON_OBSERVABLES[1],
            $crate::particle_case::COMMON_OBSERVABLES[2],
            $($extra),*
        ]
    };
}

pub const KERNEL: ParamSpec = ParamSpec {
    name: "kernel",
    label: "Smoothing kernel",
    unit: "",
    help: "cubic: Monaghan's cubic spline. wendland: Wendland C2, smoother and free of the pairing instability.",
    kind: ParamKind::Enum { options: &["wendland", "cubic"], default: "wendland" },
    needs_reset: true,
};

/// Bytes a 2D particle holds (position, velocity, density, pressure, the solver's scratch, its
/// share of the neighbour lists, the views); measured by tests/budget.rs.
pub const PARTICLE_BYTES: u64 = 320;
/// Bytes DFSPH adds per particle: each fluid particle's neighbour pairs with their kernel
/// gradients (about 21 of 32 bytes, held twice while gathered) and its solves' vectors; measured
/// by tests/budget.rs.
pub const DFSPH_PAIR_BYTES: u64 = 2000;
/// Bytes WCSPH adds per particle: its Verlet lists (candidates within the support and a skin)
/// and each fluid particle's pairs with their kernel gradients (24 bytes each); measured by
/// tests/budget.rs.
pub const WCSPH_PAIR_BYTES: u64 = 700;
/// Bytes a 1D gas particle holds.
pub const GAS_PARTICLE_BYTES: u64 = 768;

pub fn kernel_shape(params: &ParamValues) -> Shape {
    match params.choice("kernel") {
        "cubic" => Shape::CubicSpline,
        _ => Shape::WendlandC2,
    }
}

/// The CFL parameter with a case-specific default.
pub const fn cfl(default: f64) -> ParamSpec {
    ParamSpec {
        name: "cfl",
        label: "CFL number",
        unit: "",
        help: "Time step as a fraction of the time a signal (sound or the fastest particle) needs to cross a smoothing length.",
        kind: ParamKind::Float { min: 0.05, max: 1.0, default, log: false },
        needs_reset: false,
    }
}

/// A view of a particle quantity.
pub const fn view(name: &'static str, label: &'static str, unit: &'static str) -> ViewSpec {
    ViewSpec { name, label, unit, kind: ViewKind::Particles, range: None, colormap: "viridis" }
}

/// The neighbour-count view, on a fixed scale (a full 2D neighbourhood at h = 1.3 dx has 20).
pub const NEIGHBOURS: ViewSpec = ViewSpec {
    name: "neighbours",
    label: "Neighbour count",
    unit: "",
    kind: ViewKind::Particles,
    range: Some((0.0, 30.0)),
    colormap: "viridis",
};

pub trait ParticleSetup {
    fn spec(&self) -> &'static CaseSpec;
    fn build(&mut self, params: &ParamValues) -> Result<Engine, CaseError>;
    /// Observables after [`COMMON_OBSERVABLES`], in the spec's order.
    fn extra_observables(&self, engine: &Engine) -> Vec<f64>;
    /// Applies a live parameter change; false if it needs a reset.
    fn apply_live(&self, _engine: &mut Engine, _params: &ParamValues, _name: &str) -> bool {
        false
    }
    /// Profiles against reference data (see [`Case::plots`]).
    fn plots(&self, _engine: &Engine) -> Vec<Plot> {
        Vec::new()
    }
    /// Pulls the movable obstacle towards `point` (cases with [`InteractionKind::DragObstacle`]).
    fn drag(&self, _engine: &mut Engine, _point: [f64; 2]) {}
    /// Adds fluid within `radius` of `centre` (cases with [`InteractionKind::AddFluid`]);
    /// returns how many particles.
    fn add_fluid(&self, _engine: &mut Engine, _centre: [f64; 2], _radius: f64) -> usize {
        0
    }
}

pub struct ParticleCase<S: ParticleSetup> {
    setup: S,
    params: ParamValues,
    engine: Engine,
    steps: u64,
    last_dt: f64,
    notices: Vec<String>,
    /// Disc size of the particles in the 2D views, relative to the default.
    particle_size: f64,
}

impl<S: ParticleSetup> ParticleCase<S> {
    /// The case on the GPU when `gpu` is given and its solver has a WGSL twin (all but a fluid
    /// with a moving paddle), else on the CPU (with a notice when the GPU was asked for).
    pub fn new(
        mut setup: S,
        params: &ParamValues,
        gpu: Option<&GpuContext>,
    ) -> Result<Self, CaseError> {
        let checked = setup.spec().complete(params)?;
        let mut notices = Vec::new();
        let engine = match (setup.build(&checked)?, gpu) {
            (Engine::Wcsph(cpu), Some(ctx)) if cpu.paddle.is_none() => {
                Engine::GpuWcsph { gpu: Box::new(GpuWcsph::new(ctx, &cpu)), mirror: cpu }
            }
            (Engine::Dfsph(cpu), Some(ctx)) => {
                Engine::GpuDfsph { gpu: Box::new(GpuDfsph::new(ctx, &cpu)), mirror: cpu }
            }
            (Engine::Gas(cpu), Some(ctx)) => {
                Engine::GpuGas { gpu: Box::new(GpuGas1d::new(ctx, &cpu)), mirror: cpu }
            }
            (engine, Some(_)) => {
                notices.push(
                    "this solver has no GPU twin yet; it runs on the CPU backend".to_string(),
                );
                engine
            }
            (engine, None) => engine,
        };
        Ok(Self {
            setup,
            params: checked,
            engine,
            steps: 0,
            last_dt: 0.0,
            notices,
            particle_size: 1.0,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn next_dt(&mut self) -> f64 {
        let cfl = self.params.float("cfl");
        match &mut self.engine {
            // On the GPU: the step of the state last read back (a batch behind in the browser).
            Engine::Gas(gas) | Engine::GpuGas { mirror: gas, .. } => gas.stable_dt(cfl),
            Engine::Wcsph(sph) => sph.stable_dt(cfl),
            // The DFSPH step at the speed last read back (on the GPU a batch behind).
            Engine::Dfsph(sph) | Engine::GpuDfsph { mirror: sph, .. } => {
                sph.config.cfl = cfl;
                sph.stable_dt()
            }
            // The acoustic limit at the speed last read back (sound dominates in WCSPH).
            Engine::GpuWcsph { mirror, .. } => {
                cfl * mirror.h / (mirror.config.c0 + mirror.fluid.max_speed())
            }
        }
    }

    /// Steps the GPU fluid `n` times and takes in the state read back since.
    fn step_gpu(&mut self, n: u32) -> Result<(), CaseError> {
        let dt = self.next_dt();
        match &mut self.engine {
            Engine::GpuWcsph { gpu, mirror } => {
                gpu.step(dt, n);
                gpu.request_mirror();
                wait_on_native(gpu.context())?;
                if let Some(state) = gpu.take_mirror() {
                    refuse_non_finite(
                        state.x.iter().chain(&state.v).flatten().chain(&state.rho),
                        gpu.time,
                    )?;
                    mirror.fluid.x = state.x;
                    mirror.fluid.v = state.v;
                    mirror.rho = state.rho;
                }
                mirror.time = gpu.time;
            }
            Engine::GpuDfsph { gpu, mirror } => {
                gpu.step(dt, n);
                gpu.request_mirror();
                wait_on_native(gpu.context())?;
                if let Some(state) = gpu.take_mirror() {
                    let values = state.x.iter().chain(&state.v).flatten();
                    refuse_non_finite(values.chain(&state.rho).chain(&state.kappa), gpu.time)?;
                    mirror.fluid.x = state.x;
                    mirror.fluid.v = state.v;
                    mirror.rho = state.rho;
                    mirror.kappa = state.kappa;
                    mirror.neighbours = state.neighbours;
                    mirror.last = state.stats;
                    let escaped = mirror.fluid.escaped(&mirror.tank);
                    if escaped > 0 {
                        let error = SphError::Escaped(escaped, gpu.time);
                        return Err(CaseError::Diverged(error.to_string()));
                    }
                }
                mirror.time = gpu.time;
            }
            Engine::GpuGas { gpu, mirror } => {
                gpu.step(dt, n);
                gpu.request_mirror();
                wait_on_native(gpu.context())?;
                if let Some(state) = gpu.take_mirror() {
                    let values = state.x.iter().chain(&state.v).chain(&state.e);
                    refuse_non_finite(values.chain(&state.rho).chain(&state.p), gpu.time)?;
                    let (a, b) = mirror.domain;
                    if state.x.iter().any(|x| *x < a || *x > b) {
                        return Err(CaseError::Diverged(GasError::Escaped(gpu.time).to_string()));
                    }
                    (mirror.x, mirror.v, mirror.e) = (state.x, state.v, state.e);
                    (mirror.h, mirror.rho, mirror.p) = (state.h, state.rho, state.p);
                }
                mirror.time = gpu.time;
            }
            _ => return Ok(()),
        }
        self.last_dt = dt;
        self.steps += u64::from(n);
        Ok(())
    }

    /// Per-particle values of a view of a 2D fluid.
    fn values_2d(name: &str, sph: &Wcsph) -> Option<Vec<f64>> {
        Some(match name {
            "density" => sph.rho.clone(),
            "pressure" => sph.pressures(),
            "speed" => sph.fluid.v.iter().map(|v| v[0].hypot(v[1])).collect(),
            "neighbours" => sph.neighbours.iter().map(|&c| f64::from(c)).collect(),
            _ => return None,
        })
    }

    /// Per-particle values of a view of an incompressible 2D fluid.
    fn values_dfsph(name: &str, sph: &Dfsph) -> Option<Vec<f64>> {
        Some(match name {
            "density" => sph.rho.clone(),
            "pressure" => sph.pressures(),
            "speed" => sph.fluid.v.iter().map(|v| v[0].hypot(v[1])).collect(),
            "neighbours" => sph.neighbours.iter().map(|&c| f64::from(c)).collect(),
            _ => return None,
        })
    }

    /// Per-particle values of a view of a 1D gas.
    fn values_gas(name: &str, gas: &Gas1d) -> Option<Vec<f64>> {
        Some(match name {
            "density" => gas.rho.clone(),
            "velocity" => gas.v.clone(),
            "pressure" => gas.p.clone(),
            "energy" => gas.e.clone(),
            _ => return None,
        })
    }
}

/// Waits for the GPU natively, so that the state read back is that of the steps just taken
/// (the browser must not block: there it arrives a batch later).
fn wait_on_native(ctx: &GpuContext) -> Result<(), CaseError> {
    #[cfg(not(target_arch = "wasm32"))]
    flowscope_gpu::buffers::wait_idle(&ctx.device).map_err(CaseError::Gpu)?;
    #[cfg(target_arch = "wasm32")]
    let _ = ctx;
    Ok(())
}

/// A diverged error if any of the `values` read back from the GPU is not finite.
fn refuse_non_finite<'a>(
    mut values: impl Iterator<Item = &'a f64>,
    time: f64,
) -> Result<(), CaseError> {
    match values.find(|v| !v.is_finite()) {
        Some(bad) => Err(CaseError::Diverged(format!(
            "a particle's state became {bad} near t = {time:.4}; reset with a smaller time step"
        ))),
        None => Ok(()),
    }
}

/// Paints `values` of particles at `x` as discs of radius `radius` on an image of `[0, w] ×
/// [0, h]` with pixels of size `pixel`; NaN where no particle is.
pub(crate) fn splat(
    x: &[[f64; 2]],
    values: &[f64],
    (w, h): (f64, f64),
    pixel: f64,
    radius: f64,
) -> Field2 {
    let (nx, ny) = (((w / pixel).ceil() as usize).max(1), ((h / pixel).ceil() as usize).max(1));
    let mut field = Field2 { nx, ny, data: vec![f32::NAN; nx * ny] };
    let reach = (radius / pixel).ceil() as isize;
    for (p, &value) in x.iter().zip(values) {
        let (ci, cj) = ((p[0] / pixel).floor() as isize, (p[1] / pixel).floor() as isize);
        for j in cj - reach..=cj + reach {
            for i in ci - reach..=ci + reach {
                if i < 0 || j < 0 || i >= nx as isize || j >= ny as isize {
                    continue;
                }
                let centre = [(i as f64 + 0.5) * pixel, (j as f64 + 0.5) * pixel];
                if (centre[0] - p[0]).hypot(centre[1] - p[1]) <= radius {
                    field.data[j as usize * nx + i as usize] = value as f32;
                }
            }
        }
    }
    field
}

/// Points along a 1D gas's strip (as the GPU draws it).
const STRIP: usize = flowscope_sph::gpu::STRIP_POINTS;

/// The SPH interpolant of per-particle `values` at `STRIP` points across the gas's domain.
pub(crate) fn strip(gas: &Gas1d, values: &[f64]) -> Field2 {
    let (a, b) = gas.domain;
    let length = b - a;
    let h_max = gas.h.iter().cloned().fold(0.0, f64::max);
    let reach = gas.kernel.support(h_max);
    let mut order: Vec<usize> = (0..gas.x.len()).collect();
    order.sort_by(|&i, &j| gas.x[i].total_cmp(&gas.x[j]));
    let sorted: Vec<f64> = order.iter().map(|&i| gas.x[i]).collect();
    let shifts: &[f64] = if gas.ends == Ends::Periodic { &[-length, 0.0, length] } else { &[0.0] };
    let data = (0..STRIP)
        .map(|k| {
            let x = a + (k as f64 + 0.5) * length / STRIP as f64;
            let mut sum = 0.0;
            for shift in shifts {
                let (lo, hi) = (x - shift - reach, x - shift + reach);
                let start = sorted.partition_point(|&p| p < lo);
                let end = sorted.partition_point(|&p| p <= hi);
                for &i in &order[start..end] {
                    let r = (x - shift - gas.x[i]).abs();
                    sum += gas.m[i] / gas.rho[i] * values[i] * gas.kernel.w(r, gas.h[i]);
                }
            }
            sum as f32
        })
        .collect();
    Field2 { nx: STRIP, ny: 1, data }
}

impl<S: ParticleSetup> Case for ParticleCase<S> {
    fn spec(&self) -> &'static CaseSpec {
        self.setup.spec()
    }

    fn backend(&self) -> Backend {
        match self.engine {
            Engine::GpuWcsph { .. } | Engine::GpuDfsph { .. } | Engine::GpuGas { .. } => {
                Backend::Gpu
            }
            _ => Backend::Cpu,
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
        if name != "cfl" && !self.setup.apply_live(&mut self.engine, &params, name) {
            return Err(CaseError::NeedsReset(name.to_string()));
        }
        self.params = params;
        Ok(())
    }

    fn step(&mut self, n: u32) -> Result<(), CaseError> {
        if let Engine::GpuWcsph { .. } | Engine::GpuDfsph { .. } | Engine::GpuGas { .. } =
            self.engine
        {
            return self.step_gpu(n);
        }
        for _ in 0..n {
            let dt = self.next_dt();
            let outcome = match &mut self.engine {
                Engine::Gas(gas) => gas.step(dt).map_err(|e| e.to_string()),
                Engine::Wcsph(sph) => sph.step(dt).map_err(|e| e.to_string()),
                Engine::Dfsph(sph) => sph.step(dt).map(|_| ()).map_err(|e| e.to_string()),
                Engine::GpuWcsph { .. } | Engine::GpuDfsph { .. } | Engine::GpuGas { .. } => Ok(()),
            };
            outcome.map_err(CaseError::Diverged)?;
            self.last_dt = dt;
            self.steps += 1;
        }
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn time(&self) -> f64 {
        match &self.engine {
            Engine::Gas(gas) => gas.time,
            Engine::Wcsph(sph) => sph.time,
            Engine::Dfsph(sph) => sph.time,
            Engine::GpuWcsph { gpu, .. } => gpu.time,
            Engine::GpuDfsph { gpu, .. } => gpu.time,
            Engine::GpuGas { gpu, .. } => gpu.time,
        }
    }

    fn dt(&self) -> f64 {
        self.last_dt
    }

    fn domain(&self) -> Domain {
        match &self.engine {
            // A strip an eighth as tall as it is long.
            Engine::Gas(gas) | Engine::GpuGas { mirror: gas, .. } => {
                let (a, b) = gas.domain;
                [[a, b], [0.0, (b - a) / 8.0]]
            }
            Engine::Wcsph(sph) | Engine::GpuWcsph { mirror: sph, .. } => {
                [[0.0, sph.tank.width], [0.0, sph.tank.height]]
            }
            Engine::Dfsph(sph) | Engine::GpuDfsph { mirror: sph, .. } => {
                [[0.0, sph.tank.width], [0.0, sph.tank.height]]
            }
        }
    }

    fn shape(&self) -> Option<[usize; 2]> {
        None
    }

    fn particles(&self) -> Option<usize> {
        Some(match &self.engine {
            Engine::Gas(gas) | Engine::GpuGas { mirror: gas, .. } => gas.x.len(),
            Engine::Wcsph(sph) | Engine::GpuWcsph { mirror: sph, .. } => sph.fluid.x.len(),
            Engine::Dfsph(sph) | Engine::GpuDfsph { mirror: sph, .. } => sph.fluid.x.len(),
        })
    }

    fn read_view(&self, name: &str) -> Result<Field2, CaseError> {
        let unknown = || unknown_view(self.setup.spec(), name);
        if !self.setup.spec().views.iter().any(|v| v.name == name) {
            return Err(unknown());
        }
        match &self.engine {
            Engine::Gas(gas) | Engine::GpuGas { mirror: gas, .. } => {
                let values = Self::values_gas(name, gas).ok_or_else(unknown)?;
                Ok(strip(gas, &values))
            }
            Engine::Wcsph(sph) | Engine::GpuWcsph { mirror: sph, .. } => {
                let mut values = Self::values_2d(name, sph).ok_or_else(unknown)?;
                let mut points = sph.fluid.x.clone();
                // A paddle is drawn in the lowest colour of the view.
                if let Some(paddle) = &sph.paddle {
                    let floor = values.iter().cloned().fold(f64::INFINITY, f64::min);
                    let at = paddle.positions(sph.time);
                    values.extend(std::iter::repeat_n(floor, at.len()));
                    points.extend(at);
                }
                let (pixel, disc) = view_raster(&sph.tank);
                let size = (sph.tank.width, sph.tank.height);
                Ok(splat(&points, &values, size, pixel, disc * self.particle_size))
            }
            Engine::Dfsph(sph) | Engine::GpuDfsph { mirror: sph, .. } => {
                let values = Self::values_dfsph(name, sph).ok_or_else(unknown)?;
                let (pixel, disc) = view_raster(&sph.tank);
                let size = (sph.tank.width, sph.tank.height);
                Ok(splat(&sph.fluid.x, &values, size, pixel, disc * self.particle_size))
            }
        }
    }

    fn particle_state(&self) -> Option<ParticleState> {
        let narrow = |values: &[f64]| values.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let names = self.setup.spec().views.iter().map(|v| v.name);
        let (dim, positions, views, meta) = match &self.engine {
            Engine::Gas(gas) | Engine::GpuGas { mirror: gas, .. } => {
                let views = names.filter_map(|n| Some((n, narrow(&Self::values_gas(n, gas)?))));
                let smoothing_length = match gas.eta {
                    Some(eta) => {
                        let (lo, hi) =
                            gas.h.iter().fold((f64::MAX, 0f64), |(l, h), &v| (l.min(v), h.max(v)));
                        serde_json::json!({ "variable": "h = eta m / rho", "eta": eta, "min": lo, "max": hi })
                    }
                    None => serde_json::json!(gas.h.first().copied().unwrap_or(0.0)),
                };
                let equation_of_state = match gas.eos {
                    Eos::IdealGas { gamma } => {
                        serde_json::json!({ "kind": "ideal gas, p = (gamma - 1) rho e", "gamma": gamma })
                    }
                    Eos::Barotropic { kappa, rho0, c0 } => serde_json::json!({
                        "kind": "barotropic, p = kappa (rho - rho0)", "kappa": kappa, "rho0": rho0, "c0": c0
                    }),
                };
                let meta = serde_json::json!({
                    "particle_mass": gas.m.first().copied().unwrap_or(0.0),
                    "smoothing_length": smoothing_length,
                    "equation_of_state": equation_of_state,
                });
                (1, narrow(&gas.x), views.collect::<Vec<_>>(), meta)
            }
            Engine::Wcsph(sph) | Engine::GpuWcsph { mirror: sph, .. } => {
                let views = names.filter_map(|n| Some((n, narrow(&Self::values_2d(n, sph)?))));
                let c = sph.config;
                let meta = serde_json::json!({
                    "particle_mass": sph.fluid.mass,
                    "smoothing_length": sph.h,
                    "equation_of_state": {
                        "kind": "Tait, p = B ((rho / rho0)^gamma - 1), B = c0^2 rho0 / gamma",
                        "gamma": GAMMA, "rho0": c.rho0, "c0": c.c0,
                    },
                });
                (2, narrow(&sph.fluid.x.concat()), views.collect(), meta)
            }
            Engine::Dfsph(sph) | Engine::GpuDfsph { mirror: sph, .. } => {
                let views = names.filter_map(|n| Some((n, narrow(&Self::values_dfsph(n, sph)?))));
                let c = sph.config;
                let meta = serde_json::json!({
                    "particle_mass": sph.fluid.mass,
                    "smoothing_length": sph.h,
                    "equation_of_state": {
                        "kind": "incompressible (DFSPH), average density error within the tolerance",
                        "rho0": c.rho0, "tolerance": c.tolerance,
                    },
                });
                (2, narrow(&sph.fluid.x.concat()), views.collect(), meta)
            }
        };
        Some(ParticleState { dim, positions, views, meta })
    }

    fn observables(&self) -> Result<Vec<f64>, CaseError> {
        let mut values = match &self.engine {
            Engine::Gas(gas) | Engine::GpuGas { mirror: gas, .. } => {
                vec![gas.total_mass(), gas.momentum(), gas.kinetic_energy()]
            }
            Engine::Wcsph(sph) | Engine::GpuWcsph { mirror: sph, .. } => {
                let f = &sph.fluid;
                vec![f.total_mass(), f.momentum()[0], f.kinetic_energy()]
            }
            Engine::Dfsph(sph) | Engine::GpuDfsph { mirror: sph, .. } => {
                let f = &sph.fluid;
                vec![f.total_mass(), f.momentum()[0], f.kinetic_energy()]
            }
        };
        values.extend(self.setup.extra_observables(&self.engine));
        Ok(values)
    }

    fn interact(&mut self, interaction: &Interaction) -> Result<(), CaseError> {
        let spec = self.setup.spec();
        let (kind, x, y, radius) = match *interaction {
            Interaction::Paint { x, y, radius, .. } => (InteractionKind::AddFluid, x, y, radius),
            Interaction::Drag { x, y } => (InteractionKind::DragObstacle, x, y, 1.0),
        };
        if !spec.interactions.contains(&kind) {
            return Err(CaseError::BadInteraction(format!(
                "'{}' does not take '{}' from the pointer",
                spec.id,
                kind.label()
            )));
        }
        if !(x.is_finite() && y.is_finite() && radius.is_finite() && radius > 0.0) {
            return Err(CaseError::BadInteraction("the pointer position must be finite".into()));
        }
        match kind {
            InteractionKind::DragObstacle => self.setup.drag(&mut self.engine, [x, y]),
            _ => {
                self.setup.add_fluid(&mut self.engine, [x, y], radius);
            }
        }
        Ok(())
    }

    fn notices(&self) -> &[String] {
        &self.notices
    }

    fn inapplicable_observables(&self) -> Vec<&'static str> {
        let iterations = self.spec().observables.iter().any(|o| o.name == "solver_iterations");
        if iterations && self.engine.dfsph().is_none() {
            vec!["solver_iterations"]
        } else {
            Vec::new()
        }
    }

    fn plots(&self) -> Result<Vec<Plot>, CaseError> {
        Ok(self.setup.plots(&self.engine))
    }
}

impl<S: ParticleSetup> Simulation for ParticleCase<S> {
    fn gpu_view(&self, view: &str) -> Option<GpuView<'_>> {
        let ((nx, ny), buffer) = match &self.engine {
            Engine::GpuWcsph { gpu, .. } => (gpu.image(), gpu.view(view)?),
            Engine::GpuDfsph { gpu, .. } => (gpu.image(), gpu.view(view)?),
            Engine::GpuGas { gpu, .. } => ((STRIP as u32, 1), gpu.view(view)?),
            _ => return None,
        };
        Some(GpuView { buffer, nx, ny })
    }

    fn particle_size(&self) -> Option<f64> {
        (!matches!(self.engine, Engine::Gas(_) | Engine::GpuGas { .. }))
            .then_some(self.particle_size)
    }

    fn set_particle_size(&mut self, scale: f64) {
        self.particle_size = scale.clamp(0.25, 2.0);
        match &mut self.engine {
            Engine::GpuWcsph { gpu, .. } => gpu.set_disc_scale(self.particle_size),
            Engine::GpuDfsph { gpu, .. } => gpu.set_disc_scale(self.particle_size),
            _ => {}
        }
    }

    /// On the GPU: the extent of the view's values in the state last read back.
    fn measured_range(&self, view: &str) -> Option<(f32, f32)> {
        match &self.engine {
            Engine::GpuWcsph { gpu, .. } => gpu.view_extent(view),
            Engine::GpuDfsph { gpu, .. } => gpu.view_extent(view),
            Engine::GpuGas { gpu, .. } => gpu.view_extent(view),
            _ => None,
        }
    }
}
