//! `flowscope`: the headless front end. Lists cases and runs them, writing fields and
//! observables in the documented formats (contract: see README, "CLI").

mod eval;
mod eval_airfoil;
mod eval_control;
mod eval_sfbc;
mod eval_sfbc_2d;
mod eval_smdp;
mod generate;
mod model;
mod output;
mod render;
mod sample;
mod train;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use flowscope_core::{Backend, Case, CaseSpec};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "flowscope", version, about = "Physics simulations and learned solvers, headless")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the cases with their parameter schema.
    List {
        /// Print the full catalog as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a case and write meta.json, observables.csv and fields/<view>_<step>.npy.
    Run(RunArgs),
    /// Draw a run's fields as PNGs (DIR/png/<view>_<step>.png) or an animated GIF, with a colour bar.
    Render(render::RenderArgs),
    /// Time a case's steps (warm-up, then at least `--seconds` of stepping); prints JSON.
    Bench(BenchArgs),
    /// Inspect or run a network file (safetensors with its config).
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Write a training dataset from runs of the solvers (acdm-wake); see docs/MODELS.md.
    Generate(generate::GenerateArgs),
    /// Roll out a learned model beside the solver (acdm-wake); see docs/MODELS.md.
    Sample(sample::SampleArgs),
    /// Train a controller through a differentiable simulator (bptt-cartpole, bptt-guidance, bptt-quantum); see docs/CONTROL.md.
    Train(train::TrainArgs),
    /// Evaluate the shipped models against the solver into docs/MODELS.md (acdm, smdp, airfoil-uncertainty, sfbc, sfbc-2d, bptt-cartpole, bptt-guidance, bptt-quantum).
    Eval(eval::EvalArgs),
}

#[derive(Parser)]
struct BenchArgs {
    case: String,
    /// Start from one of the case's presets (see `flowscope list`).
    #[arg(long)]
    preset: Option<String>,
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
    /// Minimum measured time.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Steps run before timing starts.
    #[arg(long, default_value_t = 10)]
    warmup: u32,
    /// Time exactly this many steps in one call instead (a case whose work ends, such as a
    /// posterior sample's backward steps).
    #[arg(long)]
    steps: Option<u32>,
    /// Time to solution instead: step from the initial state (no warm-up) until the observable
    /// NAME reaches VALUE, e.g. `--until scaled_time=2` (or each of increasing values,
    /// `scaled_time=2,3`: a line each); reports the stepping's wall time and each observable's
    /// value then and largest value so far.
    #[arg(long, value_name = "NAME=VALUE", conflicts_with = "steps")]
    until: Option<String>,
    /// The folder of model files a learned case runs, with their manifest.json.
    #[arg(long, default_value = "public/models")]
    models: PathBuf,
}

#[derive(Parser)]
struct RunArgs {
    /// Case id (see `flowscope list`).
    case: String,
    /// Start from one of the case's presets (see `flowscope list`); `--set` applies over it.
    #[arg(long)]
    preset: Option<String>,
    /// Set a parameter, e.g. `--set n=128` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Number of time steps.
    #[arg(long, default_value_t = 100)]
    steps: u64,
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
    /// Also write fields every K steps (and record observables at the same steps).
    #[arg(long, value_name = "K")]
    every: Option<u64>,
    /// The folder of model files a learned case runs, with their manifest.json.
    #[arg(long, default_value = "public/models")]
    models: PathBuf,
    /// Output folder (created if missing).
    #[arg(long, default_value = "flowscope-out")]
    out: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Cpu,
    Gpu,
}

fn main() {
    // This thread, which steps the simulations, is one of rayon's: parallel loops start on it at
    // once instead of waiting for a sleeping worker to wake (a fifth of a 128² smoke step).
    rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()
        .expect("rayon's global pool is built once, here, before any parallel work");
    if let Err(error) = run(Cli::parse()) {
        eprintln!("error: {}", one_line(&error));
        std::process::exit(2);
    }
}

/// The error and its causes on one line.
fn one_line(error: &anyhow::Error) -> String {
    error.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::List { json } => list(json),
        Command::Run(args) => run_case(args),
        Command::Bench(args) => bench(args),
        Command::Model(command) => model::run(command),
        Command::Generate(args) => generate::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Render(args) => render::run(args),
        Command::Train(args) => train::run(args),
    }
}

fn parse_params(
    spec: &flowscope_core::CaseSpec,
    preset: Option<&str>,
    set: &[String],
) -> Result<flowscope_core::ParamValues> {
    let mut params = match preset {
        Some(name) => spec.preset(name)?,
        None => spec.defaults(),
    };
    for assignment in set {
        let Some((name, value)) = assignment.split_once('=') else {
            bail!("--set expects NAME=VALUE, got '{assignment}'");
        };
        spec.set_text(&mut params, name.trim(), value)?;
    }
    Ok(params)
}

