//! `cargo xtask bench heat`: heat-equation ms/step at 256² and 1024², native CPU and GPU
//! (release build of the CLI's `bench` command) and in headless Chromium (both backends).
//! `cargo xtask bench grid`: smoke-plume ms/step and pressure iterations, 64² to 1024², native
//! CPU and GPU, in headless Chromium (both backends), and PhiFlow 3.4 on the same setup.
//! `cargo xtask bench sph [--particles 10k,100k] [--solvers wcsph,dfsph] [--time-limit S]`:
//! dam-break time to solution (wall time to the scaled times 2 and 3) of Flowscope's CPU WCSPH
//! and DFSPH and SPlisHSPlasH's (tests/bench/splishsplash_dam_break.py), every run checked
//! against Martin & Moyce.
//! `cargo xtask bench nn`: forward latency of a diffusion-surrogate-sized UNet (1.8 M weights),
//! our CPU and GPU backends against PyTorch on the CPU with the same weights, and in headless
//! Chromium against onnxruntime-web (wasm and WebGPU) on the same weights in ONNX.
//! `cargo xtask bench acdm`: learned-wake rollout frames per second (4 and 8 posterior samples,
//! DDPM's 20 steps and DDIM's 5), native CPU and in headless Chromium (both wasm builds).
//! `cargo xtask bench airfoil`: seconds to 16 samples of each airfoil-uncertainty model,
//! PyTorch on the CPU (same weights), our CLI on both native backends, and the case in headless
//! Chromium (both backends, both wasm builds).
//! `cargo xtask bench sfbc`: learned steps per second of the 2D learned particle solver
//! (`learned-sph-2d`, about 2000 fluid particles) alone and with the SPH solver beside it, native
//! CPU and GPU and in headless Chromium (both backends, both wasm builds).
//! `cargo xtask bench control`: one training update of the cart-pole controller (batch 8, 100
//! steps, 2 × 100 tanh MLP; modes F and C; 1 and 4 poles) natively, in headless Chromium (both
//! wasm builds) and in PyTorch on the CPU (training/bench_bptt.py, f64 and f32), and a whole
//! epoch (32 updates and the test loss) natively.
//! `cargo xtask bench hw`: Hasegawa–Wakatani ms/step at 128² to 512², native CPU and GPU, in
//! headless Chromium (both backends, both wasm builds), and the reference code hw2d (Numba) on
//! the same setup.
//! `cargo xtask bench site`: first load in headless Chromium (time to the first drawn frame,
//! both backends) and the size of what the browser downloads.

use crate::{dist, project_root, serve, setup};
use anyhow::{bail, Context, Result};
use std::process::Command;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Suite {
    Heat,
    Grid,
    Sph,
    Nn,
    Acdm,
    Fft,
    Smdp,
    Airfoil,
    Sfbc,
    Control,
    Hw,
    Site,
}

/// What `bench sph` runs: dam-break sizes (10k, 100k) and solvers (wcsph, dfsph).
pub struct SphRuns {
    pub particles: Vec<String>,
    pub solvers: Vec<String>,
    /// Wall-clock limit of each run: one that does not reach T = 3 within it (an unstable
    /// reference) gets its row marked and the table goes on.
    pub time_limit: std::time::Duration,
}

