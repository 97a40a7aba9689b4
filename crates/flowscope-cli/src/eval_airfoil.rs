//! `flowscope eval airfoil-uncertainty [--models DIR] [--samples K] [--data DIR]
//! [--doc docs/MODELS.md] [--plots docs/models]`: the three shipped airfoil models on every test
//! condition of their dataset, against the solver's statistics, written as the
//! "Evaluation: airfoil-uncertainty" section of docs/MODELS.md with plots — every figure from
//! this command.
//!
//! Per condition and model: K samples (100 by default, as published), the relative L1 error
//! ‖a − b‖₁/‖b‖₁ over the fluid cells of their mean against the solver's mean field and of their
//! standard deviation against the solver's, per channel (the heteroscedastic UNet: K draws from
//! its Gaussian, which is the same as its mean and σ up to sampling noise). Then error against
//! sampling steps (5, 10, 20, 50, 200) for DDPM and flow matching at one interpolated speed.

use anyhow::{Context, Result};
use flowscope_cases::airfoil_uncertainty::{
    mean_over, relative_errors, sample_seeds, std_over, truth, Kind, Surrogate,
};
use flowscope_core::svg::line_chart;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

const BEGIN: &str = "<!-- flowscope eval airfoil-uncertainty: begin (generated, do not edit) -->";
const END: &str = "<!-- flowscope eval airfoil-uncertainty: end -->";
const STEPS: [usize; 5] = [5, 10, 20, 50, 200];

struct Row {
    condition: [f64; 3],
    extrapolated: bool,
    /// Per model (ddpm, flow matching, heteroscedastic): error of the mean, of the std.
    errors: Vec<([f64; 3], [f64; 3])>,
    truth: Vec<f32>,
    samples: Vec<Vec<f32>>,
    mask: Vec<f32>,
}

fn triple(v: Vec<f64>) -> [f64; 3] {
    [v[0], v[1], v[2]]
}

/// Error of the mean and of the std of `samples` against the solver's statistics `stats`
/// ([2, 4, h, w]).
fn errors(samples: &[f32], stats: &[f32], mask: &[f32]) -> ([f64; 3], [f64; 3]) {
    let plane = mask.len();
    let size = 3 * plane;
    let (mean, std) = (mean_over(samples, size), std_over(samples, size));
    (
        triple(relative_errors(&mean, &stats[..size], mask)),
        triple(relative_errors(&std, &stats[4 * plane..4 * plane + size], mask)),
    )
}

/// PNG of panels (`[h, w]` each, row 0 at the bottom) in a grid of `columns`, each scaled by
/// `scale`, colour range per column, 4 px white gaps.
fn panels_png(panels: &[Vec<f32>], side: usize, columns: usize, colormaps: &[&str]) -> Vec<u8> {
    let (scale, gap) = (4, 4);
    let rows = panels.len().div_ceil(columns);
    let cell = side * scale + gap;
    let (width, height) = (columns * cell + gap, rows * cell + gap);
    let mut rgb = vec![255u8; width * height * 3];
    let ranges: Vec<(f32, f32)> = (0..columns)
        .map(|c| {
            let values = panels.iter().skip(c).step_by(columns).flatten().copied();
            values.fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
        })
        .collect();
    for (k, panel) in panels.iter().enumerate() {
        let (row, col) = (k / columns, k % columns);
        let (lo, hi) = ranges[col];
        for j in 0..side {
            for i in 0..side {
                let v = panel[(side - 1 - j) * side + i];
                let t = f64::from((v - lo) / (hi - lo).max(1e-12));
                let colour = flowscope_core::colormap::color(colormaps[col % colormaps.len()], t);
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (x, y) =
                            (gap + col * cell + i * scale + dx, gap + row * cell + j * scale + dy);
                        rgb[(y * width + x) * 3..(y * width + x) * 3 + 3].copy_from_slice(&colour);
                    }
                }
            }
        }
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("writing to memory cannot fail");
    writer.write_image_data(&rgb).expect("writing to memory cannot fail");
    writer.finish().expect("writing to memory cannot fail");
    bytes
}

