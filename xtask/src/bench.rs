//! `cargo xtask bench heat`: heat-equation ms/step at 256² and 1024², native CPU and GPU
//! (release build of the CLI's `bench` command) and in headless Chromium (both backends).
//! `cargo xtask bench grid`: smoke-plume ms/step and pressure iterations, 64² to 1024².

use crate::{dist, project_root, serve, setup};
use anyhow::{bail, Context, Result};
use std::process::Command;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Suite {
    Heat,
    Grid,
}

pub fn run(suite: Suite, browser: bool) -> Result<()> {
    match suite {
        Suite::Heat => heat(browser),
        Suite::Grid => grid(),
    }
}

fn build_cli() -> Result<std::path::PathBuf> {
    let root = project_root();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .args(["build", "--release", "-p", "flowscope-cli"])
        .status()?;
    if !status.success() {
        bail!("building the CLI failed");
    }
    Ok(root.join("target/release/flowscope"))
}

fn cli_bench(cli: &std::path::Path, args: &[&str]) -> Result<serde_json::Value> {
    let out =
        Command::new(cli).arg("bench").args(args).output().context("running flowscope bench")?;
    if !out.status.success() {
        bail!("flowscope bench failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// smoke-plume ms/step and pressure iterations from 64² to 1024², CPU backend (the grid solver
/// has no WGSL kernels yet).
fn grid() -> Result<()> {
    let cli = build_cli()?;
    println!("| backend | grid | ms/step | pressure iterations (last step) |\n|---|---|---|---|");
    for n in [64, 128, 256, 512, 1024] {
        let warmup = if n <= 256 { "30" } else { "5" };
        let report = cli_bench(
            &cli,
            &["smoke-plume", "--set", &format!("n={n}"), "--warmup", warmup, "--seconds", "3"],
        )?;
        println!(
            "| native cpu (1 thread) | {n}² | {:.2} | {} |",
            report["ms_per_step"].as_f64().unwrap_or(f64::NAN),
            report["observables"]["pressure_iterations"]
        );
    }
    Ok(())
}

fn heat(browser: bool) -> Result<()> {
    let root = project_root();
    let cli = build_cli()?;
    let mut rows = Vec::new();
    for backend in ["cpu", "gpu"] {
        for n in [256, 1024] {
            let report =
                cli_bench(&cli, &["heat", "--set", &format!("n={n}"), "--backend", backend])?;
            rows.push(format!(
                "| native {backend} ({}) | {n}² | {:.3} |",
                report["device"].as_str().unwrap_or("?"),
                report["ms_per_step"].as_f64().unwrap_or(f64::NAN)
            ));
        }
    }
    if browser {
        let chromium = setup::chromium()?;
        setup::playwright()?;
        let site = dist::build(&root.join("dist"))?;
        let server = serve::start(&site, 0)?;
        let out = Command::new("node")
            .current_dir(root.join("tests/e2e"))
            .arg("bench.mjs")
            .env("FLOWSCOPE_URL", format!("http://127.0.0.1:{}/", server.port))
            .env("CHROMIUM", chromium)
            .output()
            .context("running the browser benchmark")?;
        if !out.status.success() {
            bail!("browser benchmark failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        for entry in report.as_array().into_iter().flatten() {
            rows.push(format!(
                "| browser {} | {}² | {:.3} |",
                entry["backend"].as_str().unwrap_or("?"),
                entry["n"],
                entry["ms_per_step"].as_f64().unwrap_or(f64::NAN)
            ));
        }
        let wasm = site.join("pkg/flowscope_web_bg.wasm");
        let raw = std::fs::read(&wasm)?;
        let gzip = Command::new("gzip").args(["-9", "-c"]).arg(&wasm).output()?.stdout.len();
        println!(
            "wasm size: {:.0} KiB raw, {:.0} KiB gzip -9\n",
            raw.len() as f64 / 1024.0,
            gzip as f64 / 1024.0
        );
    }
    println!("| backend | grid | ms/step |\n|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    Ok(())
}
