//! `smdp-toy` (contract id): the toy problem of SMDP (Holzschuh, Vegetti, Thuerey 2023).
//! Particles that start at −1 or +1 drift towards 0 under dx = P(x) dt + g dW,
//! P(x) = −λ·sign(x)·x², until at t = 10 their start is all but forgotten; a learned score runs
//! them backwards to the two starts again. The physics, its approximate inverse and the score
//! network's inputs live here; the backward step itself is the nn room's
//! [`flowscope_nn::smdp`]. The case plays both directions as space–time densities.

use flowscope_core::params::{ParamKind, ParamSpec};
use flowscope_core::{
    Backend, Case, CaseError, CaseSpec, Domain, Field2, Interaction, ObservableSpec, ParamValue,
    ParamValues, Plot, Preset, Series, ViewKind, ViewSpec,
};
use flowscope_nn::diffusion::normal;
use flowscope_nn::smdp::{self, Method};
use flowscope_nn::{Model, Tensor};

/// The SDE and its time grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ToySde {
    pub lambda: f64,
    pub g: f64,
    pub dt: f64,
    /// Steps from t = 0 to the end.
    pub steps: usize,
}

impl Default for ToySde {
    /// The published set-up: λ = 7, g = 0.03, t ∈ [0, 10] in steps of 0.02.
    fn default() -> Self {
        Self { lambda: 7.0, g: 0.03, dt: 0.02, steps: 500 }
    }
}

impl ToySde {
    pub fn drift(&self, x: f64) -> f64 {
        -self.lambda * x.signum() * x * x
    }

    /// Particle `index`'s start under `seed`: −1 or +1 with equal probability.
    pub fn start(seed: u32, index: u32) -> f64 {
        if normal(seed, 0, index) >= 0.0 {
            1.0
        } else {
            -1.0
        }
    }

    /// One Euler–Maruyama step forward from step `step`, particle `index`'s noise.
    pub fn forward(&self, x: f64, seed: u32, step: u32, index: u32) -> f64 {
        x + self.dt * self.drift(x)
            + self.g * self.dt.sqrt() * f64::from(normal(seed, step + 1, index))
    }

    /// The physics stepped back, B(x) = x − Δt P(x) (the backward step adds the learned score).
    pub fn inverse(&self, x: f64) -> f64 {
        x - self.dt * self.drift(x)
    }

    /// The time at step `step`.
    pub fn time(&self, step: usize) -> f64 {
        step as f64 * self.dt
    }

    /// The score network's input for state `x` at step `step` (> 0): `[x (1 + λt), ln t]`, x
    /// carried along the deterministic flow x0 / (1 + λ t x0), which keeps the two modes near
    /// ±1 at every t.
    pub fn score_input(&self, x: f64, step: usize) -> [f32; 2] {
        let t = self.time(step.max(1));
        [(x * (1.0 + self.lambda * t)) as f32, t.ln() as f32]
    }
}

/// The model file the case runs and `flowscope sample smdp-toy` draws with.
pub const MODEL_FILE: &str = "smdp-toy.safetensors";

/// The learned correction c_θ(x, t) ≈ g² ∇ log p_t(x) (training/train_smdp.py) with the SDE it
/// was trained for: c_θ = 2P(x) + ½[f(u, ln t) − f(−u, ln t)] of the network f, u = x (1 + λt)
/// — odd in x, as the toy's score is, and the stationary score 2P where the data are thin (see
/// train_smdp.py).
pub struct ToyScore {
    model: Model,
    pub sde: ToySde,
}