pub fn run(args: crate::eval::EvalArgs) -> Result<()> {
    let samples = args.samples.unwrap_or(100);
    if samples < 2 {
        anyhow::bail!("eval airfoil-uncertainty needs --samples ≥ 2");
    }
    let started = Instant::now();
    let mut models = Vec::new();
    let mut files = Vec::new();
    for kind in Kind::ALL {
        let (bytes, sha) =
            flowscope_cases::read_model(&args.models, kind.file()).map_err(anyhow::Error::msg)?;
        models.push(Surrogate::from_bytes(&bytes, kind).map_err(anyhow::Error::msg)?);
        files.push(format!("{} ({})", kind.file(), &sha[..12]));
    }
    let reference = &models[0];
    let test = reference.test.clone();
    if test.is_empty() {
        anyhow::bail!("the models name no test conditions");
    }
    let (lowest, highest) = reference
        .train
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), c| (lo.min(c[2]), hi.max(c[2])));
    let data = args.data.join("meta.json").exists().then_some(args.data.as_path());
    let progress = indicatif::ProgressBar::new((test.len() * 3 + 2 * STEPS.len()) as u64)
        .with_style(
            indicatif::ProgressStyle::with_template("eval airfoil {bar:40} {pos}/{len} {msg}")
                .expect("valid template"),
        );
    let naca = |c: &[f64; 3]| format!("{:04}", c[0] as u32);
    let mut rows = Vec::new();
    for condition in &test {
        let (code, alpha, u) = (naca(condition), condition[1], condition[2]);
        progress.set_message(format!("NACA {code} {alpha}° u = {u}: the solver's statistics"));
        let (stats, _, _) = truth(&reference.options, data, &code, alpha, u, &mut |_| {})
            .map_err(anyhow::Error::msg)?;
        let mask = reference.mask(&code, alpha).map_err(anyhow::Error::msg)?;
        let mut row = Row {
            condition: *condition,
            extrapolated: u < lowest || u > highest,
            errors: Vec::new(),
            truth: stats,
            samples: Vec::new(),
            mask,
        };
        for model in &models {
            progress.set_message(format!("NACA {code} {alpha}° u = {u}: {}", model.kind.name()));
            let seeds = sample_seeds(samples, 1);
            let drawn = model
                .sample(&row.mask, alpha, u, model.kind.default_steps(), &seeds, &mut |_, _| {})
                .map_err(anyhow::Error::msg)?;
            row.errors.push(errors(&drawn, &row.truth, &row.mask));
            row.samples.push(drawn);
            progress.inc(1);
        }
        rows.push(row);
    }
    // Error against sampling steps at the interpolated speed nearest the middle of the range.
    let middle = 0.5 * (lowest + highest);
    let probe = rows
        .iter()
        .filter(|r| !r.extrapolated)
        .min_by(|a, b| (a.condition[2] - middle).abs().total_cmp(&(b.condition[2] - middle).abs()))
        .unwrap_or(&rows[0]);
    let mut curves: Vec<Vec<(f64, f64, f64)>> = Vec::new();
    for model in &models[..2] {
        let mut curve = Vec::new();
        for steps in STEPS {
            progress.set_message(format!("{} with {steps} steps", model.kind.name()));
            let seeds = sample_seeds(samples, 2);
            let (alpha, u) = (probe.condition[1], probe.condition[2]);
            let drawn = model
                .sample(&probe.mask, alpha, u, steps, &seeds, &mut |_, _| {})
                .map_err(anyhow::Error::msg)?;
            let (mean, std) = errors(&drawn, &probe.truth, &probe.mask);
            curve.push((
                steps as f64,
                mean.iter().sum::<f64>() / 3.0,
                std.iter().sum::<f64>() / 3.0,
            ));
            progress.inc(1);
        }
        curves.push(curve);
    }
    progress.finish_and_clear();
    write_report(&args, samples, &files, &rows, probe, &curves, started.elapsed().as_secs_f64())
}

