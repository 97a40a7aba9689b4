//! `smdp-toy`: trajectories of SMDP's toy SDE ([`ToySde`]) from ±1 at t = 0 to t = 10, the
//! published 2500 for training. A run holds `trajectories` independent particles side by side:
//! frames `[steps + 1, 1, 1, trajectories]`, channel x.

use super::{Dataset, Frames, OptionSpec, Options, Run};
use crate::smdp_toy::ToySde;

pub struct SmdpToy;

const OPTIONS: &[OptionSpec] = &[
    OptionSpec { name: "trajectories", default: "100", help: "Particles per run." },
    OptionSpec { name: "train_runs", default: "25", help: "Training runs (25 × 100 published)." },
    OptionSpec { name: "test_runs", default: "5", help: "Held-out runs." },
    OptionSpec {
        name: "lambda", default: "7", help: "λ of the drift P(x) = −λ·sign(x)·x²."
    },
    OptionSpec { name: "g", default: "0.03", help: "The noise amplitude." },
    OptionSpec { name: "dt", default: "0.02", help: "The time step." },
    OptionSpec { name: "t_end", default: "10", help: "The end time." },
];

/// The SDE the options describe.
pub fn sde(options: &Options) -> Result<ToySde, String> {
    let (dt, t_end) = (options.float("dt")?, options.float("t_end")?);
    if dt <= 0.0 || t_end < dt {
        return Err(format!("need 0 < dt ≤ t_end, got dt = {dt}, t_end = {t_end}"));
    }
    Ok(ToySde {
        lambda: options.float("lambda")?,
        g: options.float("g")?,
        dt,
        steps: (t_end / dt).round() as usize,
    })
}

/// Run `run`'s noise seed under the dataset seed.
fn run_seed(seed: u64, run: usize) -> u32 {
    (super::mix(seed, run) >> 32) as u32
}

impl Dataset for SmdpToy {
    fn name(&self) -> &'static str {
        "smdp-toy"
    }

    fn summary(&self) -> &'static str {
        "SMDP's toy SDE: particles from ±1 drifting to 0 under dx = −λ sign(x) x² dt + g dW"
    }

    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }

    fn channels(&self) -> &'static [&'static str] {
        &["x"]
    }

    fn conditions(&self) -> &'static [&'static str] {
        &[]
    }

    fn case(&self) -> &'static str {
        "smdp-toy"
    }

    fn case_params(
        &self,
        _: &Run,
        options: &Options,
        _: u64,
    ) -> Result<Vec<(String, String)>, String> {
        Ok(["lambda", "g", "dt", "t_end"]
            .iter()
            .map(|k| (k.to_string(), options.text(k).to_string()))
            .collect())
    }

    fn runs(&self, options: &Options) -> Result<Vec<Run>, String> {
        super::counted_runs(options, "train_runs", "test_runs", 3)
    }

    fn simulate(
        &self,
        run: &Run,
        options: &Options,
        seed: u64,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Frames, String> {
        let sde = sde(options)?;
        let n = options.count("trajectories", 1)?;
        let seed = run_seed(seed, run.index);
        let mut x: Vec<f64> = (0..n as u32).map(|k| ToySde::start(seed, k)).collect();
        let mut data = Vec::with_capacity((sde.steps + 1) * n);
        data.extend(x.iter().map(|&v| v as f32));
        for step in 0..sde.steps {
            for (k, v) in x.iter_mut().enumerate() {
                *v = sde.forward(*v, seed, step as u32, k as u32);
            }
            data.extend(x.iter().map(|&v| v as f32));
            if step % 50 == 0 {
                progress(step as f64 / sde.steps as f64);
            }
        }
        if let Some(bad) = data.iter().position(|v| !v.is_finite()) {
            return Err(format!("run {}: value {bad} is not finite", run.name));
        }
        Ok(Frames {
            shape: [sde.steps + 1, 1, 1, n],
            data,
            times: (0..=sde.steps).map(|s| sde.time(s)).collect(),
            steps: sde.steps as u64,
        })
    }
}
