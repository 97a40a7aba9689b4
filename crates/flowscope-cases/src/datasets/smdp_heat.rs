//! `smdp-heat`: the heat inverse problem of SMDP (Holzschuh, Vegetti, Thuerey 2023):
//! ∂u/∂t = Δu on a 32 × 32 periodic box of side 2π, from Gaussian random fields with a
//! power-law spectrum to t = 0.2 in 20 exact spectral steps, each followed by noise g √Δt z
//! (g = 0.1). A run is one field's trajectory, `[steps + 1, 1, n, n]`, channel u.

use super::{Dataset, Frames, OptionSpec, Options, Run};
use crate::smdp_heat::HeatProblem;

pub struct SmdpHeat;

const OPTIONS: &[OptionSpec] = &[
    OptionSpec { name: "n", default: "32", help: "Cells per side of the periodic 2π box." },
    OptionSpec { name: "train", default: "1000", help: "Training fields (one run each)." },
    OptionSpec { name: "test", default: "100", help: "Held-out fields." },
    OptionSpec { name: "steps", default: "20", help: "Exact spectral steps to t_end." },
    OptionSpec { name: "t_end", default: "0.2", help: "The end time." },
    OptionSpec { name: "noise", default: "0.1", help: "g: each step adds g √Δt z." },
    OptionSpec {
        name: "exponent",
        default: "4",
        help: "The initial fields' power spectrum falls as |k|^(−exponent).",
    },
];

/// Run `run`'s noise seed under the dataset seed.
fn run_seed(seed: u64, run: usize) -> u32 {
    (super::mix(seed, run) >> 32) as u32
}

impl Dataset for SmdpHeat {
    fn name(&self) -> &'static str {
        "smdp-heat"
    }

    fn summary(&self) -> &'static str {
        "SMDP's heat inverse problem: random fields blurred by ∂u/∂t = Δu to t = 0.2, with noise"
    }

    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }

    fn channels(&self) -> &'static [&'static str] {
        &["u"]
    }

    fn conditions(&self) -> &'static [&'static str] {
        &[]
    }

    fn case(&self) -> &'static str {
        "heat"
    }

    fn case_params(
        &self,
        _: &Run,
        options: &Options,
        _: u64,
    ) -> Result<Vec<(String, String)>, String> {
        Ok(["n", "steps", "t_end", "noise", "exponent"]
            .iter()
            .map(|k| (k.to_string(), options.text(k).to_string()))
            .collect())
    }

    fn runs(&self, options: &Options) -> Result<Vec<Run>, String> {
        super::counted_runs(options, "train", "test", 4)
    }

    fn simulate(
        &self,
        run: &Run,
        options: &Options,
        seed: u64,
        _: &mut dyn FnMut(f64),
    ) -> Result<Frames, String> {
        let n = options.count("n", 2)?;
        let steps = options.count("steps", 1)?;
        let (t_end, g) = (options.float("t_end")?, options.float("noise")?);
        if t_end <= 0.0 || g < 0.0 {
            return Err(format!("need t_end > 0 and noise ≥ 0, got {t_end} and {g}"));
        }
        let problem = HeatProblem {
            n,
            diffusivity: 1.0,
            t_end,
            steps,
            noise: g,
            inverse_clip: 1.0,
            exponent: options.float("exponent")?,
        };
        let seed = run_seed(seed, run.index);
        let data = problem.trajectory(&problem.truth(seed), seed);
        Ok(Frames {
            shape: [steps + 1, 1, n, n],
            data,
            times: (0..=steps).map(|s| s as f64 * problem.dt()).collect(),
            steps: steps as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::options;
    use crate::smdp_heat::random_field;

    #[test]
    fn fields_are_normalised_smooth_and_blur_with_noise_on_top() {
        let u = random_field(32, 4.0, 3);
        let mean = u.iter().map(|&v| f64::from(v)).sum::<f64>() / u.len() as f64;
        let var = u.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / u.len() as f64;
        assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4, "mean {mean}, variance {var}");
        // A spectrum falling as |k|^−4 is smooth: neighbours differ far less than the field.
        let jump =
            (0..u.len()).map(|c| (u[c] - u[(c / 32) * 32 + (c + 1) % 32]).abs()).sum::<f32>()
                / u.len() as f32;
        assert!(jump < 0.3, "mean neighbour difference {jump}");
        let set = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let options = options(&SmdpHeat, &set(&["train=2", "test=1"])).unwrap();
        let runs = SmdpHeat.runs(&options).unwrap();
        assert_eq!(runs.len(), 3);
        let frames = SmdpHeat.simulate(&runs[0], &options, 0, &mut |_| {}).unwrap();
        assert_eq!(frames.shape, [21, 1, 32, 32]);
        let energy =
            |f: usize| frames.data[f * 1024..(f + 1) * 1024].iter().map(|v| v * v).sum::<f32>();
        // The |k| = 1 modes hold most of the energy and keep exp(−2 · 0.2) ≈ 0.67 of it.
        assert!(
            energy(20) < 0.8 * energy(0),
            "diffusion removes energy: {} → {}",
            energy(0),
            energy(20)
        );
        let again = SmdpHeat.simulate(&runs[0], &options, 0, &mut |_| {}).unwrap();
        assert!(frames.data == again.data, "deterministic per seed");
    }
}
