//! `flowscope train <problem> --set NAME=VALUE… --epochs E --seed X --out DIR` (contract):
//! trains a controller by backpropagation through a differentiable simulator (the control room)
//! and writes
//! - `DIR/losses.csv`: `epoch,train_loss,test_loss,grad_norm,cosine_pf,seconds` — the mean
//!   mini-batch loss, the test loss after the epoch, the mean norm of the update direction before
//!   clipping, the mean cosine between the P and the F gradient, wall seconds so far;
//! - `DIR/controller.safetensors`: the controller (f32) that the page imports — for the
//!   cart-pole and guidance a `flowscope-nn` MLP file the nn runtime runs, for the quantum
//!   problem the control room's CNN file;
//! - `DIR/meta.json`: the command, the parameters, the machine's threads, the wall time and the
//!   final losses.
//!
//! Deterministic for a seed on any machine and thread count. Problems: bptt-cartpole,
//! bptt-guidance, bptt-quantum.

use anyhow::{bail, Context, Result};
use clap::Parser;
use flowscope_cases::control_cartpole::CartPoleProblem;
use flowscope_cases::control_case::{self, Problem};
use flowscope_cases::control_guidance::GuidanceProblem;
use flowscope_cases::control_quantum::QuantumProblem;
use flowscope_control::{Controller, Trainer};
use serde_json::json;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
pub struct TrainArgs {
    /// The problem: bptt-cartpole, bptt-guidance, bptt-quantum.
    problem: String,
    /// A problem or training parameter, e.g. `--set poles=3 --set mode=C --set clip=norm`
    /// (repeatable; `flowscope list` shows them under the problem's case: control-cartpole,
    /// control-guidance or control-quantum).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Passes over the training starts.
    #[arg(long, default_value_t = 100)]
    epochs: usize,
    /// Seed of the start states and the first weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Start from this controller (a controller.safetensors of the same problem) instead.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: TrainArgs) -> Result<()> {
    match args.problem.as_str() {
        "bptt-cartpole" => train::<CartPoleProblem>(args),
        "bptt-guidance" => train::<GuidanceProblem>(args),
        "bptt-quantum" => train::<QuantumProblem>(args),
        other => bail!(
            "unknown problem '{other}'; known problems: bptt-cartpole, bptt-guidance, bptt-quantum"
        ),
    }
}

fn train<P: Problem>(args: TrainArgs) -> Result<()> {
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    let spec = P::spec();
    let mut params = spec.defaults();
    for assignment in &args.set {
        let Some((name, value)) = assignment.split_once('=') else {
            bail!("--set expects NAME=VALUE, got '{assignment}'");
        };
        match name.trim() {
            "versus" => bail!("'versus' is the page's second run; train each mode on its own"),
            "seed" => bail!("give the seed as --seed"),
            name => spec.set_text(&mut params, name, value)?,
        }
    }
    spec.set_text(&mut params, "seed", &args.seed.to_string())?;
    let (mode, _) = control_case::modes(&params);
    let system = P::system(&params);
    let settings = control_case::settings(&params, mode, P::hidden(&params));
    let init = match &args.init {
        Some(path) => {
            let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let (controller, _) = P::Controller::from_safetensors(&bytes)
                .map_err(anyhow::Error::msg)
                .with_context(|| path.display().to_string())?;
            Some(controller)
        }
        None => None,
    };
    let mut trainer: Trainer<P::System, P::Controller> =
        Trainer::new(system, settings, init).map_err(anyhow::Error::msg)?;
    fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut command =
        format!("flowscope train {} --epochs {} --seed {}", args.problem, args.epochs, args.seed);
    for assignment in &args.set {
        write!(command, " --set {assignment}").expect("writing to a String");
    }
    let progress = indicatif::ProgressBar::new(args.epochs as u64).with_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} epoch {pos}/{len}, eta {eta}")
            .expect("valid template"),
    );
    let started = Instant::now();
    let mut csv = String::from("epoch,train_loss,test_loss,grad_norm,cosine_pf,seconds\n");
    let initial = trainer.test_loss();
    let mut last = None;
    let mut failure = None;
    for _ in 0..args.epochs {
        match trainer.epoch() {
            Ok(stats) => {
                let seconds = started.elapsed().as_secs_f64();
                writeln!(
                    csv,
                    "{},{},{},{},{},{seconds:.3}",
                    stats.epoch, stats.train_loss, stats.test_loss, stats.grad_norm, stats.cosine
                )
                .expect("writing to a String");
                progress.set_message(format!("{} test loss {:.4}", mode.letter(), stats.test_loss));
                progress.inc(1);
                last = Some(stats);
            }
            Err(why) => {
                failure = Some(why);
                break;
            }
        }
    }
    progress.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    let extra = json!({
        "model": args.problem,
        "params": params,
        "epochs": trainer.epochs(),
        "test_loss": last.map(|s| s.test_loss),
    });
    fs::write(args.out.join("losses.csv"), &csv)?;
    fs::write(args.out.join("controller.safetensors"), trainer.controller.to_safetensors(&extra))?;
    let meta = json!({
        "command": command,
        "problem": args.problem,
        "params": params,
        "epochs": trainer.epochs(),
        "initial_test_loss": initial,
        "final": last.map(|s| json!({"train_loss": s.train_loss, "test_loss": s.test_loss,
            "grad_norm": s.grad_norm, "cosine_pf": s.cosine})),
        "stopped": failure,
        "wall_seconds": wall,
        "threads": flowscope_parallel::threads(),
        "init": args.init.as_ref().map(|p| p.display().to_string()),
    });
    fs::write(args.out.join("meta.json"), serde_json::to_string_pretty(&meta)? + "\n")?;
    match (failure, last) {
        (Some(why), _) => bail!("{why} (the epochs before it are in {})", args.out.display()),
        (None, Some(stats)) => {
            println!(
                "{} {} epochs: test loss {initial:.4} -> {:.4} in {wall:.1} s; wrote {}",
                args.problem,
                stats.epoch,
                stats.test_loss,
                args.out.display()
            );
            Ok(())
        }
        (None, None) => unreachable!("at least one epoch ran or failed"),
    }
}
