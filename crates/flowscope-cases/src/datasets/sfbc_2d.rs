//! `sfbc-2d`: SFBC's test case II at our scale — a closed box of weakly compressible SPH fluid
//! (δ-SPH, Tait γ = 7, Wendland C2, ~20 neighbours) swirling from a random divergence-free
//! start, no gravity — recorded every frame of 16 solver steps. A run holds fluid and wall
//! particles side by side: frames `[frames, 6, 1, fluid + walls]`, channels x, y, u, v, ρ and
//! `wall` (1 for a wall particle, which never moves), particle order fixed.
//!
//! Each run's seed is the `seed` of `learned-sph-2d`, whose solver side replays it.

use super::{Dataset, Frames, OptionSpec, Options, Run};
use flowscope_sph::swirl::{self, FRAME_DISTANCE};

pub struct Sfbc2d;

const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "n",
        default: "45",
        help: "Particles across the box (45: about 2000 fluid particles; SFBC's 4096 is 64).",
    },
    OptionSpec { name: "speed", default: "1", help: "Peak initial speed [m/s]." },
    OptionSpec { name: "train_runs", default: "32", help: "Training runs." },
    OptionSpec { name: "test_runs", default: "8", help: "Held-out runs (other seeds)." },
    OptionSpec {
        name: "frames",
        default: "128",
        help: "Frames per run, each 16 solver steps (2048 steps, as published).",
    },
];

impl Dataset for Sfbc2d {
    fn name(&self) -> &'static str {
        "sfbc-2d"
    }

    fn summary(&self) -> &'static str {
        "SFBC test case II: weakly compressible SPH swirling in a closed box from random starts"
    }

    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }

    fn channels(&self) -> &'static [&'static str] {
        &["x", "y", "u", "v", "rho", "wall"]
    }

    fn conditions(&self) -> &'static [&'static str] {
        &[]
    }

    fn case(&self) -> &'static str {
        "learned-sph-2d"
    }

    fn case_params(
        &self,
        run: &Run,
        options: &Options,
        seed: u64,
    ) -> Result<Vec<(String, String)>, String> {
        Ok(vec![
            ("n".into(), options.text("n").into()),
            ("speed".into(), options.text("speed").into()),
            ("seed".into(), super::sfbc_1d::run_seed(seed, run.index).to_string()),
        ])
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
        let (n, frames) = (options.count("n", 8)?, options.count("frames", 1)?);
        let failed = |e: &dyn std::fmt::Display| format!("run {}: {e}", run.name);
        let mut sph = swirl::swirling_box(
            n,
            options.float("speed")?,
            super::sfbc_1d::run_seed(seed, run.index),
        )
        .map_err(|e| failed(&e))?;
        let dt = swirl::solver_dt(&sph);
        let (fluid, walls) = (sph.fluid.len(), sph.walls.len());
        let total = fluid + walls;
        let mut data = Vec::with_capacity((frames + 1) * 6 * total);
        let record = |sph: &flowscope_sph::wcsph::Wcsph, data: &mut Vec<f32>| {
            for axis in 0..2 {
                data.extend(sph.fluid.x.iter().map(|x| x[axis] as f32));
                data.extend(sph.walls.iter().map(|x| x[axis] as f32));
            }
            for axis in 0..2 {
                data.extend(sph.fluid.v.iter().map(|v| v[axis] as f32));
                data.extend(std::iter::repeat_n(0.0, walls));
            }
            data.extend(sph.rho.iter().map(|&r| r as f32));
            data.extend(std::iter::repeat_n(sph.config.rho0 as f32, walls));
            data.extend(std::iter::repeat_n(0.0, fluid));
            data.extend(std::iter::repeat_n(1.0, walls));
        };
        record(&sph, &mut data);
        for frame in 1..=frames {
            for _ in 0..FRAME_DISTANCE {
                sph.step(dt).map_err(|e| failed(&e))?;
            }
            record(&sph, &mut data);
            if frame % 8 == 0 {
                progress(frame as f64 / frames as f64);
            }
        }
        Ok(Frames {
            shape: [frames + 1, 6, 1, total],
            data,
            times: (0..=frames).map(|f| f as f64 * dt * f64::from(FRAME_DISTANCE)).collect(),
            steps: frames as u64 * u64::from(FRAME_DISTANCE),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_repeats_for_its_seed_and_keeps_its_walls() {
        let set = ["n=24", "frames=2", "train_runs=1", "test_runs=1"].map(String::from);
        let options = super::super::options(&Sfbc2d, &set).unwrap();
        let runs = Sfbc2d.runs(&options).unwrap();
        let simulate = || Sfbc2d.simulate(&runs[1], &options, 4, &mut |_| {}).unwrap();
        let (a, b) = (simulate(), simulate());
        assert_eq!(a.data, b.data);
        let total = a.shape[3];
        assert_eq!(total, 30 * 30);
        let channel = |frame: usize, c: usize| &a.data[(frame * 6 + c) * total..][..total];
        assert_eq!(channel(0, 5).iter().filter(|&&w| w == 1.0).count(), 30 * 30 - 24 * 24);
        // Fluid moves, walls do not.
        let moved = |i: usize| channel(2, 0)[i] != channel(0, 0)[i];
        assert!(moved(0) && !moved(total - 1));
        // The case with the run's parameters starts from the same fluid.
        let spec = crate::find("learned-sph-2d").unwrap();
        let mut values = flowscope_core::ParamValues::defaults(spec.params);
        for (name, text) in Sfbc2d.case_params(&runs[1], &options, 4).unwrap() {
            values.set_text(spec.id, spec.params, &name, &text).unwrap();
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../public/models");
        let models = crate::read_models(spec, &root).unwrap();
        let case = crate::create_with(spec.id, &values, None, &models).unwrap();
        let start = case.particle_state().unwrap().positions;
        let xs = start.iter().step_by(2).copied().collect::<Vec<f32>>();
        assert_eq!(xs, channel(0, 0)[..24 * 24].to_vec());
    }
}