impl ToyScore {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let extra = crate::model_extra(bytes, "smdp-toy")?;
        if !extra["symmetry"]
            .as_str()
            .is_some_and(|s| s.starts_with("odd: c(x, t) = 2 P(x) + (f(u, ln t)"))
        {
            return Err(
                "the model's output is not c = 2P + odd part: retrain with training/train_smdp.py"
                    .into(),
            );
        }
        let number = |key: &str| {
            extra["sde"][key].as_f64().ok_or_else(|| format!("the model's sde has no '{key}'"))
        };
        let (dt, t_end) = (number("dt")?, number("t_end")?);
        if !(dt > 0.0 && t_end >= dt) {
            return Err(format!("the model's time grid is not usable (dt {dt}, t_end {t_end})"));
        }
        let sde = ToySde {
            lambda: number("lambda")?,
            g: number("g")?,
            dt,
            steps: (t_end / dt).round() as usize,
        };
        let (_, model) = Model::from_bytes(bytes).map_err(|e| e.to_string())?;
        Ok(Self { model, sde })
    }

    /// c_θ of the states `x` at step `step` (the network on x and on −x in one batch).
    pub fn correction(&self, x: &[f32], step: usize) -> Result<Vec<f32>, String> {
        let inputs = x
            .iter()
            .chain(x.iter().map(|v| -v).collect::<Vec<_>>().iter())
            .flat_map(|&v| self.sde.score_input(f64::from(v), step))
            .collect();
        let inputs = Tensor::new(vec![2 * x.len(), 2], inputs).map_err(|e| e.to_string())?;
        let f = self.model.forward(&inputs, None, None).map_err(|e| e.to_string())?.data;
        let (plus, minus) = f.split_at(x.len());
        Ok(x.iter()
            .zip(plus.iter().zip(minus))
            .map(|(&v, (a, b))| (2.0 * self.sde.drift(f64::from(v))) as f32 + 0.5 * (a - b))
            .collect())
    }

    /// One backward step of all particles from step `step` to `step − 1`, particle k's noise
    /// from `seeds[k]` (the ODE draws none).
    pub fn backward(
        &self,
        x: &[f32],
        step: usize,
        method: Method,
        seeds: &[u32],
    ) -> Result<Vec<f32>, String> {
        let inverse: Vec<f32> = x.iter().map(|&v| self.sde.inverse(f64::from(v)) as f32).collect();
        let correction = self.correction(x, step)?;
        let (g, dt) = (self.sde.g, self.sde.dt);
        Ok(smdp::backward_step(&inverse, &correction, g, dt, method, seeds, 1, step as u32))
    }

    /// The whole backward process from the end states `x` (t = t_end) to t = 0.
    pub fn sample(&self, x: &[f32], method: Method, seeds: &[u32]) -> Result<Vec<f32>, String> {
        (1..=self.sde.steps)
            .rev()
            .try_fold(x.to_vec(), |x, step| self.backward(&x, step, method, seeds))
    }
}

/// `count` particles run forward from their starts to t_end under `seed`: (starts, ends).
pub fn forward_particles(sde: &ToySde, count: usize, seed: u32) -> (Vec<f32>, Vec<f32>) {
    let starts: Vec<f64> = (0..count as u32).map(|k| ToySde::start(seed, k)).collect();
    let ends = starts
        .iter()
        .enumerate()
        .map(|(k, &x0)| {
            (0..sde.steps as u32).fold(x0, |x, step| sde.forward(x, seed, step, k as u32)) as f32
        })
        .collect();
    (starts.iter().map(|&v| v as f32).collect(), ends)
}

/// The seeds of the backward process's noise for `count` particles under `seed` (apart from
/// the forward run's).
pub fn backward_seeds(count: usize, seed: u32) -> Vec<u32> {
    (0..count as u32)
        .map(|k| (seed ^ 0x5BD1_E995).wrapping_mul(0x9E37_79B9).wrapping_add(k))
        .collect()
}

/// Rows of the space–time pictures, over x ∈ [−X_EDGE, X_EDGE].
const BINS: usize = 96;
const X_EDGE: f64 = 1.5;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "method",
        label: "Backward process",
        unit: "",
        help: "The reverse-time SDE draws a different path per particle; the probability-flow \
            ODE maps each end to one start, deterministically.",
        kind: ParamKind::Enum { options: &["sde", "ode"], default: "sde" },
        needs_reset: true,
    },
    ParamSpec {
        name: "particles",
        label: "Particles",
        unit: "",
        help: "Particles run forward from ±1 and back again.",
        kind: ParamKind::Int { min: 100, max: 5000, default: 1000 },
        needs_reset: true,
    },
    ParamSpec {
        name: "seed",
        label: "Seed",
        unit: "",
        help: "Chooses the starts and the noise; the same seed gives what `flowscope sample \
            smdp-toy` draws.",
        kind: ParamKind::Int { min: 0, max: 999_999, default: 0 },
        needs_reset: true,
    },
];

const fn density_view(name: &'static str, label: &'static str) -> ViewSpec {
    ViewSpec { name, label, unit: "", kind: ViewKind::Scalar, range: None, colormap: "inferno" }
}
/// The model and the fixed buffers, then what each of the `particles` adds; measured by
/// tests/budget.rs.
fn cost(params: &ParamValues) -> flowscope_core::Cost {
    let each = params.int("particles") as u64;
    flowscope_core::Cost {
        bytes: (512 << 10) + each * 64,
        set_by: &["particles"],
        ..Default::default()
    }
}

