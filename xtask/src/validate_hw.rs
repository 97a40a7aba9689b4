//! `cargo xtask validate hw2d`: the Hasegawa–Wakatani solver's statistics against the reference
//! code's published values (SCIENCE.md), the reference code itself run side by side
//! (tests/bench/hw2d_reference.py in target/bench-venv), and the WGSL twin against the CPU.

use crate::bench::bench_venv;
use crate::project_root;
use anyhow::{bail, Context, Result};
use flowscope_core::svg::line_chart;
use flowscope_spectral::hw::{
    initial_state, CpuHw, GpuHw, HwConfig, HwStats, REFERENCE_BANDS as BANDS,
    REFERENCE_GAMMA_N_BY_C1 as GAMMA_N_BY_C1,
};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// How long each part runs, in model time: the whole validation fits a few hours on the CI
/// machine's two cores at the defaults; `--until` sets the 512² run's end.
pub struct Lengths {
    /// End of the 512² run at c1 = 1 (the reference averages t 300–1000).
    pub until: f64,
    /// End of the coarse runs (the c1 scan, the side-by-side, the GPU statistics).
    pub coarse_until: f64,
}

/// The grid of the coarse runs.
const COARSE: usize = 128;

/// How to read the 512² table, whatever a run's numbers.
const READING: &str = "\nThe reference's ± is the spread it reports over t 300–1000; ours is the \
    standard deviation of the domain means over the window above, with successive values \
    correlated over some ten time units. The solver itself matches hw2d step for step (a test \
    holds 20 RK4 steps from the same start at 32² to f32 rounding, tests/fixtures/hw2d/), so the \
    differences here are those of the statistics: the window's length, the random start, and f32 \
    arithmetic over tens of thousands of steps. Times per step in this report were taken with \
    other work on the machine; docs/BENCHMARKS.md has the measured ones.\n";

/// A statistics record every `every` steps, `(t, [Γn, Γc, E, U])`.
type Records = Vec<(f64, [f64; 4])>;

fn values(stats: &HwStats) -> [f64; 4] {
    [stats.gamma_n, stats.gamma_c, stats.energy, stats.enstrophy]
}

/// Runs the CPU solver to `until`, recording every model-time unit; returns the records and
/// the wall time per step.
fn run_cpu(config: HwConfig, seed: u64, until: f64, label: &str) -> Result<(Records, f64)> {
    let mut hw = CpuHw::new(config, initial_state(config.n, seed));
    let every = (1.0 / config.dt).round() as u32;
    let chunks = (until / (every as f64 * config.dt)).round() as u32;
    let mut records = vec![(0.0, values(&hw.stats()))];
    let start = Instant::now();
    let mut stepping = 0.0;
    for k in 1..=chunks {
        let t0 = Instant::now();
        hw.step(every);
        stepping += t0.elapsed().as_secs_f64();
        let stats = hw.stats();
        if !stats.is_finite() {
            bail!(
                "{label}: the statistics became {stats:?} at t = {}",
                k as f64 * every as f64 * config.dt
            );
        }
        records.push((k as f64 * every as f64 * config.dt, values(&stats)));
        if k % 50 == 0 {
            eprintln!(
                "xtask: {label}: t = {:.0} of {until:.0} ({:.0} s), Γn = {:.3}",
                records.last().unwrap().0,
                start.elapsed().as_secs_f64(),
                stats.gamma_n
            );
        }
    }
    Ok((records, stepping / (chunks * every).max(1) as f64))
}

/// Mean and standard deviation of quantity `q` over records with t in `[from, to]`.
fn mean_std(records: &Records, q: usize, from: f64, to: f64) -> (f64, f64, usize) {
    let picked: Vec<f64> =
        records.iter().filter(|(t, _)| *t >= from && *t <= to).map(|(_, v)| v[q]).collect();
    let n = picked.len().max(1) as f64;
    let mean = picked.iter().sum::<f64>() / n;
    let var = picked.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt(), picked.len())
}

