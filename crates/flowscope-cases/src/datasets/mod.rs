//! Datasets for the learned models: runs of our own cases, sampled into arrays for training
//! (`flowscope generate <dataset>`, the format in docs/MODELS.md).
//!
//! A dataset lists all its runs up front, from its options alone, so that shards (processes or
//! machines) can split them by index, and simulates one run at a time, deterministically for a
//! seed. It composes cases through their public contract; it never depends on the nn room or on
//! training/.

mod acdm_wake;
pub mod airfoil_uncertainty;
pub mod sfbc_1d;
pub mod sfbc_2d;
pub mod smdp_heat;
pub mod smdp_toy;

pub use acdm_wake::{AcdmWake, WakeSolver};
pub use airfoil_uncertainty::AirfoilUncertainty;
pub use sfbc_1d::Sfbc1d;
pub use sfbc_2d::Sfbc2d;
pub use smdp_heat::SmdpHeat;
pub use smdp_toy::SmdpToy;

use std::collections::BTreeMap;

/// Run `run`'s random word under the dataset `seed`: SplitMix64's output function.
pub(crate) fn mix(seed: u64, run: usize) -> u64 {
    let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(run as u64 + 1);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A number in [0, 1) from run `run`'s random word under `seed`.
pub(crate) fn unit_draw(seed: u64, run: usize) -> f64 {
    mix(seed, run) as f64 / 2f64.powi(64)
}

/// An option of a dataset, set with `--set name=value`.
pub struct OptionSpec {
    pub name: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

/// Option values, as text, defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Options(BTreeMap<String, String>);

impl Options {
    pub fn float(&self, name: &str) -> Result<f64, String> {
        let text = &self.0[name];
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("option '{name}' must be a number, got '{text}'"))
    }

    /// A whole number of at least `min`.
    pub fn count(&self, name: &str, min: usize) -> Result<usize, String> {
        let text = &self.0[name];
        text.parse::<usize>()
            .ok()
            .filter(|&v| v >= min)
            .ok_or_else(|| format!("option '{name}' must be a whole number ≥ {min}, got '{text}'"))
    }

    pub fn text(&self, name: &str) -> &str {
        &self.0[name]
    }

    /// All values, for meta.json.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// One run of a dataset: a case started with one set of conditioning values.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// Position in the dataset's run list (shards split by it).
    pub index: usize,
    pub split: &'static str,
    /// File stem, unique in the dataset.
    pub name: String,
    /// Conditioning values, in the order of [`Dataset::conditions`].
    pub condition: Vec<f64>,
}

/// What one run produced: frames `[frames, channels, height, width]`, row 0 at the bottom.
pub struct Frames {
    pub shape: [usize; 4],
    pub data: Vec<f32>,
    /// Simulated time of each frame.
    pub times: Vec<f64>,
    /// Solver steps taken.
    pub steps: u64,
}

pub trait Dataset: Sync {
    fn name(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    fn options(&self) -> &'static [OptionSpec];
    /// The stored channels, in order.
    fn channels(&self) -> &'static [&'static str];
    /// The conditioning values of a run, in order.
    fn conditions(&self) -> &'static [&'static str];
    /// The case the runs come from, and its parameters for `run`.
    fn case(&self) -> &'static str;
    fn case_params(
        &self,
        run: &Run,
        options: &Options,
        seed: u64,
    ) -> Result<Vec<(String, String)>, String>;
    /// Whether the runs' snapshots sample a distribution whose per-cell mean and standard
    /// deviation belong with the data (`<run>_stats.npy`, f32 [2, channels, height, width]).
    fn per_run_statistics(&self) -> bool {
        false
    }
    /// Every run of the dataset, in a fixed order.
    fn runs(&self, options: &Options) -> Result<Vec<Run>, String>;
    /// Simulates `run`, calling `progress` with the fraction done now and then.
    fn simulate(
        &self,
        run: &Run,
        options: &Options,
        seed: u64,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Frames, String>;
}

/// Every dataset `flowscope generate` knows.
pub static DATASETS: &[&dyn Dataset] = &[
    &acdm_wake::AcdmWake,
    &smdp_toy::SmdpToy,
    &smdp_heat::SmdpHeat,
    &airfoil_uncertainty::AirfoilUncertainty,
    &sfbc_1d::Sfbc1d,
    &sfbc_2d::Sfbc2d,
];

pub fn find(name: &str) -> Result<&'static dyn Dataset, String> {
    DATASETS.iter().copied().find(|d| d.name() == name).ok_or_else(|| {
        let known: Vec<_> = DATASETS.iter().map(|d| d.name()).collect();
        format!("unknown dataset '{name}'; known datasets: {}", known.join(", "))
    })
}