pub static SPEC: CaseSpec = CaseSpec {
    id: "smdp-toy",
    title: "Physics backwards (SMDP toy)",
    summary: "Particles drift from ±1 to 0; a learned score runs them back to where they began.",
    explanation:
        "Each particle starts at −1 or +1 and follows dx = −7·sign(x)·x² dt + 0.03 dW: the \
        drift pulls it towards 0, so by t = 10 the two groups have merged and the start is all but \
        forgotten. Run backwards, the physics alone would blow up; the learned score — a small \
        network trained on this site's own forward runs, the gradient of the log-density of the \
        particles at each time — adds what the inverse physics lacks. The reverse-time SDE sends \
        each particle back to one of the two starts, in the right proportions; the \
        probability-flow ODE maps each end to one start without noise. The pictures show the \
        density of the particles over time (x up, t to the right): forward above, backward below.",
    reference: "B. Holzschuh, S. Vegetti, N. Thuerey, Solving inverse physics problems with score \
        matching, NeurIPS 2023 (SMDP).",
    group: "learned",
    params: PARAMS,
    views: &[
        density_view("compare", "Forward (top) and backward (bottom) densities over t"),
        density_view("forward", "Forward: the particles from ±1 over t"),
        density_view("backward", "Backward: the learned reverse process from t = 10"),
    ],
    observables: &[
        ObservableSpec {
            name: "near_plus_one",
            label: "Backward particles within 0.1 of +1",
            unit: "",
        },
        ObservableSpec {
            name: "near_minus_one",
            label: "Backward particles within 0.1 of −1",
            unit: "",
        },
    ],
    interactions: &[],
    presets: &[
        Preset { name: "sde", label: "Reverse SDE: many paths back", params: &[] },
        Preset { name: "ode", label: "Probability-flow ODE", params: &[("method", "ode")] },
    ],
    exchange: None,
    models: &[MODEL_FILE],
    gpu: false,
    cost,
};

/// The case: the particles forward to t_end, then backward to 0 with the learned score.
pub struct SmdpToyCase {
    params: ParamValues,
    score: ToyScore,
    method: Method,
    seed: u32,
    backward_seeds: Vec<u32>,
    /// The particles now: forward until t_end, then the backward process's.
    x: Vec<f32>,
    /// Steps taken, forward then backward (2 × the SDE's steps in all).
    taken: usize,
    /// Densities per time step (`BINS` each), 0 where not yet reached.
    forward: Vec<f32>,
    backward: Vec<f32>,
    notices: Vec<String>,
}

impl SmdpToyCase {
    pub fn new(params: &ParamValues, models: &crate::ModelFiles) -> Result<Self, CaseError> {
        let params = SPEC.complete(params)?;
        let bytes = models
            .get(MODEL_FILE)
            .ok_or(CaseError::MissingModel { case: SPEC.id, file: MODEL_FILE })?;
        let score = ToyScore::from_bytes(bytes).map_err(CaseError::Model)?;
        let method = Method::parse(params.choice("method")).map_err(CaseError::Model)?;
        let (count, seed) = (params.int("particles") as usize, params.int("seed") as u32);
        let x: Vec<f32> = (0..count as u32).map(|k| ToySde::start(seed, k) as f32).collect();
        let columns = score.sde.steps + 1;
        let mut case = Self {
            params,
            method,
            seed,
            backward_seeds: backward_seeds(count, seed),
            x,
            taken: 0,
            forward: vec![0.0; columns * BINS],
            backward: vec![0.0; columns * BINS],
            notices: vec!["Forward to t = 10 first, then back with the learned score".into()],
            score,
        };
        case.record(0, false);
        Ok(case)
    }

    /// Writes the particles' density into column `column` of the forward or backward picture.
    fn record(&mut self, column: usize, backward: bool) {
        let columns = self.score.sde.steps + 1;
        let picture = if backward { &mut self.backward } else { &mut self.forward };
        let width = 2.0 * X_EDGE / BINS as f64;
        let weight = 1.0 / (self.x.len() as f64 * width);
        for &v in &self.x {
            let row = ((f64::from(v) + X_EDGE) / width).floor();
            if (0.0..BINS as f64).contains(&row) {
                picture[row as usize * columns + column] += weight as f32;
            }
        }
    }

