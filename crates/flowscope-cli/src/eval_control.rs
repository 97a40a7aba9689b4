//! `flowscope eval bptt-cartpole|bptt-guidance|bptt-quantum [--epochs E] [--seeds K]
//! [--poles LIST] [--targets LIST] [--doc docs/CONTROL.md] [--plots docs/control]`: the
//! stabilized-BPTT comparison with this repository's trainer — every gradient mode (F, P, S, C)
//! with every clipping (none, value, norm) for each row of the problem (the cart-pole's pole
//! counts, guidance's published set-up, the quantum problem's target states), K seeds each, the
//! published set-up otherwise (256 starts, batches of 8, Adam 1e-3; 2 × 100 tanh, or the CNN
//! with 60 channels) — written as the problem's "Evaluation" section of the document with SVG
//! learning curves. Each run's test losses are kept in target/eval/<problem>, and a run already
//! there for the same epochs is read instead of trained again (an interrupted evaluation
//! resumes).

use crate::eval::{splice_section, EvalArgs};
use anyhow::{bail, Context, Result};
use flowscope_control::{
    CartPole, Clip, Cnn, Controller, Guidance, Mlp, Mode, Quantum, System, Trainer, TrainerSettings,
};
use flowscope_core::svg::line_chart;
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

const CLIPS: [&str; 3] = ["none", "value", "norm"];

/// The problems compared, each with its rows.
#[derive(Clone, Copy, PartialEq)]
enum Problem {
    CartPole,
    Guidance,
    Quantum,
}

impl Problem {
    fn name(self) -> &'static str {
        match self {
            Problem::CartPole => "bptt-cartpole",
            Problem::Guidance => "bptt-guidance",
            Problem::Quantum => "bptt-quantum",
        }
    }

    fn runs(self) -> PathBuf {
        Path::new("target/eval").join(self.name())
    }

    /// The rows of the table: pole counts, the one published guidance set-up, target states.
    fn rows(self, args: &EvalArgs) -> Result<Vec<usize>> {
        let list = |text: &str, range: std::ops::RangeInclusive<usize>, what: &str| {
            text.split(',')
                .map(|p| p.trim().parse().ok().filter(|p| range.contains(p)))
                .collect::<Option<Vec<usize>>>()
                .with_context(|| {
                    format!("'{text}' is not a list of {what} {} to {}", range.start(), range.end())
                })
        };
        match self {
            Problem::CartPole => list(&args.poles, 1..=4, "pole counts"),
            Problem::Guidance => Ok(vec![0]),
            Problem::Quantum => {
                list(&args.targets, flowscope_control::quantum::TARGETS, "target states")
            }
        }
    }

    fn row_label(self, row: usize) -> String {
        match self {
            Problem::CartPole => format!("{row} pole{}", if row > 1 { "s" } else { "" }),
            Problem::Guidance => "2 drivers, 4 evaders".into(),
            Problem::Quantum => format!("target state {row}"),
        }
    }

    fn column(self) -> &'static str {
        match self {
            Problem::CartPole => "poles",
            Problem::Guidance => "set-up",
            Problem::Quantum => "target",
        }
    }

    fn setup(self) -> &'static str {
        match self {
            Problem::CartPole => "a 2 × 100 tanh MLP, T = 1 s in 100 steps",
            Problem::Guidance => {
                "2 drivers and 4 evaders, control price 0.01, a 2 × 100 tanh MLP, T = 4 in 60 steps"
            }
            Problem::Quantum => {
                "32 points, Crank–Nicolson with dt 0.0625 over 128 steps, the CNN with 60 channels"
            }
        }
    }

    fn loss(self) -> &'static str {
        match self {
            Problem::CartPole => "1 − mean cos θ; 0 upright, 2 hanging",
            Problem::Guidance => {
                "the evaders' mean squared distance to the target over the episode plus 0.01 × \
                 the mean squared control"
            }
            Problem::Quantum => "Σ over the 128 steps of 1 − |⟨φ_target|ψ_n⟩|²; 0 to 128",
        }
    }

    /// The learning curve of one run.
    fn train(self, config: &Config, epochs: usize) -> Result<Curve> {
        let settings = TrainerSettings {
            mode: config.mode,
            clip: Clip::parse(config.clip).map_err(anyhow::Error::msg)?,
            seed: config.seed,
            ..TrainerSettings::default()
        };
        match self {
            Problem::CartPole => curve::<_, Mlp>(CartPole::new(config.row), settings, epochs),
            Problem::Guidance => curve::<_, Mlp>(Guidance::new(2, 4), settings, epochs),
            Problem::Quantum => {
                let system = Quantum::new(config.row).map_err(anyhow::Error::msg)?;
                curve::<_, Cnn>(system, TrainerSettings { hidden: vec![60], ..settings }, epochs)
            }
        }
    }
}

/// One training run of the grid.
#[derive(Clone)]
struct Config {
    problem: Problem,
    row: usize,
    mode: Mode,
    clip: &'static str,
    seed: u64,
}

impl Config {
    fn name(&self) -> String {
        let row = match self.problem {
            Problem::CartPole => format!("p{}", self.row),
            Problem::Guidance => "g".into(),
            Problem::Quantum => format!("t{}", self.row),
        };
        format!("{row}-{}-{}-s{}", self.mode.letter(), self.clip, self.seed)
    }
}

/// Test loss per epoch (index 0: before training); `None` after a run diverged.
type Curve = Vec<Option<f64>>;

