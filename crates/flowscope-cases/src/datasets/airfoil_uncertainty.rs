//! `airfoil-uncertainty`: snapshots of unsteady airfoil flows, the distribution a diffusion
//! surrogate learns (Liu & Thuerey, AIAA Journal 62(8), 2024), from our `airfoil` case.
//!
//! The published data are RANS solutions that oscillate at high Re; ours are the shedding wakes
//! of the unsteady `airfoil` case at AoA 15–25° and Re 800–3500, where the separated flow sheds
//! with a period of about 1.7–2 chord times (measured on this grid, n = 64: 21 cells per chord).
//! One run is one condition (NACA code, AoA, speed u at a fixed viscosity ν, so Re = u c / ν):
//! after a warm-up, `frames` snapshots `spacing` chord times apart (a little over one shedding
//! period, so that the phases are close to independent), cropped to the 3 × 3-chord window
//! around the airfoil and its near wake and averaged down to `out` × `out` cells.
//!
//! Channels: p (its mean over the window's fluid cells removed), ux, uy in the data's units
//! (free-stream speed u, viscosity ν), and the mask (1 in cells at least half solid, where the
//! flow channels are 0) — the network's input besides the free stream, the same in every frame.
//! The solver runs at speed 1 and Re = u/ν; velocities are scaled by u and pressure by u².

use super::{parse_values, Dataset, Frames, OptionSpec, Options, Run};

pub struct AirfoilUncertainty;

const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "set",
        default: "single",
        help: "single: one airfoil at one AoA, training and test speeds (the published set); \
               multi: every NACA code × AoA × speed of the multi_* options, multi_test held out.",
    },
    OptionSpec { name: "naca", default: "0012", help: "The single set's NACA code." },
    OptionSpec { name: "alpha", default: "20", help: "The single set's angle of attack (°)." },
    OptionSpec {
        name: "u_train",
        default: "0.5:1.5:0.25",
        help: "The single set's training speeds (five, as published).",
    },
    OptionSpec {
        name: "u_test",
        default: "0.4,0.625,0.875,1.125,1.375,1.75",
        help: "The single set's test speeds: four between the training ones, two beyond.",
    },
    OptionSpec {
        name: "multi_naca",
        default: "0012,2412,4412",
        help: "The multi set's NACA codes.",
    },
    OptionSpec { name: "multi_alpha", default: "15,20,25", help: "The multi set's AoAs (°)." },
    OptionSpec { name: "multi_u", default: "0.5,1.0,1.5", help: "The multi set's speeds." },
    OptionSpec {
        name: "multi_test",
        default: "0012/25/1.0,2412/20/0.5,2412/15/1.5,4412/20/1.0",
        help: "Held-out combinations of the multi set, NACA/AoA/u.",
    },
    OptionSpec { name: "nu", default: "5e-4", help: "Kinematic viscosity (Re = u c / ν, c = 1)." },
    OptionSpec {
        name: "n",
        default: "64",
        help: "Cells across the domain height (3 chords) when simulating.",
    },
    OptionSpec {
        name: "out",
        default: "32",
        help: "Cells across the stored 3 × 3-chord window; n must be a multiple of it.",
    },
    OptionSpec {
        name: "warmup",
        default: "15",
        help: "Chord times (c/u) before the first snapshot: the wake has shed for several periods.",
    },
    OptionSpec {
        name: "spacing",
        default: "2.3",
        help: "Chord times between snapshots (the shedding period is 1.7–2).",
    },
    OptionSpec { name: "frames", default: "25", help: "Snapshots per condition (25 published)." },
];

pub const CHANNELS: &[&str] = &["p", "ux", "uy", "mask"];

/// The stored window in the case's domain (chords): x from 1.25 (a quarter chord ahead of the
/// leading edge) over 3 chords, the full height.
const WINDOW: (f64, f64, f64) = (1.25, 0.0, 3.0);

/// `0012` → 12.0: the code as a number (the run's condition), four digits.
pub fn naca_number(code: &str) -> Result<f64, String> {
    if code.len() == 4 && code.chars().all(|c| c.is_ascii_digit()) {
        Ok(code.parse::<f64>().expect("four digits"))
    } else {
        Err(format!("'{code}' is not a four-digit NACA code"))
    }
}

fn naca_code(number: f64) -> String {
    format!("{:04}", number as u32)
}