    fn field(&self, picture: &[f32]) -> Field2 {
        Field2 { nx: self.score.sde.steps + 1, ny: BINS, data: picture.to_vec() }
    }

    /// The fraction of the particles within 0.1 of `target`.
    fn near(&self, target: f32) -> f64 {
        self.x.iter().filter(|&&v| (v - target).abs() < 0.1).count() as f64 / self.x.len() as f64
    }

    /// The histogram of the particles now, as a density over x.
    fn histogram(&self) -> Vec<[f64; 2]> {
        let columns = self.score.sde.steps + 1;
        let (column, picture) = match self.taken.checked_sub(self.score.sde.steps) {
            None => (self.taken, &self.forward),
            Some(back) => (self.score.sde.steps - back, &self.backward),
        };
        let width = 2.0 * X_EDGE / BINS as f64;
        (0..BINS)
            .map(|row| {
                let x = -X_EDGE + (row as f64 + 0.5) * width;
                [x, f64::from(picture[row * columns + column])]
            })
            .collect()
    }
}

impl Case for SmdpToyCase {
    fn spec(&self) -> &'static CaseSpec {
        &SPEC
    }

    fn backend(&self) -> Backend {
        Backend::Cpu
    }

    fn params(&self) -> &ParamValues {
        &self.params
    }

    fn set_param(&mut self, name: &str, _: ParamValue) -> Result<(), CaseError> {
        SPEC.param(name).ok_or_else(|| CaseError::UnknownCase(format!("no parameter '{name}'")))?;
        Err(CaseError::NeedsReset(name.into()))
    }

    /// `n` steps: forward until t_end, then backward until t = 0, then nothing more.
    fn step(&mut self, n: u32) -> Result<(), CaseError> {
        let sde = self.score.sde;
        for _ in 0..n {
            if self.taken < sde.steps {
                let step = self.taken as u32;
                let seed = self.seed;
                for (k, v) in self.x.iter_mut().enumerate() {
                    *v = sde.forward(f64::from(*v), seed, step, k as u32) as f32;
                }
                self.taken += 1;
                self.record(self.taken, false);
            } else if self.taken < 2 * sde.steps {
                let from = 2 * sde.steps - self.taken;
                self.x = self
                    .score
                    .backward(&self.x, from, self.method, &self.backward_seeds)
                    .map_err(CaseError::Model)?;
                if let Some(bad) = self.x.iter().find(|v| !v.is_finite()) {
                    return Err(CaseError::Diverged(format!(
                        "the backward process left the data at t = {:.2} (value {bad})",
                        sde.time(from)
                    )));
                }
                self.taken += 1;
                self.record(from - 1, true);
                if self.taken == 2 * sde.steps {
                    self.notices
                        .push("Back at t = 0: reset (or change the seed) to draw again".into());
                }
            }
        }
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.taken as u64
    }

    /// The process's time: rising forward, falling backward.
    fn time(&self) -> f64 {
        let sde = &self.score.sde;
        sde.time(if self.taken <= sde.steps { self.taken } else { 2 * sde.steps - self.taken })
    }

    fn dt(&self) -> f64 {
        self.score.sde.dt
    }

    fn domain(&self) -> Domain {
        [[0.0, self.score.sde.time(self.score.sde.steps)], [-X_EDGE, X_EDGE]]
    }

    fn shape(&self) -> Option<[usize; 2]> {
        Some([BINS, self.score.sde.steps + 1])
    }

    fn read_view(&self, name: &str) -> Result<Field2, CaseError> {
        Ok(match name {
            "forward" => self.field(&self.forward),
            "backward" => self.field(&self.backward),
            "compare" => {
                // Rows run upwards: the backward picture first, the forward one above it.
                let mut data = self.backward.clone();
                data.extend_from_slice(&self.forward);
                Field2 { nx: self.score.sde.steps + 1, ny: 2 * BINS, data }
            }
            _ => return Err(flowscope_core::case::unknown_view(&SPEC, name)),
        })
    }

    fn observables(&self) -> Result<Vec<f64>, CaseError> {
        if self.taken <= self.score.sde.steps {
            return Ok(vec![0.0, 0.0]);
        }
        Ok(vec![self.near(1.0), self.near(-1.0)])
    }

    fn interact(&mut self, _: &Interaction) -> Result<(), CaseError> {
        Err(CaseError::BadInteraction("the SMDP toy takes no pointer input".into()))
    }

    fn notices(&self) -> &[String] {
        &self.notices
    }

    /// Densities up to 3 per unit x: the starts (all particles in two bins, 16) saturate, so
    /// that the spread-out middle of the run shows.
    fn view_range(&self, _: &str) -> Option<(f32, f32)> {
        Some((0.0, 3.0))
    }

    fn plots(&self) -> Result<Vec<Plot>, CaseError> {
        Ok(vec![Plot {
            name: "histogram",
            title: format!("The particles at t = {:.2}", self.time()),
            x_label: "x",
            y_label: "density",
            series: vec![Series::line("particles", self.histogram())],
        }])
    }
}

