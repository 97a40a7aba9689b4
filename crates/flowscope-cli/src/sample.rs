//! `flowscope sample acdm-wake --set Re=<value> --samples K --rollout N [--model acdm|unet]
//! [--sampler ddpm|ddim] [--steps S] [--seed X] [--backend cpu] [--models DIR] --out DIR`
//! (contract): from the solver's developed wake at that Re, K learned rollouts of N frames and
//! the solver's own N frames on the same grid and frame stride.
//!
//! Writes `DIR/samples.npy` (f32 [K, N, C, H, W]; K = 1 for the deterministic `unet`),
//! `DIR/truth.npy` (f32 [N, C, H, W]) and `DIR/meta.json`.
//!
//! `flowscope sample smdp-toy --samples K [--method sde|ode] [--seed X] --out DIR` (contract):
//! see [`smdp_toy`].
//!
//! `flowscope sample smdp-heat --seed X --samples K [--method sde|ode] [--backend cpu|gpu]
//! --out DIR` (contract): see [`smdp_heat`].
//!
//! `flowscope sample airfoil-uncertainty --set naca=<code> --set alpha=<deg> --set u=<speed>
//! --samples K [--model ddpm|flow-matching|heteroscedastic] [--steps S] [--seed X]
//! [--backend cpu|gpu] --out DIR` (contract): see [`airfoil_uncertainty`].

use anyhow::{bail, Context, Result};
use clap::Parser;
use flowscope_cases::acdm_wake::{developed_solver, Kind, WakeModel};
use flowscope_core::npy_f32;
use flowscope_nn::diffusion::Sampler;
use flowscope_nn::Tensor;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Clone, Copy, PartialEq)]
pub enum ModelArg {
    Acdm,
    Unet,
}

#[derive(Clone, Copy, PartialEq)]
enum SamplerArg {
    Ddpm,
    Ddim,
}

// Parsed here rather than by clap, so that a bad value is one line like every other error.
fn parse_model(text: &str) -> Result<ModelArg> {
    match text {
        "acdm" => Ok(ModelArg::Acdm),
        "unet" => Ok(ModelArg::Unet),
        other => bail!("unknown model '{other}'; known: acdm (diffusion), unet (deterministic)"),
    }
}

fn parse_sampler(text: &str) -> Result<SamplerArg> {
    match text {
        "ddpm" => Ok(SamplerArg::Ddpm),
        "ddim" => Ok(SamplerArg::Ddim),
        other => bail!("unknown sampler '{other}'; known: ddpm, ddim"),
    }
}

#[derive(Parser)]
pub struct SampleArgs {
    /// The learned case (acdm-wake, smdp-toy, smdp-heat).
    case: String,
    /// `Re=<value>`, and any option of the model's dataset to change (e.g. `warmup=60`).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Posterior samples per rollout (1 for the deterministic unet).
    #[arg(long, default_value_t = 4)]
    samples: usize,
    /// Frames to roll out.
    #[arg(long, default_value_t = 60)]
    rollout: usize,
    /// acdm-wake: acdm (diffusion, the default) or unet (the deterministic baseline).
    /// airfoil-uncertainty: ddpm (the default), flow-matching or heteroscedastic.
    #[arg(long)]
    model: Option<String>,
    /// ddpm (every step of the schedule) or ddim (--steps of them).
    #[arg(long, default_value = "ddpm")]
    sampler: String,
    /// DDIM steps (1 to the schedule's length; DDPM always takes every step).
    #[arg(long)]
    steps: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u32,
    /// smdp-toy, smdp-heat: sde (the reverse-time SDE, a different sample each) or ode (the
    /// probability-flow ODE).
    #[arg(long, default_value = "sde")]
    method: String,
    #[arg(long, value_enum, default_value_t = crate::BackendArg::Cpu)]
    backend: crate::BackendArg,
    /// airfoil-uncertainty: the dataset whose stored statistics are the truth at its
    /// conditions (elsewhere the solver runs now).
    #[arg(long, default_value = "target/data/airfoil-uncertainty")]
    data: PathBuf,
    /// The folder of shipped models and their manifest.json.
    #[arg(long, default_value = "public/models")]
    models: PathBuf,
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
}