fn codes(text: &str) -> Result<Vec<f64>, String> {
    text.split(',').map(str::trim).filter(|c| !c.is_empty()).map(naca_number).collect()
}

pub fn run_name(condition: &[f64]) -> String {
    format!("naca{}_a{:04.1}_u{:05.3}", naca_code(condition[0]), condition[1], condition[2])
        .replace('.', "_")
}

impl Dataset for AirfoilUncertainty {
    fn name(&self) -> &'static str {
        "airfoil-uncertainty"
    }

    fn summary(&self) -> &'static str {
        "Unsteady airfoil wakes (Liu & Thuerey's set-up): 25 snapshots per condition of p, ux, uy \
         and the mask at 32 × 32"
    }

    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }

    fn channels(&self) -> &'static [&'static str] {
        CHANNELS
    }

    fn conditions(&self) -> &'static [&'static str] {
        &["naca", "alpha", "u"]
    }

    fn case(&self) -> &'static str {
        "airfoil"
    }

    fn per_run_statistics(&self) -> bool {
        true
    }

    fn case_params(
        &self,
        run: &Run,
        options: &Options,
        _seed: u64,
    ) -> Result<Vec<(String, String)>, String> {
        let nu = options.float("nu")?;
        if nu <= 0.0 {
            return Err(format!("nu must be positive, got {nu}"));
        }
        Ok(vec![
            ("naca".into(), naca_code(run.condition[0])),
            ("alpha".into(), run.condition[1].to_string()),
            ("Re".into(), (run.condition[2] / nu).to_string()),
            ("n".into(), options.count("n", 8)?.to_string()),
        ])
    }

    fn runs(&self, options: &Options) -> Result<Vec<Run>, String> {
        let mut conditions: Vec<(&'static str, [f64; 3])> = Vec::new();
        match options.text("set") {
            "single" => {
                let naca = naca_number(options.text("naca"))?;
                let alpha = options.float("alpha")?;
                for (split, key) in [("train", "u_train"), ("test", "u_test")] {
                    for u in parse_values(options.text(key)).map_err(|e| format!("{key}: {e}"))? {
                        conditions.push((split, [naca, alpha, u]));
                    }
                }
            }
            "multi" => {
                let held_out: Vec<[f64; 3]> = options
                    .text("multi_test")
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|combo| {
                        let parts: Vec<&str> = combo.split('/').collect();
                        let bad = || format!("multi_test: '{combo}' is not NACA/AoA/u");
                        match parts[..] {
                            [code, alpha, u] => Ok([
                                naca_number(code)?,
                                alpha.parse().map_err(|_| bad())?,
                                u.parse().map_err(|_| bad())?,
                            ]),
                            _ => Err(bad()),
                        }
                    })
                    .collect::<Result<_, String>>()?;
                let values =
                    |key: &str| parse_values(options.text(key)).map_err(|e| format!("{key}: {e}"));
                for naca in codes(options.text("multi_naca"))? {
                    for alpha in values("multi_alpha")? {
                        for u in values("multi_u")? {
                            let c = [naca, alpha, u];
                            let test = held_out
                                .iter()
                                .any(|h| h.iter().zip(&c).all(|(a, b)| (a - b).abs() < 1e-9));
                            conditions.push((if test { "test" } else { "train" }, c));
                        }
                    }
                }
            }
            other => return Err(format!("set must be 'single' or 'multi', got '{other}'")),
        }
        let nu = options.float("nu")?;
        let mut runs = Vec::new();
        for (split, c) in conditions {
            let re = c[2] / nu;
            if !(10.0..=5000.0).contains(&re) {
                return Err(format!(
                    "u = {} with nu = {nu} gives Re {re:.0}, outside the airfoil case's 10–5000",
                    c[2]
                ));
            }
            if !(-20.0..=25.0).contains(&c[1]) {
                return Err(format!("AoA {}° is outside the airfoil case's −20–25°", c[1]));
            }
            runs.push(Run { index: runs.len(), split, name: run_name(&c), condition: c.to_vec() });
        }
        // Splits first train, then test, as the other datasets list them.
        runs.sort_by_key(|r| r.split != "train");
        for (k, run) in runs.iter_mut().enumerate() {
            run.index = k;
        }
        if runs.is_empty() {
            return Err("the dataset has no runs: give it some speeds".into());
        }
        Ok(runs)
    }

    fn simulate(
        &self,
        run: &Run,
        options: &Options,
        seed: u64,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Frames, String> {
        let mut solver = SnapshotSolver::new(options, run, seed)?;
        let frames = options.count("frames", 1)?;
        let spacing = options.float("spacing")?;
        if spacing <= 0.0 {
            return Err(format!("spacing must be positive, got {spacing}"));
        }
        let end = solver.warmup + spacing * (frames - 1) as f64;
        let mut data = Vec::new();
        let mut times = Vec::with_capacity(frames);
        for frame in 0..frames {
            solver
                .advance_to(solver.warmup + spacing * frame as f64, &mut |t| progress(t / end))?;
            data.extend(solver.snapshot()?);
            // Physical time of the data: chord times at speed 1 are 1/u of the data's.
            times.push(solver.case.time() / run.condition[2]);
        }
        progress(1.0);
        Ok(Frames {
            shape: [frames, CHANNELS.len(), solver.out, solver.out],
            data,
            times,
            steps: solver.case.steps(),
        })
    }
}