/// The saturated phase to average over: the reference's t ≥ 300 where the run reaches it, else
/// its second half.
fn window(until: f64) -> (f64, f64) {
    if until >= 400.0 {
        (300.0, until)
    } else {
        (until / 2.0, until)
    }
}

/// hw2d's run through the reference script: its records and ms per step.
fn reference(
    python: &Path,
    n: usize,
    c1: f64,
    steps: u64,
    every: u64,
) -> Result<(Records, f64, bool)> {
    eprintln!("xtask: hw2d (reference code) at {n}², c1 = {c1}, {steps} steps");
    let out = Command::new(python)
        .arg(project_root().join("tests/bench/hw2d_reference.py"))
        .args(["--n", &n.to_string(), "--c1", &c1.to_string()])
        .args(["--steps", &steps.to_string(), "--every", &every.to_string()])
        .output()
        .context("running tests/bench/hw2d_reference.py")?;
    if !out.status.success() {
        bail!("hw2d failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let records = report["records"]
        .as_array()
        .context("hw2d's records")?
        .iter()
        .filter_map(|r| {
            let r: Vec<f64> = r.as_array()?.iter().filter_map(|v| v.as_f64()).collect();
            (r.len() == 5).then(|| (r[0], [r[1], r[2], r[3], r[4]]))
        })
        .collect();
    let ms = report["ms_per_step"].as_f64().unwrap_or(f64::NAN);
    Ok((records, ms, report["numba"].as_bool().unwrap_or(false)))
}

fn series(records: &Records, q: usize) -> Vec<(f64, f64)> {
    records.iter().map(|(t, v)| (*t, v[q])).collect()
}

/// The Hasegawa–Wakatani validation, as Markdown (plots into `plots`).
pub fn report(plots: &Path, lengths: &Lengths) -> Result<String> {
    let mut md = String::from("# Hasegawa–Wakatani\n\n");
    let _ = writeln!(
        md,
        "Date: {}. Machine: the 2-core CI machine. `cargo xtask validate hw2d --until {}` \
         (CPU reference, f32 fields, rayon over both cores; the reference code hw2d 1.0.4 with its \
         Numba kernels, f64). Setup as hw2d's defaults: L = 2π/0.15, N = 3, ν = 5·10⁻⁸, \
         dt = 0.025, κ = 1, RK4, normal noise of 0.01 from seed 0. Statistics are domain means, \
         recorded every t = 1.\n",
        crate::validate::today(),
        lengths.until
    );

    // 1. 512², c1 = 1, against the reference bands.
    let config = HwConfig::reference(512);
    let (records, seconds) = run_cpu(config, 0, lengths.until, "512², c1 = 1")?;
    let (from, to) = window(lengths.until);
    let _ = writeln!(
        md,
        "## 512², c1 = 1, against the reference values\n\nAveraged over t {from:.0}–{to:.0} \
         ({}; the reference averages t 300–1000). {:.0} ms per step.\n\n\
         | quantity | Flowscope mean ± std | reference | within the band |\n|---|---|---|---|",
        if lengths.until >= 1000.0 { "the reference's window" } else { "as long as this run went" },
        1e3 * seconds
    );
    for (q, (name, value, spread)) in BANDS.iter().enumerate() {
        let (mean, std, _) = mean_std(&records, q, from, to);
        let within = (mean - value).abs() <= *spread;
        let _ = writeln!(
            md,
            "| {name} | {mean:.3} ± {std:.3} | {value} ± {spread} | {} |",
            if within { "yes" } else { "**no**" }
        );
    }
    md.push_str(READING);
    let flux: Vec<(&str, Vec<(f64, f64)>)> =
        vec![("Γn", series(&records, 0)), ("Γc", series(&records, 1))];
    let band = |v: f64| vec![(0.0, v), (to, v)];
    std::fs::write(
        plots.join("hw_fluxes_512.svg"),
        line_chart(
            "Hasegawa–Wakatani 512², c1 = 1: fluxes",
            "t",
            "Γ",
            &[
                (flux[0].0, &flux[0].1),
                (flux[1].0, &flux[1].1),
                ("reference 0.60 − 0.01", &band(0.59)),
                ("reference 0.60 + 0.01", &band(0.61)),
            ],
            &[],
        ),
    )?;
    let (e, u) = (series(&records, 2), series(&records, 3));
    std::fs::write(
        plots.join("hw_energy_512.svg"),
        line_chart(
            "Hasegawa–Wakatani 512², c1 = 1: energy and enstrophy",
            "t",
            "E, U",
            &[
                ("E", &e),
                ("U", &u),
                ("reference E 3.78", &band(3.78)),
                ("reference U 13.2", &band(13.2)),
            ],
            &[],
        ),
    )?;
    md.push_str("\n![fluxes at 512²](validation/hw_fluxes_512.svg) ![energy and enstrophy at 512²](validation/hw_energy_512.svg)\n\n");

    // 2. Γn against c1 at the coarse grid.
    let (cfrom, cto) = window(lengths.coarse_until);
    let _ = writeln!(
        md,
        "## Γn against c1 at {COARSE}²\n\nThe 512² runs are too long for five values of c1 on \
         this machine; at {COARSE}² (dx four times the reference's), t {cfrom:.0}–{cto:.0}, dt \
         0.025 except at c1 = 5 (0.01: at 0.025 the largest eddies' coupling is unstable, in hw2d \
         too):\n\n\
         | c1 | Flowscope Γn ({COARSE}²) | reference Γn (512²) |\n|---|---|---|"
    );
    let mut ours = Vec::new();
    for (c1, published) in GAMMA_N_BY_C1 {
        // dt 0.025 is unstable at c1 = 5 (the largest eddies' coupling, as hw2d's own run shows).
        let dt = if c1 > 2.0 { 0.01 } else { 0.025 };
        let config = HwConfig { c1, dt, ..HwConfig::reference(COARSE) };
        let (records, _) =
            run_cpu(config, 0, lengths.coarse_until, &format!("{COARSE}², c1 = {c1}"))?;
        let (mean, std, _) = mean_std(&records, 0, cfrom, cto);
        let _ = writeln!(md, "| {c1} | {mean:.3} ± {std:.3} | {published} |");
        ours.push((c1.log10(), mean.max(1e-6).log10()));
    }
    let published: Vec<(f64, f64)> =
        GAMMA_N_BY_C1.iter().map(|(c, g)| (c.log10(), g.log10())).collect();
    std::fs::write(
        plots.join("hw_gamma_n_c1.svg"),
        line_chart(
            "Γn against c1 (log10 both)",
            "log10 c1",
            "log10 Γn",
            &[(&format!("Flowscope {COARSE}²"), &ours)],
            &[("reference 512²", &published)],
        ),
    )?;
    md.push_str("\n![Γn against c1](validation/hw_gamma_n_c1.svg)\n\n");

    // 3. The reference code side by side: the same grid and steps, statistics and time per step.
    let python = bench_venv()?;
    let dt = 0.025;
    let steps = (lengths.coarse_until / dt).round() as u64;
    let (theirs, their_ms, numba) = reference(&python, COARSE, 1.0, steps, 40)?;
    let (ours, our_seconds) = run_cpu(
        HwConfig::reference(COARSE),
        0,
        lengths.coarse_until,
        &format!("{COARSE}², c1 = 1, beside hw2d"),
    )?;
    let _ = writeln!(
        md,
        "## The reference code side by side ({COARSE}², c1 = 1, {steps} steps each)\n\n\
         hw2d {} from its own seeded start (numpy's generator: the runs share the setup, not the \
         noise), statistics from hw2d's property functions; t {cfrom:.0}–{cto:.0}.\n\n\
         | quantity | Flowscope | hw2d |\n|---|---|---|",
        if numba { "with its Numba kernels" } else { "in NumPy (Numba missing)" }
    );
    for (q, (name, ..)) in BANDS.iter().enumerate() {
        let (a, sa, _) = mean_std(&ours, q, cfrom, cto);
        let (b, sb, _) = mean_std(&theirs, q, cfrom, cto);
        let _ = writeln!(md, "| {name} | {a:.3} ± {sa:.3} | {b:.3} ± {sb:.3} |");
    }
    let _ = writeln!(
        md,
        "| ms per step | {:.2} | {their_ms:.2} ({:.1}× ours) |",
        1e3 * our_seconds,
        their_ms / (1e3 * our_seconds)
    );
    let (ga, gb) = (series(&ours, 0), series(&theirs, 0));
    std::fs::write(
        plots.join("hw_side_by_side.svg"),
        line_chart(
            &format!("Γn at {COARSE}², c1 = 1: Flowscope and hw2d"),
            "t",
            "Γn",
            &[("Flowscope", &ga), ("hw2d", &gb)],
            &[],
        ),
    )?;
    md.push_str("\n![Γn beside hw2d](validation/hw_side_by_side.svg)\n\n");

    // 4. The WGSL twin: step-for-step over the first steps, statistics over the saturated phase.
    md.push_str(&gpu_parity(lengths.coarse_until, &ours)?);
    Ok(md)
}

fn gpu_parity(until: f64, cpu_records: &Records) -> Result<String> {
    let Some(ctx) = flowscope_gpu::context_for_tests() else {
        return Ok("## GPU\n\nNo GPU adapter on this machine: the WGSL twin was not run.\n".into());
    };
    let config = HwConfig::reference(COARSE);
    let start = initial_state(COARSE, 0);
    let mut cpu = CpuHw::new(config, start.clone());
    let mut gpu = GpuHw::new(&ctx, config, &start).map_err(anyhow::Error::msg)?;
    let mut md = format!(
        "## GPU (WGSL twin on {})\n\n| steps | largest |n, Ω| difference / largest |n, Ω| |\n|---|---|\n",
        ctx.describe()
    );
    let mut done = 0;
    for steps in [100, 400, 1600] {
        cpu.step(steps - done);
        gpu.step(steps - done);
        done = steps;
        let (state, _) = gpu.read_state().map_err(anyhow::Error::msg)?;
        let scale = cpu.state().iter().flatten().fold(0.0f32, |m, v| m.max(v.abs()));
        let diff = state
            .iter()
            .flatten()
            .zip(cpu.state().iter().flatten())
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        let _ = writeln!(md, "| {steps} | {:.1e} |", diff / scale);
    }
    // The saturated statistics of the GPU run against the CPU run from the same start.
    let every = (1.0 / config.dt).round() as u32;
    let mut records: Records = Vec::new();
    let mut t = 1600.0 * config.dt;
    let start_time = Instant::now();
    while t < until {
        gpu.step(every);
        t += every as f64 * config.dt;
        records.push((t, values(&gpu.stats().map_err(anyhow::Error::msg)?)));
    }
    let seconds =
        start_time.elapsed().as_secs_f64() / ((records.len() as f64) * every as f64).max(1.0);
    let (from, to) = window(until);
    let _ = writeln!(
        md,
        "\nStatistics over t {from:.0}–{to:.0} at {COARSE}² ({:.1} ms per step on this adapter):\n\n| quantity | GPU | CPU |\n|---|---|---|",
        1e3 * seconds
    );
    for (q, (name, ..)) in BANDS.iter().enumerate() {
        let (a, sa, _) = mean_std(&records, q, from, to);
        let (b, sb, _) = mean_std(cpu_records, q, from, to);
        let _ = writeln!(md, "| {name} | {a:.3} ± {sa:.3} | {b:.3} ± {sb:.3} |");
    }
    Ok(md)
}
