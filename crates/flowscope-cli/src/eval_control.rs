//! `flowscope eval bptt-cartpole [--epochs E] [--seeds K] [--poles LIST] [--doc docs/CONTROL.md]
//! [--plots docs/control]`: the stabilized-BPTT comparison with this repository's trainer —
//! every gradient mode (F, P, S, C) with every clipping (none, value, norm) for each pole count,
//! K seeds each, the published set-up otherwise (256 starts, batches of 8, Adam 1e-3, 2 × 100
//! tanh) — written as the "Evaluation: bptt-cartpole" section of the document with SVG learning
//! curves. Each run's losses.csv is kept in target/eval/bptt-cartpole, and a run already there
//! for the same epochs is read instead of trained again (an interrupted evaluation resumes).

use crate::eval::{splice_section, EvalArgs};
use anyhow::{bail, Context, Result};
use flowscope_control::{CartPole, Clip, Mode, Trainer, TrainerSettings};
use flowscope_core::svg::line_chart;
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

const BEGIN: &str = "<!-- flowscope eval bptt-cartpole: begin (generated, do not edit) -->";
const END: &str = "<!-- flowscope eval bptt-cartpole: end -->";
const CLIPS: [&str; 3] = ["none", "value", "norm"];
const RUNS: &str = "target/eval/bptt-cartpole";

/// One training run of the grid.
#[derive(Clone)]
struct Config {
    poles: usize,
    mode: Mode,
    clip: &'static str,
    seed: u64,
}

impl Config {
    fn name(&self) -> String {
        format!("p{}-{}-{}-s{}", self.poles, self.mode.letter(), self.clip, self.seed)
    }
}

/// Test loss per epoch (index 0: before training); `None` after a run diverged.
type Curve = Vec<Option<f64>>;

fn train(config: &Config, epochs: usize) -> Result<Curve> {
    let path = Path::new(RUNS).join(format!("{}.csv", config.name()));
    if let Ok(text) = std::fs::read_to_string(&path) {
        let curve: Curve = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).and_then(|v| v.parse().ok()))
            .collect();
        if curve.len() == epochs + 1 {
            return Ok(curve);
        }
    }
    let settings = TrainerSettings {
        mode: config.mode,
        clip: Clip::parse(config.clip).map_err(anyhow::Error::msg)?,
        seed: config.seed,
        ..TrainerSettings::default()
    };
    let mut trainer: Trainer<CartPole> =
        Trainer::new(CartPole::new(config.poles), settings, None).map_err(anyhow::Error::msg)?;
    let mut curve = vec![Some(trainer.test_loss())];
    for _ in 0..epochs {
        match trainer.epoch() {
            Ok(stats) => curve.push(Some(stats.test_loss)),
            Err(_) => curve.push(None),
        }
        if curve.last() == Some(&None) {
            curve.resize(epochs + 1, None);
            break;
        }
    }
    let mut csv = String::from("epoch,test_loss\n");
    for (epoch, loss) in curve.iter().enumerate() {
        let value = loss.map_or("nan".to_string(), |v| v.to_string());
        writeln!(csv, "{epoch},{value}").expect("writing to a String");
    }
    std::fs::create_dir_all(RUNS)?;
    std::fs::write(&path, csv).with_context(|| format!("writing {}", path.display()))?;
    Ok(curve)
}