/// The `airfoil` case at one condition, read as the dataset's snapshots: the data of a run,
/// and the solver that runs live beside the learned samples.
pub struct SnapshotSolver {
    pub case: Box<dyn crate::Simulation>,
    /// Simulated time (chord times at speed 1) of the first snapshot.
    pub warmup: f64,
    pub out: usize,
    factor: usize,
    speed: f64,
    label: String,
}

impl SnapshotSolver {
    pub fn new(options: &Options, run: &Run, seed: u64) -> Result<Self, String> {
        let (n, out) = (options.count("n", 8)?, options.count("out", 1)?);
        if n % out != 0 {
            return Err(format!("n = {n} is not a multiple of out = {out}"));
        }
        let spec = crate::find(AirfoilUncertainty.case())?;
        let mut params = spec.defaults();
        for (name, value) in AirfoilUncertainty.case_params(run, options, seed)? {
            spec.set_text(&mut params, &name, &value).map_err(|e| e.to_string())?;
        }
        let case = crate::create(spec.id, &params, None).map_err(|e| e.to_string())?;
        // The seed moves the first snapshot by up to one spacing: another phase of the shedding.
        let warmup = options.float("warmup")?
            + options.float("spacing")? * super::unit_draw(seed, run.index);
        Ok(Self {
            case,
            warmup,
            out,
            factor: n / out,
            speed: run.condition[2],
            label: run_name(&run.condition),
        })
    }

    /// Steps until the simulated time reaches `t`, calling `progress` with the time now and then.
    pub fn advance_to(&mut self, t: f64, progress: &mut dyn FnMut(f64)) -> Result<(), String> {
        while self.case.time() < t {
            self.case.step(20).map_err(|e| format!("{}: {e}", self.label))?;
            progress(self.case.time());
        }
        Ok(())
    }