fn gpu_context(
    spec: &flowscope_core::CaseSpec,
    backend: BackendArg,
) -> Result<Option<flowscope_gpu::GpuContext>> {
    match backend {
        BackendArg::Cpu => Ok(None),
        BackendArg::Gpu if !spec.gpu => Err(flowscope_core::CaseError::NoGpu(spec.id).into()),
        BackendArg::Gpu => flowscope_gpu::GpuContext::new_blocking()
            .map(Some)
            .map_err(|why| anyhow::anyhow!("--backend gpu: {why}; use --backend cpu")),
    }
}

fn bench(args: BenchArgs) -> Result<()> {
    let spec = flowscope_cases::find(&args.case).map_err(anyhow::Error::msg)?;
    let params = parse_params(spec, args.preset.as_deref(), &args.set)?;
    let gpu = gpu_context(spec, args.backend)?;
    let models = flowscope_cases::read_models(spec, &args.models).map_err(anyhow::Error::msg)?;
    let mut case = flowscope_cases::create_with(spec.id, &params, gpu.as_ref(), &models)?;
    let finish = |gpu: &Option<flowscope_gpu::GpuContext>| -> Result<()> {
        if let Some(ctx) = gpu {
            flowscope_gpu::buffers::wait_idle(&ctx.device).map_err(anyhow::Error::msg)?;
        }
        Ok(())
    };
    if let Some(until) = &args.until {
        return time_to_solution(spec, &mut *case, until, gpu.as_ref());
    }
    case.step(args.warmup)?;
    finish(&gpu)?;
    let started = std::time::Instant::now();
    let mut steps = 0u64;
    let mut batch = 1u32;
    if let Some(fixed) = args.steps {
        if fixed == 0 {
            bail!("--steps must be at least 1");
        }
        case.step(fixed)?;
        finish(&gpu)?;
        steps = u64::from(fixed);
    }
    while args.steps.is_none() && started.elapsed().as_secs_f64() < args.seconds {
        case.step(batch)?;
        finish(&gpu)?;
        steps += batch as u64;
        batch = (batch * 2).min(256);
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0 / steps as f64;
    let device = gpu.as_ref().map(|g| g.describe()).unwrap_or_else(|| {
        // Grid cases spread over the cores; the heat case's CPU kernel is single-threaded.
        match (spec.id, flowscope_parallel::threads()) {
            ("heat", _) | (_, 1) => "native, 1 thread".into(),
            (_, n) => format!("native, {n} threads"),
        }
    });
    let observables: serde_json::Map<String, serde_json::Value> = spec
        .observables
        .iter()
        .zip(case.observables()?)
        .map(|(o, v)| (o.name.to_string(), v.into()))
        .collect();
    let report = serde_json::json!({
        "case": spec.id,
        "params": case.params(),
        "backend": case.backend(),
        "device": device,
        "steps": steps,
        "ms_per_step": ms,
        "observables": observables,
    });
    println!("{report}");
    Ok(())
}

/// Steps `case` until the observable named in `until` (`NAME=VALUE`, or `NAME=V1,V2,…` in
/// increasing order) reaches each value; prints a line for each: the steps, the stepping's wall
/// time so far (observables read between steps are not counted) and each observable's value
/// then and largest value up to then.
fn time_to_solution(
    spec: &CaseSpec,
    case: &mut dyn Case,
    until: &str,
    gpu: Option<&flowscope_gpu::GpuContext>,
) -> Result<()> {
    let (name, targets) = until.split_once('=').context("--until takes NAME=VALUE")?;
    let targets = targets
        .split(',')
        .map(|t| match t.trim().parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(value),
            _ => Err(anyhow::anyhow!("--until {until}: {t} is not a number")),
        })
        .collect::<Result<Vec<_>>>()?;
    if targets.windows(2).any(|w| w[0] >= w[1]) {
        bail!("--until {until}: the values must increase");
    }
    let index = spec.observables.iter().position(|o| o.name == name).with_context(|| {
        let names: Vec<_> = spec.observables.iter().map(|o| o.name).collect();
        format!("--until: {} has no observable {name} (it has {})", spec.id, names.join(", "))
    })?;
    let named = |values: &[f64]| -> serde_json::Map<String, serde_json::Value> {
        spec.observables
            .iter()
            .zip(values)
            .map(|(o, v)| (o.name.to_string(), (*v).into()))
            .collect()
    };
    let device = gpu
        .map(|g| g.describe())
        .unwrap_or_else(|| format!("native, {} threads", flowscope_parallel::threads()));
    let mut largest = case.observables()?;
    if !largest[index].is_finite() {
        bail!("--until {until}: {name} starts at {}", largest[index]);
    }
    let mut current = largest.clone();
    let (mut steps, mut stepping) = (0u64, std::time::Duration::ZERO);
    for target in targets {
        while current[index] < target {
            if steps == MAX_STEPS_TO_SOLUTION {
                bail!("--until {until}: {name} = {} after {steps} steps", current[index]);
            }
            let started = std::time::Instant::now();
            case.step(1)?;
            if let Some(ctx) = gpu {
                flowscope_gpu::buffers::wait_idle(&ctx.device).map_err(anyhow::Error::msg)?;
            }
            stepping += started.elapsed();
            steps += 1;
            current = case.observables()?;
            if let Some(bad) = current.iter().find(|v| !v.is_finite()) {
                bail!("--until {until}: an observable became {bad} after {steps} steps");
            }
            for (most, now) in largest.iter_mut().zip(&current) {
                *most = most.max(*now);
            }
        }
        let report = serde_json::json!({
            "case": spec.id,
            "params": case.params(),
            "backend": case.backend(),
            "device": device,
            "until": format!("{name}={target}"),
            "steps": steps,
            "wall_s": stepping.as_secs_f64(),
            "observables": named(&current),
            "observables_max": named(&largest),
        });
        println!("{report}");
    }
    Ok(())
}

