//! `flowscope generate <dataset> --out DIR [--shard I/N] [--seed X] [--set NAME=VALUE]…`
//! (contract): the runs of a dataset as `DIR/<split>/<run>.npy` (f32 [frames, channels, height,
//! width]) with `DIR/<split>/<run>.json` (its conditions, frame times, steps, and per-channel
//! sums for the statistics), and `DIR/meta.json` (the command, options, channels, every run).
//! Datasets whose snapshots sample a distribution also write `DIR/<split>/<run>_stats.npy`
//! (f32 [2, channels, height, width]: the per-cell mean and standard deviation over the frames).
//!
//! Shard I of N writes the runs whose index is I − 1 modulo N, so N processes or machines make
//! one dataset together, into one folder or into folders copied together afterwards. Runs
//! already in the folder are kept (an interrupted command resumes), and whichever command finds
//! every run present writes the normalisation statistics into meta.json — the same numbers,
//! summed in run order, however the runs were split.

use anyhow::{bail, Context, Result};
use clap::Parser;
use flowscope_cases::datasets::{self, Dataset, Frames, Options, Run};
use flowscope_core::npy_f32;
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
pub struct GenerateArgs {
    /// Dataset name (acdm-wake).
    dataset: String,
    /// Output folder (created if missing; runs already in it are kept).
    #[arg(long)]
    out: PathBuf,
    /// Write only shard I of N (1-based), e.g. `--shard 2/4`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Seed of the runs' random parts: the same seed gives the same arrays.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Set a dataset option, e.g. `--set n=64` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
}

/// `(I, N)` from `I/N`, 1 ≤ I ≤ N.
fn parse_shard(text: &str) -> Result<(usize, usize)> {
    let parsed = text.split_once('/').and_then(|(i, n)| {
        Some((i.trim().parse::<usize>().ok()?, n.trim().parse::<usize>().ok()?))
    });
    match parsed {
        Some((i, n)) if n >= 1 && (1..=n).contains(&i) => Ok((i, n)),
        _ => bail!("--shard expects I/N with 1 ≤ I ≤ N, got '{text}'"),
    }
}

/// The dataset's description in meta.json: everything that decides its arrays (not the shard).
fn description(
    dataset: &dyn Dataset,
    options: &Options,
    seed: u64,
    runs: &[Run],
    args: &GenerateArgs,
) -> Value {
    let mut command = format!("flowscope generate {} --seed {seed}", dataset.name());
    for assignment in &args.set {
        command.push_str(&format!(" --set {assignment}"));
    }
    let options: serde_json::Map<String, Value> =
        options.iter().map(|(k, v)| (k.to_string(), Value::from(v))).collect();
    json!({
        "format": "flowscope-dataset/1",
        "dataset": dataset.name(),
        "summary": dataset.summary(),
        "command": command,
        "seed": seed,
        "options": options,
        "case": dataset.case(),
        "channels": dataset.channels(),
        "conditions": dataset.conditions(),
        "layout": "each run: f32 [frames, channels, height, width], row 0 at the bottom (y up), cell centres",
        "runs": runs.iter().map(|r| json!({
            "index": r.index,
            "split": r.split,
            "file": format!("{}/{}.npy", r.split, r.name),
            "condition": r.condition,
        })).collect::<Vec<_>>(),
        "flowscope": env!("CARGO_PKG_VERSION"),
    })
}

/// Writes `bytes` to `path` through a temporary file, so a reader never sees half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&temporary, bytes)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    fs::rename(&temporary, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Per channel: sum, sum of squares and count of the values (f64, frame by frame in order).
fn channel_sums(frames: &Frames) -> Vec<[f64; 3]> {
    let [count, channels, height, width] = frames.shape;
    let plane = height * width;
    let mut sums = vec![[0.0; 3]; channels];
    for frame in 0..count {
        for (c, sum) in sums.iter_mut().enumerate() {
            let start = (frame * channels + c) * plane;
            for &v in &frames.data[start..start + plane] {
                let v = f64::from(v);
                sum[0] += v;
                sum[1] += v * v;
                sum[2] += 1.0;
            }
        }
    }
    sums
}

/// Mean and standard deviation per channel and per condition over the training runs, from the
/// runs' own sums in run order.
fn normalisation(dir: &Path, dataset: &dyn Dataset, runs: &[Run]) -> Result<Value> {
    let train: Vec<&Run> = runs.iter().filter(|r| r.split == "train").collect();
    let from = if train.is_empty() { runs.iter().collect() } else { train };
    let mut sums = vec![[0.0f64; 3]; dataset.channels().len()];
    for run in &from {
        let path = dir.join(run.split).join(format!("{}.json", run.name));
        let record: Value = serde_json::from_slice(&fs::read(&path)?)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        let run_sums: Vec<[f64; 3]> = serde_json::from_value(record["sums"].clone())
            .with_context(|| format!("{} has no per-channel sums", path.display()))?;
        for (total, part) in sums.iter_mut().zip(run_sums) {
            for k in 0..3 {
                total[k] += part[k];
            }
        }
    }
    let stats = |[sum, squares, count]: [f64; 3]| {
        let mean = sum / count;
        (mean, (squares / count - mean * mean).max(0.0).sqrt())
    };
    let channels: Vec<(f64, f64)> = sums.into_iter().map(stats).collect();
    let conditions: Vec<(f64, f64)> = (0..dataset.conditions().len())
        .map(|k| {
            let values: Vec<f64> = from.iter().map(|r| r.condition[k]).collect();
            let n = values.len() as f64;
            let squares: f64 = values.iter().map(|v| v * v).sum();
            stats([values.iter().sum(), squares, n])
        })
        .collect();
    let split = |pairs: &[(f64, f64)]| {
        json!({
            "mean": pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
            "std": pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
        })
    };
    Ok(json!({
        "from": "every frame and cell of the training runs",
        "channels": split(&channels),
        "conditions": split(&conditions),
    }))
}