/// The model file for `model`, checked against the manifest in `dir`.
pub fn load_model(dir: &Path, model: ModelArg) -> Result<(WakeModel, String, String)> {
    let file = match model {
        ModelArg::Acdm => "acdm-wake.safetensors",
        ModelArg::Unet => "acdm-wake-unet.safetensors",
    };
    let (bytes, sha256) = flowscope_cases::read_model(dir, file).map_err(anyhow::Error::msg)?;
    let model = WakeModel::from_bytes(&bytes)
        .map_err(anyhow::Error::msg)
        .with_context(|| dir.join(file).display().to_string())?;
    Ok((model, file.to_string(), sha256))
}

pub fn run(args: SampleArgs) -> Result<()> {
    match args.case.as_str() {
        "acdm-wake" => acdm_wake(args),
        "smdp-toy" => smdp_toy(args),
        "smdp-heat" => smdp_heat(args),
        "airfoil-uncertainty" => airfoil_uncertainty(args),
        other => bail!(
            "unknown learned case '{other}'; known: acdm-wake, smdp-toy, smdp-heat, airfoil-uncertainty"
        ),
    }
}

/// `flowscope sample smdp-toy --samples K [--method sde|ode] [--seed X] --out DIR` (contract):
/// K particles run forward from ±1 to t = 10, then back to t = 0 with the learned score.
/// Writes `DIR/x0.npy` (f32 [K], the backward process's ends), `DIR/starts.npy` and
/// `DIR/ends.npy` (f32 [K], the forward run's starts and ends) and `DIR/meta.json`.
fn smdp_toy(args: SampleArgs) -> Result<()> {
    use flowscope_cases::smdp_toy::{backward_seeds, forward_particles, ToyScore, MODEL_FILE};
    if args.samples == 0 {
        bail!("--samples must be at least 1");
    }
    let method = flowscope_nn::smdp::Method::parse(&args.method).map_err(anyhow::Error::msg)?;
    if matches!(args.backend, crate::BackendArg::Gpu) {
        bail!("smdp-toy samples on the CPU (its network has 2.5 k weights); use --backend cpu");
    }
    let (bytes, sha256) =
        flowscope_cases::read_model(&args.models, MODEL_FILE).map_err(anyhow::Error::msg)?;
    let score = ToyScore::from_bytes(&bytes)
        .map_err(anyhow::Error::msg)
        .with_context(|| args.models.join(MODEL_FILE).display().to_string())?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let started = Instant::now();
    let (starts, ends) = forward_particles(&score.sde, args.samples, args.seed);
    let x0 = score
        .sample(&ends, method, &backward_seeds(args.samples, args.seed))
        .map_err(anyhow::Error::msg)?;
    if let Some(bad) = x0.iter().find(|v| !v.is_finite()) {
        bail!("the backward process is no longer finite (value {bad})");
    }
    let shape = [args.samples as u64];
    for (name, values) in [("x0.npy", &x0), ("starts.npy", &starts), ("ends.npy", &ends)] {
        let path = args.out.join(name);
        std::fs::write(&path, npy_f32(&shape, values))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let near = |target: f32| x0.iter().filter(|&&v| (v - target).abs() < 0.1).count();
    let (plus, minus) = (near(1.0), near(-1.0));
    let sde = &score.sde;
    let meta = json!({
        "case": "smdp-toy",
        "method": method.name(),
        "samples": args.samples,
        "seed": args.seed,
        "model_file": MODEL_FILE,
        "sha256": sha256,
        "sde": { "lambda": sde.lambda, "g": sde.g, "dt": sde.dt, "t_end": sde.time(sde.steps) },
        "layout": "x0, starts, ends: f32 [K], particle k in each",
        "near_plus_one": plus as f64 / args.samples as f64,
        "near_minus_one": minus as f64 / args.samples as f64,
        "seconds": started.elapsed().as_secs_f64(),
    });
    let path = args.out.join("meta.json");
    std::fs::write(&path, serde_json::to_string_pretty(&meta)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "smdp-toy {}: {} particles back to t = 0, {:.1}% within 0.1 of +1, {:.1}% of −1 → {}",
        method.name(),
        args.samples,
        100.0 * plus as f64 / args.samples as f64,
        100.0 * minus as f64 / args.samples as f64,
        args.out.display()
    );
    Ok(())
}

/// `flowscope sample smdp-heat --seed X --samples K [--method sde|ode] [--backend cpu|gpu]
/// --out DIR` (contract): the hidden initial field of seed X diffuses to t_end with noise; K
/// posterior samples of it from that observation alone. Writes `DIR/truth.npy` (f32 [n, n],
/// the initial field), `DIR/observation.npy` (f32 [n, n], the end state), `DIR/samples.npy`
/// (f32 [K, n, n]) and `DIR/meta.json` (`diffusivity`, `t_end`, `steps`, `noise`, the model
/// file and its sha256, and the mean squared errors of the samples, their mean and the naive
/// inverse against the truth).
fn smdp_heat(args: SampleArgs) -> Result<()> {
    use flowscope_cases::smdp_heat::{backward_seeds, HeatScore, MODEL_FILE};
    if !(1..=64).contains(&args.samples) {
        bail!("--samples must be 1 to 64, got {}", args.samples);
    }
    let method = flowscope_nn::smdp::Method::parse(&args.method).map_err(anyhow::Error::msg)?;
    let (bytes, sha256) =
        flowscope_cases::read_model(&args.models, MODEL_FILE).map_err(anyhow::Error::msg)?;
    let score = HeatScore::from_bytes(&bytes)
        .map_err(anyhow::Error::msg)
        .with_context(|| args.models.join(MODEL_FILE).display().to_string())?;
    let problem = score.problem;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let started = Instant::now();
    let truth = problem.truth(args.seed);
    let run = problem.trajectory(&truth, args.seed);
    let observation = &run[problem.steps * problem.cells()..];
    let seeds = backward_seeds(args.samples, args.seed);
    let progress = indicatif::ProgressBar::new(problem.steps as u64).with_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} backward steps")
            .expect("valid template"),
    );
    progress.set_message(format!("smdp-heat {}", method.name()));
    let (samples, device) = match args.backend {
        crate::BackendArg::Cpu => (
            score
                .sample(observation, method, &seeds, |_, _| progress.inc(1))
                .map_err(anyhow::Error::msg)?,
            None,
        ),
        crate::BackendArg::Gpu => {
            let ctx = flowscope_gpu::GpuContext::new_blocking()
                .map_err(|why| anyhow::anyhow!("--backend gpu: {why}; use --backend cpu"))?;
            let sampler =
                flowscope_cases::smdp_heat::GpuHeatSampler::new(&ctx, &score, args.samples)
                    .map_err(anyhow::Error::msg)?;
            let samples = sampler
                .sample_blocking(observation, method, &seeds, || progress.inc(1))
                .map_err(anyhow::Error::msg)?;
            (samples, Some(ctx.describe()))
        }
    };
    progress.finish_and_clear();
    if let Some(bad) = samples.iter().find(|v| !v.is_finite()) {
        bail!("the backward process is no longer finite (value {bad})");
    }
    let cells = problem.cells();
    let mse = |a: &[f32]| {
        a.iter().zip(&truth).map(|(x, y)| f64::from(x - y).powi(2)).sum::<f64>() / cells as f64
    };
    let mean: Vec<f32> = (0..cells)
        .map(|c| samples.iter().skip(c).step_by(cells).sum::<f32>() / args.samples as f32)
        .collect();
    let sample_mse = samples.chunks(cells).map(mse).sum::<f64>() / args.samples as f64;
    let naive_mse = mse(&problem.naive_inverse(observation));
    let n = problem.n as u64;
    let write = |name: &str, bytes: Vec<u8>| {
        let path = args.out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    };
    write("truth.npy", npy_f32(&[n, n], &truth))?;
    write("observation.npy", npy_f32(&[n, n], observation))?;
    write("samples.npy", npy_f32(&[args.samples as u64, n, n], &samples))?;
    let meta = json!({
        "case": "smdp-heat",
        "method": method.name(),
        "samples": args.samples,
        "seed": args.seed,
        "model_file": MODEL_FILE,
        "sha256": sha256,
        "diffusivity": problem.diffusivity,
        "t_end": problem.t_end,
        "steps": problem.steps,
        "noise": problem.noise,
        "inverse_clip": problem.inverse_clip,
        "n": problem.n,
        "domain": "periodic [0, 2π)², row-major, row 0 at y = 0",
        "layout": "truth, observation: f32 [n, n]; samples: f32 [K, n, n]",
        "mse": { "samples": sample_mse, "sample_mean": mse(&mean), "naive_inverse": naive_mse, "observation": mse(observation) },
        "backend": if device.is_some() { "gpu" } else { "cpu" },
        "device": device,
        "wall_s": started.elapsed().as_secs_f64(),
    });
    write("meta.json", (serde_json::to_string_pretty(&meta)? + "\n").into_bytes())?;
    println!(
        "smdp-heat {}: {} sample(s) of the seed-{} field, MSE {:.4} (their mean {:.4}; naive inverse {:.4}) → {}",
        method.name(),
        args.samples,
        args.seed,
        sample_mse,
        mse(&mean),
        naive_mse,
        args.out.display()
    );
    Ok(())
}