fn curve<S: System, C: Controller>(
    system: S,
    settings: TrainerSettings,
    epochs: usize,
) -> Result<Curve> {
    let mut trainer: Trainer<S, C> =
        Trainer::new(system, settings, None).map_err(anyhow::Error::msg)?;
    let mut curve = vec![Some(trainer.test_loss())];
    for _ in 0..epochs {
        match trainer.epoch() {
            Ok(stats) => curve.push(Some(stats.test_loss)),
            Err(_) => {
                curve.resize(epochs + 1, None);
                break;
            }
        }
    }
    Ok(curve)
}

/// The run's curve, read back when it is there for the same epochs.
fn train(config: &Config, epochs: usize) -> Result<Curve> {
    let runs = config.problem.runs();
    let path = runs.join(format!("{}.csv", config.name()));
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
    let curve = config.problem.train(config, epochs)?;
    let mut csv = String::from("epoch,test_loss\n");
    for (epoch, loss) in curve.iter().enumerate() {
        let value = loss.map_or("nan".to_string(), |v| v.to_string());
        writeln!(csv, "{epoch},{value}").expect("writing to a String");
    }
    std::fs::create_dir_all(&runs)?;
    std::fs::write(&path, csv).with_context(|| format!("writing {}", path.display()))?;
    Ok(curve)
}

pub fn run(args: EvalArgs) -> Result<()> {
    let problem = match args.target.as_str() {
        "bptt-cartpole" => Problem::CartPole,
        "bptt-guidance" => Problem::Guidance,
        _ => Problem::Quantum,
    };
    let name = problem.name();
    let epochs = args.epochs.unwrap_or(100);
    let rows = problem.rows(&args)?;
    if epochs == 0 || args.seeds == 0 {
        bail!("eval {name} needs --epochs ≥ 1 and --seeds ≥ 1");
    }
    let mut configs = Vec::new();
    for &row in &rows {
        for mode in Mode::ALL {
            for clip in CLIPS {
                for seed in 0..args.seeds as u64 {
                    configs.push(Config { problem, row, mode, clip, seed });
                }
            }
        }
    }
    let progress = indicatif::ProgressBar::new(configs.len() as u64).with_style(
        indicatif::ProgressStyle::with_template(&format!(
            "eval {name} {{bar:40}} {{pos}}/{{len}} runs, eta {{eta}}"
        ))
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
    let (begin, end) = (
        format!("<!-- flowscope eval {name}: begin (generated, do not edit) -->"),
        format!("<!-- flowscope eval {name}: end -->"),
    );
    let rows_flag = match problem {
        Problem::CartPole => format!(" --poles {}", args.poles),
        Problem::Guidance => String::new(),
        Problem::Quantum => format!(" --targets {}", args.targets),
    };
    let mut md = String::new();
    let _ = writeln!(md, "{begin}");
    let _ = writeln!(
        md,
        "Command: `flowscope eval {name} --epochs {epochs} --seeds {}{rows_flag}` ({wall:.0} s \
         on {} threads; runs read back from {} count as nothing). Every run: the published \
         set-up (256 training and 256 test starts, batches of 8, Adam at 1e-3, {}), seeds \
         0–{}; **{epochs} epochs where the paper trains 1000**.\n",
        args.seeds,
        flowscope_parallel::threads(),
        problem.runs().display(),
        problem.setup(),
        args.seeds - 1
    );
    let _ = writeln!(
        md,
        "Final test loss ({}; mean over seeds, \"div\" where a run's gradient stopped being \
         finite):\n",
        problem.loss()
    );
    let mut header = format!("| {} |", problem.column());
    let mut rule = "|---|".to_string();
    for mode in Mode::ALL {
        for clip in CLIPS {
            let _ = write!(header, " {} {clip} |", mode.letter());
            rule.push_str("---|");
        }
    }
    let _ = writeln!(md, "{header}\n{rule}");
    for &r in &rows {
        let mut row = format!("| {} |", problem.row_label(r));
        for mode in Mode::ALL {
            for clip in CLIPS {
                let finals: Vec<Option<f64>> = configs
                    .iter()
                    .zip(&curves)
                    .filter(|(c, _)| c.row == r && c.mode == mode && c.clip == clip)
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
    for &r in &rows {
        for clip in ["none", "norm"] {
            let mut lines: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
            for mode in Mode::ALL {
                // Seed 0's curve, as far as it stayed finite.
                if let Some((_, curve)) = configs
                    .iter()
                    .zip(&curves)
                    .find(|(c, _)| c.row == r && c.mode == mode && c.clip == clip && c.seed == 0)
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
            let title = format!("{}, clipping {clip}: test loss (seed 0)", problem.row_label(r));
            let file = match problem {
                Problem::CartPole => format!("{name}-p{r}-{clip}.svg"),
                Problem::Guidance => format!("{name}-{clip}.svg"),
                Problem::Quantum => format!("{name}-t{r}-{clip}.svg"),
            };
            let path = plots.join(&file);
            std::fs::write(&path, line_chart(&title, "epoch", "test loss", &borrowed, &[]))?;
            let shown = path.strip_prefix(base).unwrap_or(&path).display().to_string();
            let _ = writeln!(md, "![{title}]({shown})");
        }
    }
    let _ = writeln!(md, "\n{end}");
    splice_section(&doc, &begin, &end, &format!("Evaluation: {name}"), &md)?;
    println!("eval {name}: {} runs in {wall:.0} s; wrote {}", configs.len(), doc.display());
    Ok(())
}