pub fn run(args: EvalArgs) -> Result<()> {
    let epochs = args.epochs.unwrap_or(100);
    let poles: Vec<usize> = args
        .poles
        .split(',')
        .map(|p| p.trim().parse().ok().filter(|p| (1..=4).contains(p)))
        .collect::<Option<_>>()
        .with_context(|| format!("--poles '{}' is not a list of 1 to 4", args.poles))?;
    if epochs == 0 || args.seeds == 0 {
        bail!("eval bptt-cartpole needs --epochs ≥ 1 and --seeds ≥ 1");
    }
    let mut configs = Vec::new();
    for &p in &poles {
        for mode in Mode::ALL {
            for clip in CLIPS {
                for seed in 0..args.seeds as u64 {
                    configs.push(Config { poles: p, mode, clip, seed });
                }
            }
        }
    }
    let progress = indicatif::ProgressBar::new(configs.len() as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "eval bptt-cartpole {bar:40} {pos}/{len} runs, eta {eta}",
        )
        .expect("valid template"),
    );
    let started = Instant::now();
    let curves: Vec<Curve> = configs
        .par_iter()
        .map(|c| {
            let curve = train(c, epochs);
            progress.inc(1);
            curve
        })
        .collect::<Result<_>>()?;
    progress.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();

    let final_loss = |c: &Curve| c.last().copied().flatten();
    let mut md = String::new();
    let _ = writeln!(md, "{BEGIN}");
    let _ = writeln!(
        md,
        "Command: `flowscope eval bptt-cartpole --epochs {epochs} --seeds {} --poles {}` \
         ({wall:.0} s on {} threads; runs read back from {RUNS} count as nothing). Every run: \
         the published set-up (256 training and 256 test starts, batches of 8, Adam at 1e-3, \
         a 2 × 100 tanh MLP, T = 1 s in 100 steps), seeds 0–{}; **{epochs} epochs where the \
         paper trains 1000**.\n",
        args.seeds,
        args.poles,
        flowscope_parallel::threads(),
        args.seeds - 1
    );
    let _ = writeln!(
        md,
        "Final test loss (1 − mean cos θ; 0 upright, 2 hanging; mean over seeds, \
         \"div\" where a run's gradient stopped being finite):\n"
    );
    let mut header = "| poles |".to_string();
    let mut rule = "|---|".to_string();
    for mode in Mode::ALL {
        for clip in CLIPS {
            let _ = write!(header, " {} {clip} |", mode.letter());
            rule.push_str("---|");
        }
    }
    let _ = writeln!(md, "{header}\n{rule}");
    for &p in &poles {
        let mut row = format!("| {p} |");
        for mode in Mode::ALL {
            for clip in CLIPS {
                let finals: Vec<Option<f64>> = configs
                    .iter()
                    .zip(&curves)
                    .filter(|(c, _)| c.poles == p && c.mode == mode && c.clip == clip)
                    .map(|(_, curve)| final_loss(curve))
                    .collect();
                let cell = if finals.iter().any(Option::is_none) {
                    "div".to_string()
                } else {
                    let values: Vec<f64> = finals.into_iter().flatten().collect();
                    format!("{:.3}", values.iter().sum::<f64>() / values.len() as f64)
                };
                let _ = write!(row, " {cell} |");
            }
        }
        let _ = writeln!(md, "{row}");
    }
    let _ = writeln!(md);

    let (doc, plots) = if args.doc == Path::new("docs/MODELS.md") {
        (Path::new("docs/CONTROL.md").to_path_buf(), Path::new("docs/control").to_path_buf())
    } else {
        (args.doc.clone(), args.plots.clone())
    };
    std::fs::create_dir_all(&plots)?;
    let base = doc.parent().unwrap_or(Path::new(""));
    for &p in &poles {
        for clip in ["none", "norm"] {
            let mut lines: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
            for mode in Mode::ALL {
                // Seed 0's curve, as far as it stayed finite.
                if let Some((_, curve)) = configs
                    .iter()
                    .zip(&curves)
                    .find(|(c, _)| c.poles == p && c.mode == mode && c.clip == clip && c.seed == 0)
                {
                    let points = curve
                        .iter()
                        .enumerate()
                        .map_while(|(e, l)| l.map(|l| (e as f64, l)))
                        .collect();
                    lines.push((mode.letter().to_string(), points));
                }
            }
            let borrowed: Vec<(&str, &[(f64, f64)])> =
                lines.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
            let title = format!(
                "{p} pole{}, clipping {clip}: test loss (seed 0)",
                if p > 1 { "s" } else { "" }
            );
            let file = format!("bptt-cartpole-p{p}-{clip}.svg");
            let path = plots.join(&file);
            std::fs::write(&path, line_chart(&title, "epoch", "test loss", &borrowed, &[]))?;
            let shown = path.strip_prefix(base).unwrap_or(&path).display().to_string();
            let _ = writeln!(md, "![{title}]({shown})");
        }
    }
    let _ = writeln!(md, "\n{END}");
    splice_section(&doc, BEGIN, END, "Evaluation: bptt-cartpole", &md)?;
    println!("eval bptt-cartpole: {} runs in {wall:.0} s; wrote {}", configs.len(), doc.display());
    Ok(())
}