/// `flowscope sample airfoil-uncertainty --set naca=<code> --set alpha=<deg> --set u=<speed>
/// --samples K [--model ddpm|flow-matching|heteroscedastic] [--steps S] [--seed X]
/// [--backend cpu|gpu] --out DIR` (contract): K flow fields around the airfoil at that
/// condition from the learned model, and the solver's statistics there. Writes
/// `DIR/samples.npy` (f32 [K, 3, H, W], channels p, ux, uy in the data's units; for the
/// heteroscedastic model K draws from its Gaussian), `DIR/truth_mean.npy` and
/// `DIR/truth_std.npy` (f32 [3, H, W], over the solver's snapshots at that condition: the
/// dataset's when `--data` holds the condition, otherwise simulated now) and `DIR/meta.json`.
fn airfoil_uncertainty(args: SampleArgs) -> Result<()> {
    use flowscope_cases::airfoil_uncertainty::{sample_seeds, truth, Kind, Surrogate, CHANNELS};
    let (mut naca, mut alpha, mut u) = (None, None, None);
    for assignment in &args.set {
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--set expects NAME=VALUE, got '{assignment}'"))?;
        let number =
            || {
                value.trim().parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                    anyhow::anyhow!("{} must be a number, got '{value}'", name.trim())
                })
            };
        match name.trim() {
            "naca" => naca = Some(value.trim().to_string()),
            "alpha" => alpha = Some(number()?),
            "u" => u = Some(number()?),
            other => bail!("airfoil-uncertainty has no setting '{other}'; it takes naca, alpha, u"),
        }
    }
    let kind = Kind::parse(args.model.as_deref().unwrap_or("ddpm")).map_err(anyhow::Error::msg)?;
    if !(1..=256).contains(&args.samples) {
        bail!("--samples must be 1 to 256, got {}", args.samples);
    }
    let (bytes, sha256) =
        flowscope_cases::read_model(&args.models, kind.file()).map_err(anyhow::Error::msg)?;
    let surrogate = Surrogate::from_bytes(&bytes, kind)
        .map_err(anyhow::Error::msg)
        .with_context(|| args.models.join(kind.file()).display().to_string())?;
    let first = surrogate.train.first().copied().unwrap_or([12.0, 20.0, 1.0]);
    let naca = naca.unwrap_or_else(|| format!("{:04}", first[0] as u32));
    let alpha = alpha.unwrap_or(first[1]);
    let u = u.ok_or_else(|| anyhow::anyhow!("give the speed: --set u=<value>"))?;
    let nu = surrogate.options.float("nu").map_err(anyhow::Error::msg)?;
    if !(u > 0.0 && (10.0..=5000.0).contains(&(u / nu))) {
        bail!(
            "u = {u} gives Re = u c/ν = {:.0} (ν = {nu}); the solver covers Re 10–5000, u {}–{}",
            u / nu,
            10.0 * nu,
            5000.0 * nu
        );
    }
    let steps = args.steps.unwrap_or(kind.default_steps());
    surrogate.plan(steps).map_err(anyhow::Error::msg)?;
    let mask = surrogate.mask(&naca, alpha).map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let started = Instant::now();
    let seeds = sample_seeds(args.samples, args.seed);
    let progress = indicatif::ProgressBar::new(1).with_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} network passes")
            .expect("valid template"),
    );
    progress.set_message(format!("airfoil-uncertainty {}", kind.name()));
    let (samples, device) = match args.backend {
        crate::BackendArg::Cpu => {
            let samples = surrogate
                .sample(&mask, alpha, u, steps, &seeds, &mut |done, total| {
                    progress.set_length(total as u64);
                    progress.set_position(done as u64);
                })
                .map_err(anyhow::Error::msg)?;
            (samples, None)
        }
        crate::BackendArg::Gpu => {
            let ctx = flowscope_gpu::GpuContext::new_blocking()
                .map_err(|why| anyhow::anyhow!("--backend gpu: {why}; use --backend cpu"))?;
            let samples = surrogate
                .sample_gpu_blocking(&ctx, &mask, alpha, u, steps, &seeds)
                .map_err(anyhow::Error::msg)?;
            (samples, Some(ctx.describe()))
        }
    };
    let sampling_s = started.elapsed().as_secs_f64();
    progress.set_message("the solver's statistics");
    let data = args.data.join("meta.json").exists().then_some(args.data.as_path());
    let (stats, snapshots, simulated) =
        truth(&surrogate.options, data, &naca, alpha, u, &mut |f| {
            progress.set_length(1000);
            progress.set_position((1000.0 * f) as u64);
        })
        .map_err(anyhow::Error::msg)?;
    progress.finish_and_clear();
    let size = surrogate.size().map_err(anyhow::Error::msg)?;
    let plane = size * size;
    // Statistics are [2, 4, h, w] over (p, ux, uy, mask): keep the three flow channels.
    let mean = &stats[..3 * plane];
    let std = &stats[4 * plane..7 * plane];
    let (s, h) = (size as u64, args.samples as u64);
    let write = |name: &str, bytes: Vec<u8>| {
        let path = args.out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    };
    write("samples.npy", npy_f32(&[h, 3, s, s], &samples))?;
    write("truth_mean.npy", npy_f32(&[3, s, s], mean))?;
    write("truth_std.npy", npy_f32(&[3, s, s], std))?;
    let sample_mean = flowscope_cases::airfoil_uncertainty::mean_over(&samples, 3 * plane);
    let sample_std = flowscope_cases::airfoil_uncertainty::std_over(&samples, 3 * plane);
    let errors = flowscope_cases::airfoil_uncertainty::relative_errors;
    let meta = json!({
        "case": "airfoil-uncertainty",
        "condition": { "naca": naca, "alpha": alpha, "u": u, "Re": u / nu },
        "channels": CHANNELS,
        "grid": [size, size],
        "window": "3 × 3 chords: x from a quarter chord ahead of the leading edge, the domain's full height; row 0 at the bottom",
        "layout": "samples f32 [K, 3, H, W]; truth_mean, truth_std f32 [3, H, W]; 0 inside the airfoil",
        "model": kind.name(),
        "model_file": kind.file(),
        "sha256": sha256,
        "steps": steps,
        "samples": args.samples,
        "seed": args.seed,
        "solver_snapshots": snapshots,
        "truth": if simulated { "simulated now" } else { "from the dataset" },
        "relative_error": { "mean": errors(&sample_mean, mean, &mask), "std": errors(&sample_std, std, &mask) },
        "backend": if device.is_some() { "gpu" } else { "cpu" },
        "device": device,
        "sampling_s": sampling_s,
    });
    write("meta.json", (serde_json::to_string_pretty(&meta)? + "\n").into_bytes())?;
    let rel = |v: &serde_json::Value| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_f64())
                    .map(|x| format!("{:.3}", x))
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default()
    };
    println!(
        "airfoil-uncertainty {} ({steps} steps): {} sample(s) at NACA {naca}, {alpha}°, u = {u} in {sampling_s:.1} s; relative error p/ux/uy of the mean {}, of the std {} → {}",
        kind.name(),
        args.samples,
        rel(&meta["relative_error"]["mean"]),
        rel(&meta["relative_error"]["std"]),
        args.out.display()
    );
    Ok(())
}

