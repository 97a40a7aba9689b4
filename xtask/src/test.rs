//! `cargo xtask test`: everything CI checks, in order of cost, stopping at the first failure.

use crate::{dist, project_root, serve, setup};
use anyhow::{bail, Context, Result};
use std::process::Command;
use std::time::Instant;

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(project_root());
    command
}

fn step(name: &str, mut command: Command) -> Result<()> {
    let started = Instant::now();
    eprintln!("xtask: ── {name}");
    let status = command.status().with_context(|| format!("starting {name}"))?;
    if !status.success() {
        bail!("{name} failed");
    }
    eprintln!("xtask: ── {name}: ok ({:.0} s)", started.elapsed().as_secs_f64());
    Ok(())
}

pub fn run(browser: bool) -> Result<()> {
    let started = Instant::now();
    setup::vulkan_driver()?;
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    step("rustfmt", fmt)?;

    let mut clippy = cargo();
    clippy.args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]);
    step("clippy", clippy)?;

    let mut tests = cargo();
    tests.args(["test", "--workspace"]).env("FLOWSCOPE_REQUIRE_GPU", "1");
    step("native tests (GPU tests on the first wgpu adapter, llvmpipe here)", tests)?;

    if browser {
        let chromium = setup::chromium()?;
        setup::playwright()?;
        let site = dist::build_with(
            &project_root().join("dist"),
            dist::Threaded::Required,
            dist::Hooks::ForTests,
        )?;
        let server = serve::start(&site, 0)?;
        // The same site two folders deep, as on a course page: proves the URLs are relative.
        let nested_root = project_root().join("target/e2e-site");
        let nested = nested_root.join("course/week-3/flowscope");
        if nested_root.exists() {
            std::fs::remove_dir_all(&nested_root)?;
        }
        std::fs::create_dir_all(&nested)?;
        dist::copy_tree(&site, &nested)?;
        let nested_server = serve::start(&nested_root, 0)?;
        // Cross-origin isolated: the page loads the threaded build.
        let isolated = serve::start_isolated(&site)?;
        let mut e2e = Command::new("node");
        e2e.current_dir(project_root().join("tests/e2e"))
            .args(["--test", "--test-concurrency=1"])
            .env("FLOWSCOPE_URL", format!("http://127.0.0.1:{}/", server.port))
            .env(
                "FLOWSCOPE_NESTED_URL",
                format!("http://127.0.0.1:{}/course/week-3/flowscope/", nested_server.port),
            )
            .env("FLOWSCOPE_ISOLATED_URL", format!("http://127.0.0.1:{}/", isolated.port))
            .env("CHROMIUM", chromium)
            .env("E2E_OUT", project_root().join("target/e2e"));
        step(
            "browser end-to-end tests (headless Chromium: WebGPU, CPU fallback, threaded build)",
            e2e,
        )?;
    }
    eprintln!("xtask: all checks passed in {:.1} min", started.elapsed().as_secs_f64() / 60.0);
    Ok(())
}

/// `cargo xtask fuzz`: the proptest fuzz targets (named `fuzz_*`) with `cases` cases each,
/// optimised. The test command runs the same targets with proptest's default 256 cases.
pub fn fuzz(cases: u32) -> Result<()> {
    let started = Instant::now();
    let mut targets = cargo();
    targets
        .args(["test", "--release", "-p", "flowscope-core", "-p", "flowscope-nn", "--test", "fuzz"])
        .env("PROPTEST_CASES", cases.to_string());
    step("fuzz: .npy reader, model loader, manifest", targets)?;
    let mut web = cargo();
    web.args(["test", "--release", "-p", "flowscope-web", "fuzz_"])
        .env("PROPTEST_CASES", cases.to_string());
    step("fuzz: URL links, API messages", web)?;
    eprintln!(
        "xtask: {cases} cases per target passed in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// `cargo xtask soak`: tests/e2e/soak.test.mjs for `minutes` (half on the CPU backend, half on
/// WebGPU at every case's defaults), against the shipped site; the memory samples go to
/// target/e2e/soak-<backend>.csv.
pub fn soak(minutes: f64) -> Result<()> {
    let chromium = setup::chromium()?;
    setup::playwright()?;
    let site = dist::build_with(
        &project_root().join("dist"),
        dist::Threaded::IfAvailable,
        dist::Hooks::Shipped,
    )?;
    let server = serve::start(&site, 0)?;
    let mut soak = Command::new("node");
    soak.current_dir(project_root().join("tests/e2e"))
        .args(["--test", "--test-concurrency=1", "soak.test.mjs"])
        .env("FLOWSCOPE_URL", format!("http://127.0.0.1:{}/", server.port))
        .env("SOAK_SECONDS", format!("{:.0}", minutes * 60.0))
        .env("CHROMIUM", chromium)
        .env("E2E_OUT", project_root().join("target/e2e"));
    step(&format!("soak: {minutes} min, every case on both backends"), soak)
}