/// A bound on `--until`'s stepping, for a target the case never reaches.
const MAX_STEPS_TO_SOLUTION: u64 = 10_000_000;

fn list(json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(flowscope_cases::CATALOG)?);
        return Ok(());
    }
    for spec in flowscope_cases::CATALOG {
        println!("{:<16} {}", spec.id, spec.summary);
        for p in spec.params {
            let unit = if p.unit.is_empty() { String::new() } else { format!(" [{}]", p.unit) };
            println!(
                "    {:<14} {}{unit}: {} (default {})",
                p.name,
                p.label,
                p.allowed(),
                p.default_value()
            );
        }
        for preset in spec.presets {
            let values: Vec<String> =
                preset.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("    preset {:<12} {} ({})", preset.name, preset.label, values.join(" "));
        }
    }
    Ok(())
}

fn run_case(args: RunArgs) -> Result<()> {
    let spec = flowscope_cases::find(&args.case).map_err(anyhow::Error::msg)?;
    let params = parse_params(spec, args.preset.as_deref(), &args.set)?;
    if args.every == Some(0) {
        bail!("--every must be at least 1");
    }
    // A case steps by u32 counts: more would wrap silently.
    if args.steps > u64::from(u32::MAX) {
        bail!("--steps must be at most {}, got {}", u32::MAX, args.steps);
    }
    let gpu = gpu_context(spec, args.backend)?;
    let models = flowscope_cases::read_models(spec, &args.models).map_err(anyhow::Error::msg)?;
    let mut case = flowscope_cases::create_with(spec.id, &params, gpu.as_ref(), &models)?;
    for notice in case.notices() {
        eprintln!("note: {notice}");
    }
    let backend = case.backend();
    let mut out = output::Output::create(&args.out, spec)?;

    // Observables every K steps (K from --every, else about 100 rows), always at 0 and the end.
    let record_every = args.every.unwrap_or((args.steps / 100).max(1));
    let progress = indicatif::ProgressBar::new(args.steps).with_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} steps, eta {eta}")
            .expect("valid template"),
    );
    progress.set_message(format!("{} on {}", spec.id, backend.name()));
    out.record(case.as_ref())?;
    let mut done = 0;
    while done < args.steps {
        let chunk = (record_every - done % record_every).min(args.steps - done);
        case.step(chunk as u32).with_context(|| format!("step {done}"))?;
        done += chunk;
        progress.set_position(done);
        if done % record_every == 0 || done == args.steps {
            out.record(case.as_ref())
                .with_context(|| format!("at step {done}, t = {}", case.time()))?;
        }
        if let Some(every) = args.every {
            if done % every == 0 && done != args.steps {
                out.write_fields(case.as_ref())?;
            }
        }
    }
    progress.finish_and_clear();
    out.write_fields(case.as_ref())?;
    let device = gpu.as_ref().map(|g| g.describe());
    out.write_meta(case.as_ref(), device)?;
    let where_ = if backend == Backend::Gpu { " (GPU)" } else { "" };
    println!(
        "{}: {} steps{where_}, t = {:.6}, wrote {}",
        spec.id,
        case.steps(),
        case.time(),
        args.out.display()
    );
    Ok(())
}