pub fn run(suite: Suite, browser: bool, sph_runs: &SphRuns) -> Result<()> {
    match suite {
        Suite::Heat => heat(browser),
        Suite::Grid => grid(browser),
        Suite::Sph => sph(sph_runs),
        Suite::Nn => nn(browser),
        Suite::Acdm => acdm(browser),
        Suite::Fft => fft(browser),
        Suite::Smdp => smdp(browser),
        Suite::Airfoil => airfoil(browser),
        Suite::Sfbc => sfbc(browser),
        Suite::Control => control(browser),
        Suite::Hw => hw(browser),
        Suite::Site => site(),
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

/// A venv under target/ with the reference tools of tests/bench/requirements.txt, brought up to
/// date when the list changes.
pub fn bench_venv() -> Result<std::path::PathBuf> {
    let root = project_root();
    let venv = root.join("target/bench-venv");
    let python = venv.join("bin/python");
    let wanted = std::fs::read_to_string(root.join("tests/bench/requirements.txt"))?;
    let stamp = venv.join("requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    eprintln!("xtask: installing the reference tools into {}", venv.display());
    let ok = (python.exists()
        || Command::new("python3").args(["-m", "venv"]).arg(&venv).status()?.success())
        && Command::new(&python)
            .args(["-m", "pip", "install", "-q", "-r"])
            .arg(root.join("tests/bench/requirements.txt"))
            .status()?
            .success();
    if !ok {
        bail!("could not install the reference tools; run: python3 -m venv target/bench-venv && target/bench-venv/bin/pip install -r tests/bench/requirements.txt");
    }
    std::fs::write(stamp, wanted)?;
    Ok(python)
}

/// Runs a browser benchmark script of tests/e2e against `server` with its plan in the named
/// environment variable; returns the JSON it prints.
fn node_bench(
    script: &str,
    server: &serve::Server,
    chromium: &str,
    (variable, plan): (&str, &serde_json::Value),
) -> Result<serde_json::Value> {
    let out = Command::new("node")
        .current_dir(project_root().join("tests/e2e"))
        .arg(script)
        .env("FLOWSCOPE_URL", format!("http://127.0.0.1:{}/", server.port))
        .env(variable, plan.to_string())
        .env("CHROMIUM", chromium)
        .output()
        .context("running the browser benchmark")?;
    if !out.status.success() {
        bail!("browser benchmark failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// ms/step of `case` in headless Chromium, both backends (the CPU's in both builds):
/// `(backend, n, ms/step)` rows.
fn browser_bench(
    case: &str,
    params: serde_json::Value,
    sizes: &[(u32, u32)],
) -> Result<Vec<(String, u64, f64)>> {
    let root = project_root();
    let chromium = setup::chromium()?;
    setup::playwright()?;
    let site = dist::build(&root.join("dist"), dist::Threaded::Required)?;
    let server = serve::start_isolated(&site)?;
    let plan = serde_json::json!({ "case": case, "sizes": sizes, "params": params });
    let report = node_bench("bench.mjs", &server, &chromium, ("FLOWSCOPE_BENCH", &plan))?;
    Ok(report
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            (
                entry["backend"].as_str().unwrap_or("?").to_string(),
                entry["n"].as_u64().unwrap_or(0),
                entry["ms_per_step"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect())
}

/// The 2D FFT at 32² to 1024²: one step of the heat case's spectral scheme, a forward and an
/// inverse transform with the modes scaled between, on the CPU (rustfft) and the GPU (the WGSL
/// Stockham FFT), natively and in the browser.
fn fft(browser: bool) -> Result<()> {
    let cli = build_cli()?;
    let sizes = [32u32, 64, 128, 256, 512, 1024];
    let mut rows = Vec::new();
    for backend in ["cpu", "gpu"] {
        for n in sizes {
            let set = format!("n={n}");
            let args = ["heat", "--preset", "spectral", "--set", &set, "--backend", backend];
            let report = cli_bench(&cli, &args)?;
            let device = report["device"].as_str().unwrap_or("?");
            let label = if backend == "cpu" { "rustfft" } else { "WGSL FFT" };
            rows.push((
                format!("native {backend}, {label} ({device})"),
                u64::from(n),
                report["ms_per_step"].as_f64().unwrap_or(f64::NAN),
            ));
        }
    }
    if browser {
        let steps = |n: u32| if n >= 512 { 10 } else { 40 };
        let plan: Vec<(u32, u32)> = sizes.iter().map(|&n| (n, steps(n))).collect();
        let root = project_root();
        let chromium = setup::chromium()?;
        setup::playwright()?;
        let site = dist::build(&root.join("dist"), dist::Threaded::Required)?;
        let server = serve::start_isolated(&site)?;
        let runs: Vec<_> = plan
            .iter()
            .map(|&(n, steps)| serde_json::json!({ "label": n, "params": { "n": n }, "steps": steps }))
            .collect();
        let plan = serde_json::json!({ "case": "heat", "runs": runs, "params": { "scheme": "spectral", "initial": "mode", "dt": 1 } });
        let report = node_bench("bench.mjs", &server, &chromium, ("FLOWSCOPE_BENCH", &plan))?;
        for entry in report.as_array().into_iter().flatten() {
            rows.push((
                format!("browser {}", entry["backend"].as_str().unwrap_or("?")),
                entry["n"].as_u64().unwrap_or(0),
                entry["ms_per_step"].as_f64().unwrap_or(f64::NAN),
            ));
        }
    }
    println!("| backend | grid | ms per spectral step (FFT, scale, inverse FFT) |\n|---|---|---|");
    for (backend, n, ms) in rows {
        println!("| {backend} | {n}² | {ms:.3} |");
    }
    Ok(())
}

/// A full posterior sample of the heat inverse problem with the shipped model: the 20
/// backward steps of 16 samples (after the 20 forward steps, untimed), native CPU and GPU and
/// the browser's backends.
fn smdp(browser: bool) -> Result<()> {
    let cli = build_cli()?;
    let mut rows = Vec::new();
    for backend in ["cpu", "gpu"] {
        let args = [
            "smdp-heat",
            "--set",
            "samples=16",
            "--warmup",
            "20",
            "--steps",
            "20",
            "--backend",
            backend,
        ];
        let report = cli_bench(&cli, &args)?;
        let device = report["device"].as_str().unwrap_or("?");
        rows.push((
            format!("native {backend} ({device})"),
            20.0 * report["ms_per_step"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    if browser {
        let root = project_root();
        let chromium = setup::chromium()?;
        setup::playwright()?;
        let site = dist::build(&root.join("dist"), dist::Threaded::Required)?;
        let server = serve::start_isolated(&site)?;
        let plan = serde_json::json!({
            "case": "smdp-heat",
            "runs": [{ "label": "16 samples", "params": { "samples": 16 }, "steps": 20, "warmup": 20 }],
            "params": {},
        });
        let report = node_bench("bench.mjs", &server, &chromium, ("FLOWSCOPE_BENCH", &plan))?;
        for entry in report.as_array().into_iter().flatten() {
            rows.push((
                format!("browser {}", entry["backend"].as_str().unwrap_or("?")),
                20.0 * entry["ms_per_step"].as_f64().unwrap_or(f64::NAN),
            ));
        }
    }
    println!("| backend | ms per posterior sample (16 samples, 20 backward steps) |\n|---|---|");
    for (backend, ms) in rows {
        println!("| {backend} | {ms:.0} |");
    }
    Ok(())
}

/// Seconds to 16 samples of each airfoil-uncertainty model at u = 1.125 (its own steps: flow
/// matching 20, DDPM 200, the heteroscedastic UNet one pass): PyTorch on the CPU with the same
/// weights (training/bench_airfoil.py), `flowscope sample` natively, and the case in the browser
/// (solver off), timed from its start to the last sample.
fn airfoil(browser: bool) -> Result<()> {
    const SAMPLES: usize = 16;
    let root = project_root();
    let cli = build_cli()?;
    let models = [("flow-matching", 20), ("ddpm", 200), ("heteroscedastic", 1)];
    let mut rows: Vec<(String, String, f64)> = Vec::new();
    for (model, _) in models {
        let file = root.join(format!("public/models/airfoil-{model}.safetensors"));
        let out = Command::new(root.join("training/run"))
            .arg("bench_airfoil.py")
            .arg(&file)
            .args(["--samples", &SAMPLES.to_string()])
            .output()
            .context("running training/run bench_airfoil.py")?;
        if !out.status.success() {
            bail!("PyTorch benchmark failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let label = format!("PyTorch {} CPU ({} threads)", report["torch"], report["threads"]);
        rows.push((
            label.replace('"', ""),
            model.into(),
            report["seconds"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    let out_dir = root.join("target/bench-airfoil");
    for backend in ["cpu", "gpu"] {
        for (model, _) in models {
            let status = Command::new(&cli)
                .args(["sample", "airfoil-uncertainty", "--set", "u=1.125", "--model", model])
                .args(["--samples", &SAMPLES.to_string(), "--backend", backend, "--out"])
                .arg(&out_dir)
                .status()?;
            if !status.success() {
                bail!("flowscope sample airfoil-uncertainty --model {model} --backend {backend} failed");
            }
            let meta: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(out_dir.join("meta.json"))?)?;
            let seconds = meta["sampling_s"].as_f64().unwrap_or(f64::NAN);
            let label = match meta["device"].as_str() {
                Some(device) => format!("native {backend} ({device})"),
                None => format!("native {backend}"),
            };
            rows.push((label, model.into(), seconds));
        }
    }
    if browser {
        let chromium = setup::chromium()?;
        setup::playwright()?;
        let site = dist::build(&root.join("dist"), dist::Threaded::Required)?;
        let server = serve::start_isolated(&site)?;
        // A slice is one network pass of a batch: 4 samples on the CPU, all 16 on the device.
        // SwiftShader takes about 5 s a pass of 16, so DDPM's 200 passes are left out there.
        let runs: Vec<_> = models
            .iter()
            .map(|&(model, passes)| {
                serde_json::json!({
                    "label": model,
                    "params": { "model": model, "samples": SAMPLES, "solver": "off" },
                    "steps": { "webgpu": passes, "cpu": passes * SAMPLES / 4 },
                    "warmup": 0,
                    "done": true,
                    "skip": if model == "ddpm" { vec!["webgpu"] } else { vec![] },
                })
            })
            .collect();
        let plan = serde_json::json!({ "case": "airfoil-uncertainty", "runs": runs, "params": {} });
        let report = node_bench("bench.mjs", &server, &chromium, ("FLOWSCOPE_BENCH", &plan))?;
        for entry in report.as_array().into_iter().flatten() {
            let steps = entry["steps"].as_f64().unwrap_or(f64::NAN);
            rows.push((
                format!("browser {}", entry["backend"].as_str().unwrap_or("?")),
                entry["n"].as_str().unwrap_or("?").to_string(),
                steps * entry["ms_per_step"].as_f64().unwrap_or(f64::NAN) / 1000.0,
            ));
        }
    }
    println!("| backend | model | seconds to {SAMPLES} samples |\n|---|---|---|");
    for (backend, model, seconds) in rows {
        println!("| {backend} | {model} | {seconds:.2} |");
    }
    Ok(())
}

/// Rollout frames per second of the acdm-wake case with the shipped model: native CPU and GPU
/// (the CLI's `bench`) and the browser's WebGPU and CPU backends, the latter in both builds.
fn acdm(browser: bool) -> Result<()> {
    let cli = build_cli()?;
    let variants = [(4, "ddpm", 20), (8, "ddpm", 20), (4, "ddim", 5), (8, "ddim", 5)];
    let name = |k: u32, sampler: &str, steps: u32| format!("{k} samples, {sampler} {steps} steps");
    let mut rows = Vec::new();
    for backend in ["cpu", "gpu"] {
        for (k, sampler, steps) in variants {
            let set =
                [format!("samples={k}"), format!("sampler={sampler}"), format!("steps={steps}")];
            let mut args = vec!["acdm-wake", "--backend", backend, "--warmup", "1"];
            args.extend(["--seconds", "10", "--set", "warmup=5"]);
            for assignment in &set {
                args.extend(["--set", assignment.as_str()]);
            }
            let report = cli_bench(&cli, &args)?;
            let ms = report["ms_per_step"].as_f64().unwrap_or(f64::NAN);
            let device = report["device"].as_str().unwrap_or("?").to_string();
            rows.push((device, name(k, sampler, steps), ms));
        }
    }
    if browser {
        let root = project_root();
        let chromium = setup::chromium()?;
        setup::playwright()?;
        let site = dist::build(&root.join("dist"), dist::Threaded::Required)?;
        let server = serve::start_isolated(&site)?;
        // SwiftShader's WebGPU runs a DDPM frame of 4 samples in about 100 s: the DDIM rows
        // alone there (the time per frame grows with the sampling steps).
        let runs: Vec<_> = variants
            .iter()
            .map(|&(k, sampler, steps)| {
                serde_json::json!({
                    "label": name(k, sampler, steps),
                    "params": { "samples": k, "sampler": sampler, "steps": steps },
                    "steps": 2,
                    "skip": if sampler == "ddpm" { vec!["webgpu"] } else { vec![] },
                })
            })
            .collect();
        let plan = serde_json::json!({
            "case": "acdm-wake", "runs": runs, "params": { "warmup": 5 },
        });
        let report = node_bench("bench.mjs", &server, &chromium, ("FLOWSCOPE_BENCH", &plan))?;
        for entry in report.as_array().into_iter().flatten() {
            rows.push((
                format!("browser {}", entry["backend"].as_str().unwrap_or("?")),
                entry["n"].as_str().unwrap_or("?").to_string(),
                entry["ms_per_step"].as_f64().unwrap_or(f64::NAN),
            ));
        }
    }
    println!("| backend | rollout | ms per frame | frames per second |\n|---|---|---|---|");
    for (backend, rollout, ms) in rows {
        println!("| {backend} | {rollout} | {ms:.0} | {:.2} |", 1000.0 / ms);
    }
    Ok(())
}

/// Learned steps per second of `learned-sph-2d` at its default 45 × 45 fluid particles (and
/// the box's 576 wall particles), each shipped model alone (`solver=off`) and the default
/// model with the SPH solver's 16 steps a frame beside it.
fn sfbc(browser: bool) -> Result<()> {
    let cli = build_cli()?;
    let variants = [
        ("fourier-noise", "off"),
        ("fourier-small-noise", "off"),
        ("linear-noise", "off"),
        ("fourier-noise", "beside"),
    ];
    let name = |model: &str, solver: &str| {
        format!("{model}, {}", if solver == "off" { "alone" } else { "solver beside" })
    };
    let mut rows = Vec::new();
    for backend in ["cpu", "gpu"] {
        for (model, solver) in variants {
            let set = [format!("model={model}"), format!("solver={solver}")];
            let mut args = vec!["learned-sph-2d", "--backend", backend, "--warmup", "2"];
            args.extend(["--seconds", "10"]);
            for assignment in &set {
                args.extend(["--set", assignment.as_str()]);
            }
            let report = cli_bench(&cli, &args)?;
            let ms = report["ms_per_step"].as_f64().unwrap_or(f64::NAN);
            let device = report["device"].as_str().unwrap_or("?").to_string();
            rows.push((device, name(model, solver), ms));
        }
    }
    if browser {
        let root = project_root();
        let chromium = setup::chromium()?;
        setup::playwright()?;
        let site = dist::build(&root.join("dist"), dist::Threaded::Required)?;
        let server = serve::start_isolated(&site)?;
        let runs: Vec<_> = variants
            .iter()
            .map(|&(model, solver)| {
                serde_json::json!({
                    "label": name(model, solver),
                    "params": { "model": model, "solver": solver },
                    // SwiftShader's WebGPU takes seconds a frame.
                    "steps": { "cpu": 30, "webgpu": 3 },
                    "warmup": 2,
                })
            })
            .collect();
        let plan = serde_json::json!({ "case": "learned-sph-2d", "runs": runs, "params": {} });
        let report = node_bench("bench.mjs", &server, &chromium, ("FLOWSCOPE_BENCH", &plan))?;
        for entry in report.as_array().into_iter().flatten() {
            rows.push((
                format!("browser {}", entry["backend"].as_str().unwrap_or("?")),
                entry["n"].as_str().unwrap_or("?").to_string(),
                entry["ms_per_step"].as_f64().unwrap_or(f64::NAN),
            ));
        }
    }
    println!(
        "| backend | run | ms per learned step | learned steps per second |\n|---|---|---|---|"
    );
    for (backend, run, ms) in rows {
        println!("| {backend} | {run} | {ms:.1} | {:.1} |", 1000.0 / ms);
    }
    Ok(())
}

fn control(browser: bool) -> Result<()> {
    let cli = build_cli()?;
    let variants = [(1, "F"), (1, "C"), (4, "F"), (4, "C")];
    let name = |poles: u32, mode: &str| {
        format!("{poles} pole{}, {mode}", if poles > 1 { "s" } else { "" })
    };
    let mut rows = Vec::new();
    for (poles, mode) in variants {
        let set = [format!("poles={poles}"), format!("mode={mode}"), "versus=none".to_string()];
        let mut args = vec!["control-cartpole", "--warmup", "5", "--seconds", "5"];
        for assignment in &set {
            args.extend(["--set", assignment.as_str()]);
        }
        let report = cli_bench(&cli, &args)?;
        let device = report["device"].as_str().unwrap_or("?").to_string();
        rows.push((device, name(poles, mode), report["ms_per_step"].as_f64().unwrap_or(f64::NAN)));
    }
    // A whole epoch as `flowscope train` runs it: 32 updates and the test loss over 256 starts.
    let out = std::env::temp_dir().join("flowscope-bench-control");
    for (poles, mode) in [(1, "C"), (4, "C")] {
        let status = Command::new(&cli)
            .args(["train", "bptt-cartpole", "--epochs", "3", "--out"])
            .arg(&out)
            .args(["--set", &format!("poles={poles}"), "--set", &format!("mode={mode}")])
            .stdout(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            bail!("flowscope train failed");
        }
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("meta.json"))?)?;
        let ms = meta["wall_seconds"].as_f64().unwrap_or(f64::NAN) * 1000.0 / 3.0;
        rows.push((
            format!("native CPU, {} threads", meta["threads"]),
            format!("{}: a whole epoch", name(poles, mode)),
            ms,
        ));
    }
    if browser {
        let root = project_root();
        let chromium = setup::chromium()?;
        setup::playwright()?;
        let site = dist::build(&root.join("dist"), dist::Threaded::Required)?;
        let server = serve::start_isolated(&site)?;
        let runs: Vec<_> = variants
            .iter()
            .map(|&(poles, mode)| {
                serde_json::json!({
                    "label": name(poles, mode),
                    "params": { "poles": poles, "mode": mode, "versus": "none" },
                    "steps": 40,
                    "warmup": 5,
                    "skip": ["webgpu"],
                })
            })
            .collect();
        let plan = serde_json::json!({ "case": "control-cartpole", "runs": runs, "params": {} });
        let report = node_bench("bench.mjs", &server, &chromium, ("FLOWSCOPE_BENCH", &plan))?;
        for entry in report.as_array().into_iter().flatten() {
            rows.push((
                format!("browser {}", entry["backend"].as_str().unwrap_or("?")),
                entry["n"].as_str().unwrap_or("?").to_string(),
                entry["ms_per_step"].as_f64().unwrap_or(f64::NAN),
            ));
        }
    }
    let out = Command::new(project_root().join("training/run"))
        .arg("bench_bptt.py")
        .output()
        .context("running training/run bench_bptt.py")?;
    if !out.status.success() {
        bail!("bench_bptt.py failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let torch: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    for row in torch["rows"].as_array().into_iter().flatten() {
        let poles = row["poles"].as_u64().unwrap_or(0) as u32;
        rows.push((
            format!(
                "PyTorch {} CPU, {} threads, {}",
                torch["torch"].as_str().unwrap_or("?"),
                torch["threads"],
                row["dtype"].as_str().unwrap_or("?")
            ),
            name(poles, row["mode"].as_str().unwrap_or("?")),
            row["ms"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    println!("| where | run | ms (one update: batch 8, 100 steps; or the whole epoch named) |\n|---|---|---|");
    for (backend, run, ms) in rows {
        println!("| {backend} | {run} | {ms:.1} |");
    }
    Ok(())
}

/// smoke-plume ms/step and pressure iterations from 64² to 1024², native CPU and GPU, the
/// browser's backends up to 256², and PhiFlow 3.4 (numpy, f64) on the same setup at 64² and 128².
fn grid(browser: bool) -> Result<()> {
    let cli = build_cli()?;
    let python = bench_venv()?;
    let mut phiflow = std::collections::BTreeMap::new();
    for (n, steps) in [(64, 10), (128, 5)] {
        eprintln!("xtask: PhiFlow smoke plume at {n}²");
        let out = Command::new(&python)
            .arg(project_root().join("tests/bench/phiflow_smoke_plume.py"))
            .args([n.to_string(), "30".into(), steps.to_string()])
            .output()?;
        if !out.status.success() {
            bail!("PhiFlow benchmark failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        phiflow.insert(n as u64, report["ms_per_step"].as_f64().unwrap_or(f64::NAN));
    }
    let versus = |n: u64, ms: f64| match phiflow.get(&n) {
        Some(p) => (format!("{p:.1}"), format!("{:.0}×", p / ms)),
        None => ("—".into(), "—".into()),
    };
    let mut rows = Vec::new();
    for backend in ["cpu", "gpu"] {
        for n in [64u64, 128, 256, 512, 1024] {
            eprintln!("xtask: smoke plume at {n}² on the {backend} backend");
            let warmup = if n <= 256 { "30" } else { "5" };
            let report = cli_bench(
                &cli,
                &[
                    "smoke-plume",
                    "--set",
                    &format!("n={n}"),
                    "--backend",
                    backend,
                    "--warmup",
                    warmup,
                    "--seconds",
                    "3",
                ],
            )?;
            let ms = report["ms_per_step"].as_f64().unwrap_or(f64::NAN);
            let (reference, speedup) = versus(n, ms);
            rows.push(format!(
                "| native {backend} ({}) | {n}² | {ms:.2} | {} | {reference} | {speedup} |",
                report["device"].as_str().unwrap_or("?"),
                report["observables"]["pressure_iterations"]
            ));
        }
    }
    // PhiFlow's own schemes (the script's): semi-Lagrangian velocity, Euler trace-back.
    for n in [64u64, 128] {
        eprintln!("xtask: smoke plume at {n}² on the cpu backend with PhiFlow's schemes");
        let size = format!("n={n}");
        let report = cli_bench(
            &cli,
            &[
                "smoke-plume",
                "--set",
                &size,
                "--set",
                "advection=semi-lagrangian",
                "--set",
                "integrator=euler",
                "--backend",
                "cpu",
                "--warmup",
                "30",
                "--seconds",
                "3",
            ],
        )?;
        let ms = report["ms_per_step"].as_f64().unwrap_or(f64::NAN);
        let (reference, speedup) = versus(n, ms);
        rows.push(format!(
            "| native cpu ({}), PhiFlow's schemes | {n}² | {ms:.2} | {} | {reference} | {speedup} |",
            report["device"].as_str().unwrap_or("?"),
            report["observables"]["pressure_iterations"]
        ));
    }
    if browser {
        for (backend, n, ms) in
            browser_bench("smoke-plume", serde_json::json!({}), &[(64, 40), (128, 20), (256, 10)])?
        {
            let (reference, speedup) = versus(n, ms);
            rows.push(format!(
                "| browser {backend} | {n}² | {ms:.2} | — | {reference} | {speedup} |"
            ));
        }
    }
    println!("| backend | grid | ms/step | pressure iterations (last step) | PhiFlow 3.4 numpy ms/step | speed-up |\n|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
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
        for (backend, n, ms) in
            browser_bench("heat", serde_json::json!({}), &[(256, 200), (1024, 40)])?
        {
            rows.push(format!("| browser {backend} | {n}² | {ms:.3} |"));
        }
        let wasm = root.join("dist/pkg/flowscope_web_bg.wasm");
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

/// Hasegawa–Wakatani ms/step at 128², 256² and 512²: ours natively (CLI `bench`, release) and
/// in the browser, and hw2d's (tests/bench/hw2d_reference.py, Numba, after a warm-up step).
fn hw(browser: bool) -> Result<()> {
    let cli = build_cli()?;
    let python = bench_venv()?;
    let sizes = [(128u64, 200u64), (256, 60), (512, 20)];
    let mut reference = std::collections::BTreeMap::new();
    for (n, steps) in sizes {
        eprintln!("xtask: hw2d at {n}², {steps} steps");
        let out = Command::new(&python)
            .arg(project_root().join("tests/bench/hw2d_reference.py"))
            .args(["--n", &n.to_string(), "--steps", &steps.to_string(), "--every", "1000000"])
            .output()?;
        if !out.status.success() {
            bail!("hw2d benchmark failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        reference.insert(n, report["ms_per_step"].as_f64().unwrap_or(f64::NAN));
    }
    let versus = |n: u64, ms: f64| {
        reference.get(&n).map_or("—".to_string(), |r| format!("{:.1}×", r / ms))
    };
    let mut rows = Vec::new();
    for (n, _) in sizes {
        rows.push(format!("| hw2d 1.0.4 (Numba, f64) | {n}² | {:.2} | 1× |", reference[&n]));
    }
    for backend in ["cpu", "gpu"] {
        for (n, _) in sizes {
            eprintln!("xtask: hasegawa-wakatani at {n}² on the {backend} backend");
            let report = cli_bench(
                &cli,
                &["hasegawa-wakatani", "--set", &format!("n={n}"), "--backend", backend],
            )?;
            let ms = report["ms_per_step"].as_f64().unwrap_or(f64::NAN);
            let device = report["device"].as_str().unwrap_or("?");
            rows.push(format!(
                "| native {backend} ({device}) | {n}² | {ms:.2} | {} |",
                versus(n, ms)
            ));
        }
    }
    if browser {
        let plan: Vec<(u32, u32)> = vec![(128, 40), (256, 10), (512, 4)];
        for (backend, n, ms) in browser_bench("hasegawa-wakatani", serde_json::json!({}), &plan)? {
            rows.push(format!("| browser {backend} | {n}² | {ms:.2} | {} |", versus(n, ms)));
        }
    }
    println!("| backend | grid | ms/step | speed-up over hw2d |\n|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    Ok(())
}

/// Dam-break time to solution: wall time to T = 2 and T = 3 (T = t √(2g/a)) of Flowscope's CPU
/// WCSPH and DFSPH and SPlisHSPlasH's at the same particle counts, each run checked against
/// Martin & Moyce and for particles in the tank at physical speeds.
fn sph(runs: &SphRuns) -> Result<()> {
    if let Some(other) = runs.solvers.iter().find(|s| !["wcsph", "dfsph"].contains(&s.as_str())) {
        bail!("--solvers: {other} is not one of wcsph, dfsph");
    }
    let solvers: Vec<&str> = runs.solvers.iter().map(String::as_str).collect();
    let cli = build_cli()?;
    let python = bench_venv()?;
    let mut rows = Vec::new();
    for label in &runs.particles {
        // Particles across the column: the column holds about 2n² of them.
        let n = match label.as_str() {
            "10k" => 71,
            "100k" => 224,
            other => bail!("--particles: {other} is not one of 10k, 100k"),
        };
        for &solver in &solvers {
            eprintln!("xtask: dam break to T = 3, Flowscope {solver}, {label} particles");
            let mut command = Command::new(&cli);
            command.args(["bench", "dam-break", "--set", &format!("n={n}")]).args([
                "--set",
                &format!("solver={solver}"),
                "--until",
                "scaled_time=2,3",
            ]);
            let name = format!("Flowscope {}, native CPU (2 threads)", solver.to_uppercase());
            let out = output_within(&mut command, runs.time_limit)?;
            if !out.timed_out && !out.status.success() {
                bail!("flowscope bench failed: {}", String::from_utf8_lossy(&out.stderr).trim());
            }
            let reached = json_lines(&out.stdout)
                .unwrap_or_default()
                .iter()
                .map(|r| {
                    let (now, most) = (&r["observables"], &r["observables_max"]);
                    Reached {
                        particles: count_fluid(n),
                        steps: r["steps"].as_f64().unwrap_or(f64::NAN),
                        wall_s: r["wall_s"].as_f64().unwrap_or(f64::NAN),
                        scaled_time: now["scaled_time"].as_f64().unwrap_or(f64::NAN),
                        front: now["front_scaled"].as_f64().unwrap_or(f64::NAN),
                        max_speed: most["max_speed"].as_f64().unwrap_or(f64::NAN),
                        outside: now["escaped"].as_f64().unwrap_or(f64::NAN),
                        // The case's column: a = 2.25 in.
                        speed_limit: 3.0 * (2.0 * 9.81 * 2.0 * 0.05715f64).sqrt(),
                    }
                })
                .collect::<Vec<_>>();
            rows.push(time_to_solution_row(
                &name,
                &reached,
                out.timed_out.then_some(runs.time_limit),
            )?);
        }
        for &solver in &solvers {
            eprintln!("xtask: dam break to T = 3, SPlisHSPlasH {solver}, {label} particles");
            let mut command = Command::new(&python);
            command
                .arg(project_root().join("tests/bench/splishsplash_dam_break.py"))
                .args([solver, &n.to_string(), "--until", "2,3"])
                .env("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libGLdispatch.so.0");
            let out = output_within(&mut command, runs.time_limit)?;
            let lines = match json_lines(&out.stdout) {
                Ok(lines) => lines,
                Err(_) if out.timed_out => Vec::new(),
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("SPlisHSPlasH: {}", String::from_utf8_lossy(&out.stderr))
                    })
                }
            };
            let sampling = lines.first().and_then(|r| r["sampling"].as_str()).unwrap_or("dense");
            let label = format!(
                "SPlisHSPlasH 2.19 {}, {sampling} sampling, native CPU (OpenMP, 2 threads)",
                solver.to_uppercase()
            );
            let reached = lines
                .iter()
                .map(|r| Reached {
                    particles: r["particles"].as_f64().unwrap_or(f64::NAN),
                    steps: r["steps"].as_f64().unwrap_or(f64::NAN),
                    wall_s: r["wall_s"].as_f64().unwrap_or(f64::NAN),
                    scaled_time: r["T"].as_f64().unwrap_or(f64::NAN),
                    front: r["front"].as_f64().unwrap_or(f64::NAN),
                    max_speed: r["max_speed"].as_f64().unwrap_or(f64::NAN),
                    outside: r["outside"].as_f64().unwrap_or(f64::NAN),
                    // Its column: a = 1 m.
                    speed_limit: 3.0 * (2.0 * 9.81 * 2.0f64).sqrt(),
                })
                .collect::<Vec<_>>();
            rows.push(time_to_solution_row(
                &label,
                &reached,
                out.timed_out.then_some(runs.time_limit),
            )?);
        }
    }
    println!(
        "| solver | particles | steps to T = 2 | wall time to T = 2 (s) | to T = 3 (s) | M particle-steps/s | front Z at T = 2 (M&M 2.29) | at T = 3 (M&M 3.62) | fastest (m/s) / limit | outside | valid |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    Ok(())
}

/// Fluid particles of the dam-break case at `n` across (the column's block, 2n² on a lattice).
fn count_fluid(n: u64) -> f64 {
    let tank = flowscope_sph::tank::Tank { width: 6.0, height: 3.0, dx: 1.0 / n as f64, layers: 3 };
    tank.block_count(1.0, 2.0) as f64
}

/// A dam-break run at one of the scaled times it was asked to reach.
struct Reached {
    particles: f64,
    steps: f64,
    wall_s: f64,
    scaled_time: f64,
    front: f64,
    max_speed: f64,
    outside: f64,
    speed_limit: f64,
}

impl Reached {
    /// The front against Martin & Moyce at the time reached (relative error).
    fn front_error(&self) -> f64 {
        self.front / martin_moyce_front(self.scaled_time) - 1.0
    }

    fn valid(&self) -> bool {
        self.outside == 0.0 && self.max_speed < self.speed_limit && self.front_error().abs() <= 0.1
    }
}

/// Martin & Moyce's front Z at scaled time `t`, interpolated from Z = 1 at T = 0.
fn martin_moyce_front(t: f64) -> f64 {
    let mut points = vec![(0.0, 1.0)];
    points.extend(flowscope_sph::martin_moyce::SURGE_FRONT);
    let k = points.windows(2).position(|w| t <= w[1].0).unwrap_or(points.len() - 2);
    let ((t0, z0), (t1, z1)) = (points[k], points[k + 1]);
    z0 + (z1 - z0) * (t - t0) / (t1 - t0)
}

/// A table row from the runs at T = 2 and T = 3, or, for a run stopped at its time limit
/// (`stopped`), what it reached.
fn time_to_solution_row(
    name: &str,
    reached: &[Reached],
    stopped: Option<std::time::Duration>,
) -> Result<String> {
    let [two, three] = reached else {
        let Some(limit) = stopped else {
            bail!("{name}: expected reports at T = 2 and T = 3, got {}", reached.len());
        };
        let limit = limit.as_secs();
        let so_far = match reached.first() {
            Some(two) => format!("reached T = 2 in {:.1} s", two.wall_s),
            None => "did not reach T = 2".to_string(),
        };
        eprintln!("xtask: {name} stopped at the {limit} s limit; {so_far}");
        return Ok(format!(
            "| {name} | – | – | stopped after {limit} s: {so_far}, not T = 3 | – | – | – | – | – | – | **no** |"
        ));
    };
    let front = |r: &Reached| format!("{:.3} ({:+.1}%)", r.front, 100.0 * r.front_error());
    let valid = two.valid() && three.valid();
    Ok(format!(
        "| {name} | {:.0} | {:.0} | {:.1} | {:.1} | {:.3} | {} | {} | {:.2} / {:.2} | {:.0} | {} |",
        two.particles,
        two.steps,
        two.wall_s,
        three.wall_s,
        three.particles * three.steps / three.wall_s / 1e6,
        front(two),
        front(three),
        three.max_speed,
        three.speed_limit,
        three.outside,
        if valid { "yes" } else { "**no**" }
    ))
}

/// What a command printed, and whether it was stopped at its time limit.
struct Bounded {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    timed_out: bool,
}

/// Runs `command` to its end or to `limit`, whichever comes first (then kills it), keeping
/// what it printed.
fn output_within(command: &mut Command, limit: std::time::Duration) -> Result<Bounded> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = std::time::Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait()?;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let join = |h: std::thread::JoinHandle<Vec<u8>>| h.join().unwrap_or_default();
    Ok(Bounded { status, stdout: join(stdout), stderr: join(stderr), timed_out })
}

/// The JSON objects among a command's output lines, in order.
fn json_lines(stdout: &[u8]) -> Result<Vec<serde_json::Value>> {
    let lines: Vec<serde_json::Value> = std::str::from_utf8(stdout)?
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    if lines.is_empty() {
        bail!("printed no report");
    }
    Ok(lines)
}

/// Time to the first frame on localhost (median of five fresh browsers per backend) and the
/// downloaded files' sizes, raw and gzip -9.
fn site() -> Result<()> {
    let root = project_root();
    let chromium = setup::chromium()?;
    setup::playwright()?;
    let site = dist::build(&root.join("dist"), dist::Threaded::Required)?;
    let server = serve::start(&site, 0)?;
    let out = Command::new("node")
        .current_dir(root.join("tests/e2e"))
        .arg("load.mjs")
        .env("FLOWSCOPE_URL", format!("http://127.0.0.1:{}/", server.port))
        .env("CHROMIUM", chromium)
        .output()
        .context("running the load benchmark")?;
    if !out.status.success() {
        bail!("load benchmark failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let runs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;
    println!("| backend | first frame, median of 5 (ms) | DOMContentLoaded (ms) |\n|---|---|---|");
    for backend in ["cpu", "webgpu"] {
        let median = |key: &str| {
            let mut values: Vec<f64> = runs
                .iter()
                .filter(|r| r["backend"] == backend)
                .filter_map(|r| r[key].as_f64())
                .collect();
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
        };
        println!(
            "| {backend} | {:.0} | {:.0} |",
            median("firstFrameMs"),
            median("domContentLoadedMs")
        );
    }
    println!("\n| file | raw | gzip -9 |\n|---|---|---|");
    for file in ["pkg/flowscope_web_bg.wasm", "pkg/flowscope_web.js", "index.html", "style.css"] {
        let path = site.join(file);
        let raw = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let gzip = Command::new("gzip").args(["-9", "-c"]).arg(&path).output()?.stdout.len();
        println!(
            "| {file} | {:.0} KiB | {:.0} KiB |",
            raw.len() as f64 / 1024.0,
            gzip as f64 / 1024.0
        );
    }
    Ok(())
}

/// The benchmark UNet's forward latency: PyTorch (training/bench_nn.py, which also writes the
/// weights and the ONNX file) and our release CLI's `model bench` on both native backends, same
/// shapes; then the browser's runtimes.
fn nn(browser: bool) -> Result<()> {
    let root = project_root();
    let cli = build_cli()?;
    let file = root.join("target/bench-nn/unet.safetensors");
    std::fs::create_dir_all(file.parent().expect("a folder"))?;
    let out = Command::new(root.join("training/run"))
        .arg("bench_nn.py")
        .arg(&file)
        .output()
        .context("running training/run bench_nn.py")?;
    if !out.status.success() {
        bail!("PyTorch benchmark failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let torch: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    println!(
        "UNet, {} weights; PyTorch {} on the CPU ({} threads)\n",
        torch["parameters"], torch["torch"], torch["rows"][0]["threads"]
    );
    println!("| input (n, c, h, w) | PyTorch CPU ms | ours CPU ms | ratio | ours GPU ms (device) |\n|---|---|---|---|---|");
    for row in torch["rows"].as_array().into_iter().flatten() {
        let shape: Vec<String> =
            row["shape"].as_array().into_iter().flatten().map(|v| v.to_string()).collect();
        let shape = shape.join(",");
        let run = |backend: &str, seconds: &str| -> Result<serde_json::Value> {
            let out = Command::new(&cli)
                .args(["model", "bench"])
                .arg(&file)
                .args(["--shape", &shape, "--backend", backend, "--seconds", seconds])
                .output()?;
            if !out.status.success() {
                bail!(
                    "flowscope model bench failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            Ok(serde_json::from_slice(&out.stdout)?)
        };
        let cpu = run("cpu", "2")?;
        let gpu = run("gpu", "1").ok();
        let torch_ms = row["ms"].as_f64().unwrap_or(f64::NAN);
        let ours = cpu["ms"].as_f64().unwrap_or(f64::NAN);
        let gpu_text = gpu
            .map(|g| {
                format!(
                    "{:.1} ({})",
                    g["ms"].as_f64().unwrap_or(f64::NAN),
                    g["device"].as_str().unwrap_or("?")
                )
            })
            .unwrap_or_else(|| "—".into());
        println!("| {shape} | {torch_ms:.1} | {ours:.1} | {:.2}× | {gpu_text} |", ours / torch_ms);
    }
    if browser {
        let shapes: Vec<serde_json::Value> =
            torch["rows"].as_array().into_iter().flatten().map(|r| r["shape"].clone()).collect();
        nn_browser(&file, &shapes)?;
    }
    Ok(())
}

/// The UNet in headless Chromium (tests/e2e/bench_nn.mjs): our runtime on the CPU (wasm) and on
/// WebGPU against onnxruntime-web's wasm and WebGPU providers, served cross-origin isolated so
/// that onnxruntime-web may use threads.
fn nn_browser(model: &std::path::Path, shapes: &[serde_json::Value]) -> Result<()> {
    let root = project_root();
    let chromium = setup::chromium()?;
    setup::playwright()?;
    let ort = setup::onnxruntime_web()?;
    let site = dist::build(&root.join("dist"), dist::Threaded::Required)?;
    let bench = site.join("bench-nn");
    std::fs::create_dir_all(bench.join("ort"))?;
    std::fs::copy(model, bench.join("unet.safetensors"))?;
    std::fs::copy(model.with_extension("onnx"), bench.join("unet.onnx"))?;
    for entry in std::fs::read_dir(&ort)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let needed = name == "ort.all.min.js"
            || (name.starts_with("ort-wasm-simd-threaded") && !name.ends_with(".map"));
        if needed {
            std::fs::copy(ort.join(&name), bench.join("ort").join(&name))?;
        }
    }
    let server = serve::start_isolated(&site)?;
    let plan = serde_json::json!({ "shapes": shapes, "seconds": 2, "slow_s": 30 });
    eprintln!("xtask: the UNet in headless Chromium (software WebGPU can take minutes)");
    let report = node_bench("bench_nn.mjs", &server, &chromium, ("FLOWSCOPE_BENCH_NN", &plan))?;
    println!(
        "\nIn headless Chromium (cross-origin isolated: {}; our threaded build on {} thread(s), onnxruntime-web with {} wasm thread(s))\n",
        report["isolated"], report["our_threads"], report["ort_threads"]
    );
    println!("| input (n, c, h, w) | runtime | ms (median round) | rounds: min–max ms | runs | max deviation from ours (CPU), relative |\n|---|---|---|---|---|---|");
    for row in report["rows"].as_array().into_iter().flatten() {
        let shape: Vec<String> =
            row["shape"].as_array().into_iter().flatten().map(|v| v.to_string()).collect();
        let result = match (row["ms"].as_f64(), row["error"].as_str(), row["skipped"].as_str()) {
            (Some(ms), _, _) => {
                let spread = &row["spread"];
                format!(
                    "{ms:.1} | {}: {:.1}–{:.1} | {} | {:.1e}",
                    row["rounds"],
                    spread[0].as_f64().unwrap_or(f64::NAN),
                    spread[1].as_f64().unwrap_or(f64::NAN),
                    row["runs"],
                    row["rel_diff"].as_f64().unwrap_or(f64::NAN)
                )
            }
            (_, Some(error), _) => format!("failed: {error} | — | — | —"),
            (_, _, Some(why)) => format!("skipped: {why} | — | — | —"),
            _ => "— | — | — | —".into(),
        };
        println!("| {} | {} | {result} |", shape.join(","), row["runtime"].as_str().unwrap_or("?"));
    }
    Ok(())
}