impl crate::Simulation for SmdpToyCase {
    fn gpu_view(&self, _: &str) -> Option<crate::GpuView<'_>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_particles_forget_their_start_and_stay_near_it_early() {
        let sde = ToySde::default();
        let n = 2000;
        let mut x: Vec<f64> = (0..n).map(|k| ToySde::start(5, k)).collect();
        let positive = x.iter().filter(|&&v| v > 0.0).count();
        assert!((900..1100).contains(&positive), "±1 with equal odds: {positive} of {n}");
        for step in 0..sde.steps as u32 {
            for (k, v) in x.iter_mut().enumerate() {
                *v = sde.forward(*v, 5, step, k as u32);
            }
            if step == 4 {
                assert!(x.iter().all(|v| (v.abs() - 1.0).abs() < 0.5), "near ±1 after 0.1");
            }
        }
        // dx/dt = −7 x² from 1 gives 1/(1 + 7t) ≈ 0.014 at t = 10, and the noise's balance with
        // the drift, p ∝ exp(−2λ|x|³/(3g²)), spreads about 0.06: both starts end near 0.
        let mean_abs = x.iter().map(|v| v.abs()).sum::<f64>() / n as f64;
        assert!(mean_abs < 0.1, "mean |x| at t = 10: {mean_abs}");
        assert!((sde.inverse(sde.forward(0.5, 1, 0, 0)) - 0.5).abs() < 0.01);
    }

    /// The published check on the shipped score: from the forward run's ends, the reverse SDE
    /// recovers both starts in their proportions; the probability-flow ODE is deterministic.
    #[test]
    fn the_shipped_score_runs_the_particles_back_to_both_starts() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../public/models");
        let (bytes, _) = crate::read_model(&dir, MODEL_FILE).unwrap();
        let score = ToyScore::from_bytes(&bytes).unwrap();
        assert_eq!(score.sde, ToySde::default());
        // 200 particles: the fraction near +1 within ±0.035 (one standard deviation).
        let n = 200;
        let (_, ends) = forward_particles(&score.sde, n, 11);
        let x0 = score.sample(&ends, Method::Sde, &backward_seeds(n, 11)).unwrap();
        let near = |target: f32| x0.iter().filter(|&&v| (v - target).abs() < 0.1).count();
        let (plus, minus) = (near(1.0), near(-1.0));
        let fraction = plus as f64 / n as f64;
        assert!((0.4..=0.6).contains(&fraction), "{plus} of {n} near +1");
        assert!(plus + minus >= n * 95 / 100, "{plus} + {minus} of {n} within 0.1 of ±1");
        let ode = |seed| score.sample(&ends[..20], Method::Ode, &backward_seeds(20, seed)).unwrap();
        assert_eq!(ode(1), ode(2), "the ODE draws no noise");

        // The case draws what `flowscope sample smdp-toy` draws for the same seed.
        let mut params = SPEC.defaults();
        SPEC.set_text(&mut params, "particles", "100").unwrap();
        SPEC.set_text(&mut params, "seed", "5").unwrap();
        let models = crate::ModelFiles::from([(MODEL_FILE.to_string(), bytes)]);
        let mut case = SmdpToyCase::new(&params, &models).unwrap();
        case.step(2 * score.sde.steps as u32).unwrap();
        assert_eq!(case.time(), 0.0);
        let (_, ends) = forward_particles(&score.sde, 100, 5);
        assert_eq!(case.x, score.sample(&ends, Method::Sde, &backward_seeds(100, 5)).unwrap());
        let [plus, minus] = case.observables().unwrap()[..] else { panic!() };
        assert!(plus + minus > 0.9, "{plus} + {minus}");
    }
}