    /// The current state as one snapshot, `[channels, out, out]` (row 0 at the bottom).
    pub fn snapshot(&self) -> Result<Vec<f32>, String> {
        let read =
            |view: &str| self.case.read_view(view).map_err(|e| format!("{}: {e}", self.label));
        let solid = read("obstacle")?;
        let (nx, f, out) = (solid.nx, self.factor, self.out);
        let h = 3.0 / solid.ny as f64;
        let (i0, j0) = ((WINDOW.0 / h).round() as usize, (WINDOW.1 / h).round() as usize);
        if i0 + out * f > nx || j0 + out * f > solid.ny {
            return Err(format!("{}: the window leaves the domain", self.label));
        }
        let cells = out * out;
        let mut mask = vec![0.0f32; cells];
        for (k, m) in mask.iter_mut().enumerate() {
            let (bi, bj) = (k % out, k / out);
            let mut count = 0;
            for j in 0..f {
                for i in 0..f {
                    count +=
                        usize::from(solid.data[(j0 + bj * f + j) * nx + i0 + bi * f + i] > 0.5);
                }
            }
            *m = if 2 * count >= f * f { 1.0 } else { 0.0 };
        }
        let mut data = Vec::with_capacity(CHANNELS.len() * cells);
        for (view, scale) in [
            ("pressure", self.speed * self.speed),
            ("velocity_x", self.speed),
            ("velocity_y", self.speed),
        ] {
            let field = read(view)?;
            let mut plane: Vec<f32> = (0..cells)
                .map(|k| {
                    let (bi, bj) = (k % out, k / out);
                    if mask[k] > 0.5 {
                        return 0.0;
                    }
                    let (mut sum, mut count) = (0.0f64, 0u32);
                    for j in 0..f {
                        for i in 0..f {
                            let at = (j0 + bj * f + j) * nx + i0 + bi * f + i;
                            if solid.data[at] < 0.5 && field.data[at].is_finite() {
                                sum += f64::from(field.data[at]);
                                count += 1;
                            }
                        }
                    }
                    if count == 0 {
                        0.0
                    } else {
                        (scale * sum / f64::from(count)) as f32
                    }
                })
                .collect();
            if view == "pressure" {
                let fluid: Vec<usize> = (0..cells).filter(|&k| mask[k] < 0.5).collect();
                let mean = fluid.iter().map(|&k| f64::from(plane[k])).sum::<f64>()
                    / fluid.len().max(1) as f64;
                for &k in &fluid {
                    plane[k] -= mean as f32;
                }
            }
            if let Some(bad) = plane.iter().position(|v| !v.is_finite()) {
                return Err(format!("{}: the run diverged ({view} at cell {bad})", self.label));
            }
            data.extend(plane);
        }
        data.extend(mask);
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::options;

    fn set(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_single_set_is_five_training_and_six_test_speeds() {
        let options = options(&AirfoilUncertainty, &[]).unwrap();
        let runs = AirfoilUncertainty.runs(&options).unwrap();
        let speeds = |split| -> Vec<f64> {
            runs.iter().filter(|r| r.split == split).map(|r| r.condition[2]).collect()
        };
        assert_eq!(speeds("train"), [0.5, 0.75, 1.0, 1.25, 1.5]);
        assert_eq!(speeds("test"), [0.4, 0.625, 0.875, 1.125, 1.375, 1.75]);
        assert_eq!(runs[0].name, "naca0012_a20_0_u0_500");
        assert!(runs.iter().enumerate().all(|(k, r)| r.index == k));
    }

    #[test]
    fn the_multi_set_holds_out_its_listed_combinations() {
        let options = options(&AirfoilUncertainty, &set(&["set=multi"])).unwrap();
        let runs = AirfoilUncertainty.runs(&options).unwrap();
        assert_eq!(runs.len(), 27);
        let test: Vec<_> = runs.iter().filter(|r| r.split == "test").collect();
        assert_eq!(test.len(), 4);
        assert!(test.iter().any(|r| r.condition == [2412.0, 20.0, 0.5]));
        let bad = options_error(&["set=multi", "multi_test=0012/25"]);
        assert!(bad.contains("NACA/AoA/u"), "{bad}");
        assert!(options_error(&["u_train=20"]).contains("outside"));
        assert!(options_error(&["naca=12"]).contains("four-digit"));
    }

    fn options_error(assignments: &[&str]) -> String {
        let options = options(&AirfoilUncertainty, &set(assignments)).unwrap();
        AirfoilUncertainty.runs(&options).unwrap_err()
    }

    #[test]
    fn a_small_run_is_deterministic_unsteady_and_masked() {
        let options = options(
            &AirfoilUncertainty,
            &set(&["n=32", "out=16", "u_train=1", "u_test=", "warmup=6", "frames=3"]),
        )
        .unwrap();
        let run = &AirfoilUncertainty.runs(&options).unwrap()[0];
        let a = AirfoilUncertainty.simulate(run, &options, 3, &mut |_| {}).unwrap();
        assert_eq!(a.shape, [3, 4, 16, 16]);
        let b = AirfoilUncertainty.simulate(run, &options, 3, &mut |_| {}).unwrap();
        assert!(a.data == b.data, "same seed, same snapshots");
        let plane = 16 * 16;
        let frame = |k: usize, c: usize| &a.data[(k * 4 + c) * plane..(k * 4 + c + 1) * plane];
        let mask = frame(0, 3);
        let solid = mask.iter().filter(|&&m| m == 1.0).count();
        assert!(solid > 0 && solid < 20, "the airfoil covers a few cells: {solid}");
        for (m, u) in mask.iter().zip(frame(0, 1)) {
            assert!(*m == 0.0 || *u == 0.0, "flow channels are 0 inside the mask");
        }
        // The wake is unsteady: successive snapshots differ by more than round-off.
        let change: f32 = frame(0, 2).iter().zip(frame(1, 2)).map(|(a, b)| (a - b).abs()).sum();
        assert!(change / plane as f32 > 1e-3, "mean |Δuy| {}", change / plane as f32);
    }
}