fn acdm_wake(args: SampleArgs) -> Result<()> {
    let (mut re, mut overrides) = (None, Vec::new());
    for assignment in &args.set {
        match assignment.split_once('=') {
            Some(("Re", value)) => {
                let value: f64 = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| anyhow::anyhow!("Re must be a number, got '{value}'"))?;
                re = Some(value);
            }
            Some(_) => overrides.push(assignment.clone()),
            None => bail!("--set expects NAME=VALUE, got '{assignment}'"),
        }
    }
    let re = re.ok_or_else(|| anyhow::anyhow!("give the Reynolds number: --set Re=<value>"))?;
    if re <= 0.0 {
        bail!("Re must be positive, got {re}");
    }
    if args.samples == 0 || args.rollout == 0 {
        bail!("--samples and --rollout must be at least 1");
    }
    let model_arg = parse_model(args.model.as_deref().unwrap_or("acdm"))?;
    let sampler_arg = parse_sampler(&args.sampler)?;
    let (model, file, sha256) = load_model(&args.models, model_arg)?;
    let samples = match model.kind {
        Kind::Deterministic => 1,
        Kind::Diffusion { .. } => args.samples,
    };
    let sampler = match (sampler_arg, &model.kind) {
        (SamplerArg::Ddpm, _) | (_, Kind::Deterministic) => Sampler::Ddpm,
        (SamplerArg::Ddim, Kind::Diffusion { betas }) => {
            Sampler::Ddim { steps: args.steps.unwrap_or(betas.len()), eta: 0.0 }
        }
    };
    if let Kind::Diffusion { betas } = &model.kind {
        flowscope_nn::diffusion::steps(betas, sampler)?;
    }
    let options = model.dataset_options(&overrides).map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let started = Instant::now();
    let mut solver =
        developed_solver(&options, re, u64::from(args.seed)).map_err(anyhow::Error::msg)?;
    let [channels, height, width] = solver.frame_shape();
    let frame = solver.frame().map_err(anyhow::Error::msg)?;
    let start = Tensor::new(
        vec![samples, channels, height, width],
        frame.iter().copied().cycle().take(samples * frame.len()).collect(),
    )?;
    let (gpu, device) = match args.backend {
        crate::BackendArg::Cpu => (None, None),
        crate::BackendArg::Gpu => {
            let ctx = flowscope_gpu::GpuContext::new_blocking()
                .map_err(|why| anyhow::anyhow!("--backend gpu: {why}; use --backend cpu"))?;
            let recorded = model.record_gpu(&ctx, &start, re).map_err(anyhow::Error::msg)?;
            (Some(recorded), Some(ctx.describe()))
        }
    };
    let seeds: Vec<u32> =
        (0..samples as u32).map(|k| args.seed.wrapping_mul(1000).wrapping_add(k)).collect();
    let progress = indicatif::ProgressBar::new(args.rollout as u64).with_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} frames, eta {eta}")
            .expect("valid template"),
    );
    progress.set_message(format!("acdm-wake Re {re}"));
    let plane = channels * height * width;
    let (mut rollout, mut truth) =
        (vec![0.0f32; samples * args.rollout * plane], Vec::with_capacity(args.rollout * plane));
    let mut state = start;
    for n in 0..args.rollout {
        let frame = n as u32;
        state = match &gpu {
            None => model.step(&state, re, sampler, &seeds, frame),
            // The states stay on the device; each frame is read back for the output.
            Some(gpu) => model
                .submit(gpu, sampler, &seeds, frame)
                .and_then(|read| model.arrived(gpu, read.wait(&gpu.context().device)?)),
        }
        .map_err(anyhow::Error::msg)?;
        if let Some(bad) = state.data.iter().position(|v| !v.is_finite()) {
            bail!("frame {}: the rollout is no longer finite (value {bad})", n + 1);
        }
        for k in 0..samples {
            let to = (k * args.rollout + n) * plane;
            rollout[to..to + plane].copy_from_slice(&state.data[k * plane..(k + 1) * plane]);
        }
        solver.advance().map_err(anyhow::Error::msg)?;
        truth.extend(solver.frame().map_err(anyhow::Error::msg)?);
        progress.inc(1);
    }
    progress.finish_and_clear();

    let shape = |dims: &[usize]| dims.iter().map(|&d| d as u64).collect::<Vec<_>>();
    let write = |name: &str, bytes: Vec<u8>| {
        let path = args.out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    };
    write(
        "samples.npy",
        npy_f32(&shape(&[samples, args.rollout, channels, height, width]), &rollout),
    )?;
    write("truth.npy", npy_f32(&shape(&[args.rollout, channels, height, width]), &truth))?;
    let frame_dt = options.float("frame_dt").map_err(anyhow::Error::msg)?
        * options.count("stride", 1).map_err(anyhow::Error::msg)? as f64;
    let meta = json!({
        "case": "acdm-wake",
        "Re": re,
        "channels": ["vx", "vy", "p"],
        "layout": "samples [K, N, C, H, W], truth [N, C, H, W]; row 0 at the bottom; frame 1 is one stride after the start",
        "model": match model_arg { ModelArg::Acdm => "acdm", ModelArg::Unet => "unet" },
        "model_file": file,
        "sha256": sha256,
        "sampler": sampler.name(),
        "steps": match (sampler, &model.kind) {
            (Sampler::Ddim { steps, .. } | Sampler::FlowEuler { steps, .. }, _) => Some(steps),
            (Sampler::Ddpm, Kind::Diffusion { betas }) => Some(betas.len()),
            (_, Kind::Deterministic) => None,
        },
        "seed": args.seed,
        "samples": samples,
        "rollout": args.rollout,
        "frame_stride": options.count("stride", 1).map_err(anyhow::Error::msg)?,
        "frame_dt": frame_dt,
        "start_time": solver.case.time() - args.rollout as f64 * frame_dt,
        "options": options.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(v))).collect::<serde_json::Map<_, _>>(),
        "backend": if gpu.is_some() { "gpu" } else { "cpu" },
        "device": device,
        "wall_s": started.elapsed().as_secs_f64(),
    });
    write("meta.json", (serde_json::to_string_pretty(&meta)? + "\n").into_bytes())?;
    println!(
        "acdm-wake: {samples} sample(s) × {} frames at Re {re} ({}), wrote {}",
        args.rollout,
        meta["model"].as_str().unwrap_or_default(),
        args.out.display()
    );
    Ok(())
}