fn write_report(
    args: &crate::eval::EvalArgs,
    samples: usize,
    files: &[String],
    rows: &[Row],
    probe: &Row,
    curves: &[Vec<(f64, f64, f64)>],
    seconds: f64,
) -> Result<()> {
    std::fs::create_dir_all(&args.plots)
        .with_context(|| format!("cannot create {}", args.plots.display()))?;
    let relative = |name: &str| {
        let plots = args.plots.join(name);
        let base = args.doc.parent().unwrap_or(Path::new(""));
        plots.strip_prefix(base).unwrap_or(&plots).display().to_string()
    };
    let names = ["DDPM (200 steps)", "flow matching (20 Euler steps)", "heteroscedastic UNet"];
    let describe = |c: &[f64; 3]| format!("NACA {:04}, {}°, u = {}", c[0] as u32, c[1], c[2]);
    let mut md = String::new();
    let _ = writeln!(md, "{BEGIN}");
    let _ = writeln!(
        md,
        "Command: `flowscope eval airfoil-uncertainty --samples {samples}` ({}); {} s on this machine.\n",
        files.join("; "),
        seconds.round()
    );
    let _ = writeln!(
        md,
        "Relative L1 error ‖a − b‖₁/‖b‖₁ over the fluid cells, per channel p / ux / uy, of the {samples} samples' mean against the solver's mean field and of their standard deviation against the solver's (25 snapshots per condition). Test speeds between the training speeds are interpolated, the others extrapolated.\n"
    );
    let _ = writeln!(md, "| condition | | model | mean p / ux / uy | std p / ux / uy |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    let fmt = |v: &[f64; 3]| format!("{:.3} / {:.3} / {:.3}", v[0], v[1], v[2]);
    for row in rows {
        for (k, (mean, std)) in row.errors.iter().enumerate() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                if k == 0 { describe(&row.condition) } else { String::new() },
                if k > 0 {
                    ""
                } else if row.extrapolated {
                    "extrapolated"
                } else {
                    "interpolated"
                },
                names[k],
                fmt(mean),
                fmt(std)
            );
        }
    }
    let _ = writeln!(md, "\nAverages over the channels and the test conditions:\n");
    let _ = writeln!(md, "| model | mean error (interpolated) | std error (interpolated) | mean error (extrapolated) | std error (extrapolated) |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    let average = |k: usize, extrapolated: bool, std: bool| {
        let picked: Vec<f64> = rows
            .iter()
            .filter(|r| r.extrapolated == extrapolated)
            .flat_map(|r| if std { r.errors[k].1 } else { r.errors[k].0 })
            .collect();
        if picked.is_empty() {
            "—".to_string()
        } else {
            format!("{:.3}", picked.iter().sum::<f64>() / picked.len() as f64)
        }
    };
    for (k, name) in names.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} |",
            average(k, false, false),
            average(k, false, true),
            average(k, true, false),
            average(k, true, true)
        );
    }
    // Steps curve.
    let line = |curve: &[(f64, f64, f64)], std: bool| -> Vec<(f64, f64)> {
        curve.iter().map(|&(s, m, d)| (s.log10(), if std { d } else { m })).collect()
    };
    let chart = line_chart(
        &format!("Error against sampling steps ({})", describe(&probe.condition)),
        "log10 sampling steps",
        "relative L1 error, channel average",
        &[
            ("DDPM: mean", &line(&curves[0], false)),
            ("DDPM: std", &line(&curves[0], true)),
            ("flow matching: mean", &line(&curves[1], false)),
            ("flow matching: std", &line(&curves[1], true)),
        ],
        &[],
    );
    std::fs::write(args.plots.join("airfoil-steps.svg"), chart)?;
    let _ = writeln!(
        md,
        "\nError against sampling steps at {} ({samples} samples, channel average; DDPM below 200 steps: ancestral sampling on an evenly spaced sub-sequence):\n",
        describe(&probe.condition)
    );
    let _ =
        writeln!(md, "| steps | DDPM mean | DDPM std | flow matching mean | flow matching std |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    for (a, b) in curves[0].iter().zip(&curves[1]) {
        let _ = writeln!(md, "| {} | {:.3} | {:.3} | {:.3} | {:.3} |", a.0, a.1, a.2, b.1, b.2);
    }
    // Field pictures: one interpolated and one extrapolated condition.
    let mut pictures = Vec::new();
    for extrapolated in [false, true] {
        let Some(row) = rows
            .iter()
            .filter(|r| r.extrapolated == extrapolated)
            .max_by(|a, b| a.condition[2].total_cmp(&b.condition[2]))
        else {
            continue;
        };
        let plane = row.mask.len();
        let side = (plane as f64).sqrt() as usize;
        let mut panels = Vec::new();
        let truth_mean = &row.truth[..3 * plane];
        let truth_std = &row.truth[4 * plane..7 * plane];
        let push = |panels: &mut Vec<Vec<f32>>, mean: &[f32], std: &[f32]| {
            for c in 0..3 {
                panels.push(mean[c * plane..(c + 1) * plane].to_vec());
            }
            for c in 0..3 {
                panels.push(std[c * plane..(c + 1) * plane].to_vec());
            }
        };
        push(&mut panels, truth_mean, truth_std);
        for drawn in &row.samples {
            push(&mut panels, &mean_over(drawn, 3 * plane), &std_over(drawn, 3 * plane));
        }
        let name = format!("airfoil-fields-u{}.png", row.condition[2]);
        let colormaps = ["coolwarm", "coolwarm", "coolwarm", "inferno", "inferno", "inferno"];
        std::fs::write(args.plots.join(&name), panels_png(&panels, side, 6, &colormaps))?;
        pictures.push((name, row.condition, extrapolated));
    }
    let _ = writeln!(
        md,
        "\nFields (rows: the solver, DDPM, flow matching, heteroscedastic; columns: mean p, ux, uy, then standard deviation p, ux, uy; one colour range per column, coolwarm for means and inferno for deviations; the 3 × 3-chord window, flow from the left):\n"
    );
    for (name, condition, extrapolated) in &pictures {
        let kind = if *extrapolated { "extrapolated" } else { "interpolated" };
        let _ =
            writeln!(md, "{} ({kind}):\n\n![fields]({})\n", describe(condition), relative(name));
    }
    let _ = writeln!(md, "![steps]({})", relative("airfoil-steps.svg"));
    let _ = writeln!(md, "{END}");
    crate::eval::splice_section(&args.doc, BEGIN, END, "Evaluation: airfoil-uncertainty", &md)?;
    println!(
        "eval airfoil-uncertainty: {} conditions × 3 models, {samples} samples each; wrote {} and {}",
        rows.len(),
        args.doc.display(),
        args.plots.display()
    );
    Ok(())
}