/// The dataset's options with `assignments` (`name=value`) applied over the defaults.
pub fn options(dataset: &dyn Dataset, assignments: &[String]) -> Result<Options, String> {
    let mut values: BTreeMap<String, String> =
        dataset.options().iter().map(|o| (o.name.to_string(), o.default.to_string())).collect();
    for assignment in assignments {
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| format!("--set expects NAME=VALUE, got '{assignment}'"))?;
        let slot = values.get_mut(name.trim()).ok_or_else(|| {
            let known: Vec<_> = dataset.options().iter().map(|o| o.name).collect();
            format!(
                "'{}' has no option '{}'; it has: {}",
                dataset.name(),
                name.trim(),
                known.join(", ")
            )
        })?;
        *slot = value.trim().to_string();
    }
    Ok(Options(values))
}

/// Values from a list of numbers and ranges: `100:180:10,920:1000:10` (start:end:step, end
/// included) or `200,450`.
pub fn parse_values(text: &str) -> Result<Vec<f64>, String> {
    let mut values = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let numbers: Vec<f64> = part
            .split(':')
            .map(|n| n.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| format!("'{part}' is not a number or a start:end:step range"))?;
        match numbers[..] {
            [v] => values.push(v),
            [start, end, step] if step > 0.0 && end >= start => {
                let count = ((end - start) / step + 1e-9).floor() as usize;
                values.extend((0..=count).map(|k| start + k as f64 * step));
            }
            _ => {
                return Err(format!(
                    "'{part}': a range is start:end:step with end ≥ start, step > 0"
                ))
            }
        }
    }
    Ok(values)
}

/// The runs of a dataset of `options.count(train_key)` training and `options.count(test_key)`
/// held-out runs without conditions, named `train000…` and `test000…` (`digits` wide).
pub(crate) fn counted_runs(
    options: &Options,
    train_key: &str,
    test_key: &str,
    digits: usize,
) -> Result<Vec<Run>, String> {
    let (train, test) = (options.count(train_key, 0)?, options.count(test_key, 0)?);
    if train + test == 0 {
        return Err(format!("the dataset has no runs: give {train_key} or {test_key} some"));
    }
    Ok((0..train + test)
        .map(|index| {
            let (split, k) = if index < train { ("train", index) } else { ("test", index - train) };
            Run { index, split, name: format!("{split}{k:0digits$}"), condition: Vec::new() }
        })
        .collect())
}

/// Per cell, mean then standard deviation over the frames: `[2, channels, height, width]`.
pub fn cell_statistics(frames: &Frames) -> Vec<f32> {
    let [count, channels, height, width] = frames.shape;
    let size = channels * height * width;
    let mut out = vec![0.0f32; 2 * size];
    for k in 0..size {
        let values = (0..count).map(|f| f64::from(frames.data[f * size + k]));
        let mean = values.clone().sum::<f64>() / count as f64;
        let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / count as f64;
        out[k] = mean as f32;
        out[size + k] = var.sqrt() as f32;
    }
    out
}

/// Averages `[ny, nx]` values (row 0 at the bottom) over `factor × factor` blocks; NaN cells
/// (inside obstacles) are left out of a block's mean, and a block of only NaN becomes 0.
pub fn pool(values: &[f32], nx: usize, ny: usize, factor: usize) -> Vec<f32> {
    let (ox, oy) = (nx / factor, ny / factor);
    let mut out = Vec::with_capacity(ox * oy);
    for bj in 0..oy {
        for bi in 0..ox {
            let (mut sum, mut count) = (0.0f64, 0u32);
            for j in bj * factor..(bj + 1) * factor {
                for i in bi * factor..(bi + 1) * factor {
                    let v = values[j * nx + i];
                    if v.is_finite() {
                        sum += f64::from(v);
                        count += 1;
                    }
                }
            }
            out.push(if count == 0 { 0.0 } else { (sum / f64::from(count)) as f32 });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_include_their_end_and_lists_keep_their_order() {
        assert_eq!(parse_values("100:140:20,920").unwrap(), [100.0, 120.0, 140.0, 920.0]);
        assert_eq!(parse_values("200:900:10").unwrap().len(), 71);
        assert!(parse_values("1:2").is_err());
        assert!(parse_values("5:1:1").is_err());
        assert!(parse_values("x").is_err());
    }

    #[test]
    fn pooling_averages_blocks_and_skips_obstacle_cells() {
        let values = [1.0, 3.0, 5.0, 5.0, f32::NAN, 2.0, 7.0, 9.0];
        // 4 × 2 → 2 × 1.
        assert_eq!(pool(&values, 4, 2, 2), [2.0, 6.5]);
        assert_eq!(pool(&[f32::NAN; 4], 2, 2, 2), [0.0]);
    }

    #[test]
    fn options_take_assignments_and_name_the_known_ones() {
        let dataset = find("acdm-wake").unwrap();
        let options = options(dataset, &["n=16".into()]).unwrap();
        assert_eq!(options.count("n", 1).unwrap(), 16);
        let error = super::options(dataset, &["bogus=1".into()]).unwrap_err();
        assert!(error.contains("has no option 'bogus'") && error.contains("re_train"), "{error}");
        assert!(find("nope").err().is_some_and(|e| e.contains("acdm-wake")));
    }
}