pub fn run(args: GenerateArgs) -> Result<()> {
    let dataset = datasets::find(&args.dataset).map_err(anyhow::Error::msg)?;
    let options = datasets::options(dataset, &args.set).map_err(anyhow::Error::msg)?;
    let runs = dataset.runs(&options).map_err(anyhow::Error::msg)?;
    let (shard, shards) = args.shard.as_deref().map(parse_shard).transpose()?.unwrap_or((1, 1));
    let dir = &args.out;
    let meta_path = dir.join("meta.json");
    let mut meta = description(dataset, &options, args.seed, &runs, &args);
    if let Ok(existing) = fs::read(&meta_path) {
        let existing: Value = serde_json::from_slice(&existing).unwrap_or(Value::Null);
        let mut without_stats = existing.clone();
        if let Some(object) = without_stats.as_object_mut() {
            object.remove("normalisation");
        }
        if without_stats != meta {
            bail!(
                "{} holds another dataset (or other options or seed): choose another --out",
                dir.display()
            );
        }
    } else {
        for split in ["train", "test"] {
            fs::create_dir_all(dir.join(split))
                .with_context(|| format!("cannot create {}", dir.join(split).display()))?;
        }
        write_atomic(&meta_path, (serde_json::to_string_pretty(&meta)? + "\n").as_bytes())?;
    }

    let mine: Vec<&Run> = runs.iter().filter(|r| r.index % shards == shard - 1).collect();
    let file =
        |run: &Run, extension: &str| dir.join(run.split).join(format!("{}.{extension}", run.name));
    let todo: Vec<&Run> = mine
        .iter()
        .copied()
        .filter(|r| !(file(r, "npy").exists() && file(r, "json").exists()))
        .collect();
    let progress = indicatif::ProgressBar::new(1000 * todo.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {percent}%, eta {eta}")
            .expect("valid template"),
    );
    let started = Instant::now();
    for (k, run) in todo.iter().enumerate() {
        progress.set_message(format!(
            "{} {} ({}/{} of shard {shard}/{shards})",
            dataset.name(),
            run.name,
            k + 1,
            todo.len()
        ));
        let run_started = Instant::now();
        let base = 1000 * k as u64;
        let frames = dataset
            .simulate(run, &options, args.seed, &mut |f| {
                progress.set_position(base + (1000.0 * f) as u64)
            })
            .map_err(anyhow::Error::msg)?;
        let shape: Vec<u64> = frames.shape.iter().map(|&s| s as u64).collect();
        write_atomic(&file(run, "npy"), &npy_f32(&shape, &frames.data))?;
        if dataset.per_run_statistics() {
            let [_, channels, height, width] = frames.shape;
            write_atomic(
                &dir.join(run.split).join(format!("{}_stats.npy", run.name)),
                &npy_f32(
                    &[2, channels as u64, height as u64, width as u64],
                    &datasets::cell_statistics(&frames),
                ),
            )?;
        }
        let record = json!({
            "index": run.index,
            "split": run.split,
            "condition": run.condition,
            "case_params": dataset.case_params(run, &options, args.seed)
                .map_err(anyhow::Error::msg)?
                .into_iter().map(|(k, v)| (k, Value::from(v))).collect::<serde_json::Map<_, _>>(),
            "shape": frames.shape,
            "times": frames.times,
            "steps": frames.steps,
            "wall_s": run_started.elapsed().as_secs_f64(),
            "sums": channel_sums(&frames),
        });
        write_atomic(
            &file(run, "json"),
            (serde_json::to_string_pretty(&record)? + "\n").as_bytes(),
        )?;
    }
    progress.finish_and_clear();

    let missing =
        runs.iter().filter(|r| !(file(r, "npy").exists() && file(r, "json").exists())).count();
    if missing == 0 {
        meta["normalisation"] = normalisation(dir, dataset, &runs)?;
        write_atomic(&meta_path, (serde_json::to_string_pretty(&meta)? + "\n").as_bytes())?;
    }
    let state = if missing == 0 {
        "complete, statistics in meta.json".to_string()
    } else {
        format!("{missing} of {} runs still to come from other shards", runs.len())
    };
    println!(
        "{}: wrote {} of {} runs (shard {shard}/{shards}) in {:.1} s to {}; {state}",
        dataset.name(),
        todo.len(),
        mine.len(),
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(())
}
