//! `flowscope sample acdm-wake` (contract): samples and the solver's truth in the documented
//! shapes, reproducible from the seed, and one line for bad input. Runs on the tiny fixture
//! models of tests/fixtures/acdm (trained for a few steps on a 32 × 16 wake: their samples are
//! not good wakes, the contract is what is checked).

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/acdm")
}

fn sample(out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flowscope"))
        .args(["sample", "acdm-wake", "--rollout", "3", "--models"])
        .arg(fixtures())
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("runs")
}

fn read_npy(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).expect("valid npy");
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec::<f32>().expect("f32 data"))
}

#[test]
fn samples_and_truth_in_the_contract_shapes_reproducible_from_the_seed() {
    let root = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let out = root.path().join(name);
        let result = sample(&out, extra);
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        out
    };
    let a = run("a", &["--set", "Re=150", "--samples", "2", "--seed", "4"]);
    let (shape, samples) = read_npy(&a.join("samples.npy"));
    assert_eq!(shape, [2, 3, 3, 16, 32], "[K, N, C, H, W]");
    assert!(samples.iter().all(|v| v.is_finite()));
    let (truth_shape, truth) = read_npy(&a.join("truth.npy"));
    assert_eq!(truth_shape, [3, 3, 16, 32]);
    assert!(truth.iter().all(|v| v.is_finite()) && truth.iter().any(|&v| v != 0.0));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["channels"], serde_json::json!(["vx", "vy", "p"]));
    assert_eq!((meta["model"].as_str(), meta["sampler"].as_str()), (Some("acdm"), Some("ddpm")));
    assert_eq!(meta["steps"], 20);
    assert_eq!(meta["Re"], 150.0);
    assert_eq!(meta["frame_stride"], 2);
    assert_eq!(meta["sha256"].as_str().unwrap().len(), 64);
    let per_sample = samples.len() / 2;
    assert!(samples[..per_sample] != samples[per_sample..], "two samples differ");

    let again = run("again", &["--set", "Re=150", "--samples", "2", "--seed", "4"]);
    assert_eq!(
        std::fs::read(a.join("samples.npy")).unwrap(),
        std::fs::read(again.join("samples.npy")).unwrap()
    );
    let other = run("other", &["--set", "Re=150", "--samples", "2", "--seed", "5"]);
    assert_ne!(
        std::fs::read(a.join("samples.npy")).unwrap(),
        std::fs::read(other.join("samples.npy")).unwrap()
    );

    let ddim =
        run("ddim", &["--set", "Re=150", "--samples", "2", "--sampler", "ddim", "--steps", "5"]);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ddim.join("meta.json")).unwrap()).unwrap();
    assert_eq!((meta["sampler"].as_str(), meta["steps"].as_u64()), (Some("ddim"), Some(5)));

    let unet = run("unet", &["--set", "Re=150", "--samples", "4", "--model", "unet"]);
    assert_eq!(read_npy(&unet.join("samples.npy")).0, [1, 3, 3, 16, 32], "K = 1 for the unet");
}

#[test]
fn bad_input_exits_non_zero_with_one_line() {
    let root = tempfile::tempdir().unwrap();
    // A model file that does not match its manifest entry.
    let tampered = root.path().join("models");
    std::fs::create_dir_all(&tampered).unwrap();
    for name in ["manifest.json", "acdm-wake.safetensors", "acdm-wake-unet.safetensors"] {
        std::fs::copy(fixtures().join(name), tampered.join(name)).unwrap();
    }
    let mut bytes = std::fs::read(tampered.join("acdm-wake.safetensors")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(tampered.join("acdm-wake.safetensors"), bytes).unwrap();
    let out = root.path().join("out");
    let out = out.to_str().unwrap();
    let tampered = tampered.to_str().unwrap();
    let fixtures = fixtures();
    let fixtures = fixtures.to_str().unwrap();
    for (args, expected) in [
        (vec!["--set", "Re=150", "--model", "gan"], "unknown model 'gan'"),
        (vec!["--set", "Re=0"], "Re must be positive"),
        (vec!["--set", "Re=-3"], "Re must be positive"),
        (vec!["--set", "Re=abc"], "Re must be a number"),
        (vec![], "--set Re="),
        (vec!["--set", "Re=150", "--samples", "0"], "at least 1"),
        (vec!["--set", "Re=150", "--sampler", "euler"], "unknown sampler"),
        (
            vec!["--set", "Re=150", "--sampler", "ddim", "--steps", "50"],
            "DDIM steps must be 1 to 20",
        ),
        (vec!["--set", "Re=5000"], "10 … 1000"),
        (vec!["--set", "Re=150", "--set", "bogus=1"], "has no option 'bogus'"),
        (vec!["--set", "Re=150", "--models", tampered], "does not match its manifest entry"),
        (
            vec!["--set", "Re=150", "--models", "/nonexistent"],
            "cannot read /nonexistent/manifest.json",
        ),
    ] {
        let models = if args.contains(&"--models") { vec![] } else { vec!["--models", fixtures] };
        let result = Command::new(env!("CARGO_BIN_EXE_flowscope"))
            .args(["sample", "acdm-wake", "--rollout", "2", "--out", out])
            .args(&models)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(result.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let result = Command::new(env!("CARGO_BIN_EXE_flowscope"))
        .args([
            "sample",
            "acdm-wake",
            "--set",
            "Re=150",
            "--out",
            "/proc/no/such",
            "--models",
            fixtures,
        ])
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("cannot create /proc/no/such"));
    let result = Command::new(env!("CARGO_BIN_EXE_flowscope"))
        .args(["sample", "smoke-plume", "--set", "Re=150", "--out", out])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&result.stderr).contains("known: acdm-wake"));
}

#[test]
fn eval_writes_its_section_and_plots_and_replaces_them_on_a_rerun() {
    let root = tempfile::tempdir().unwrap();
    let doc = root.path().join("MODELS.md");
    std::fs::write(&doc, "# Learned models\n\nText before.\n").unwrap();
    let plots = root.path().join("models");
    let eval = || {
        let result = Command::new(env!("CARGO_BIN_EXE_flowscope"))
            .args([
                "eval",
                "acdm",
                "--re",
                "150",
                "--samples",
                "2",
                "--rollout",
                "2",
                "--long",
                "8",
            ])
            .arg("--models")
            .arg(fixtures())
            .arg("--doc")
            .arg(&doc)
            .arg("--plots")
            .arg(&plots)
            .output()
            .unwrap();
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        std::fs::read_to_string(&doc).unwrap()
    };
    let first = eval();
    assert!(first.starts_with("# Learned models\n\nText before.\n"));
    assert!(first.contains("| 150 |") && first.contains("![rollout error](models/acdm-mse.svg)"));
    for plot in ["acdm-mse.svg", "acdm-spread.svg"] {
        assert!(std::fs::read_to_string(plots.join(plot)).unwrap().starts_with("<svg"));
    }
    let second = eval();
    assert_eq!(second.matches("flowscope eval acdm: begin").count(), 1, "replaced, not appended");
    assert_eq!(second.matches("## Evaluation: acdm-wake").count(), 1);
}

#[test]
fn the_gpu_draws_the_samples_the_cpu_draws() {
    if flowscope_gpu::context_for_tests().is_none() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for backend in ["cpu", "gpu"] {
        for model in ["acdm", "unet"] {
            let out = root.path().join(format!("{backend}-{model}"));
            let result = sample(
                &out,
                &["--set", "Re=150", "--samples", "2", "--model", model, "--backend", backend],
            );
            assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
            outputs.push(read_npy(&out.join("samples.npy")).1);
        }
    }
    for (k, model) in ["acdm", "unet"].iter().enumerate() {
        let (cpu, gpu) = (&outputs[k], &outputs[k + 2]);
        let scale = cpu.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let diff = cpu.iter().zip(gpu).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        // Three frames of 20 noise-predictor calls each: the networks agree to 1e-4.
        assert!(diff <= 1e-4 * scale, "{model}: cpu and gpu differ by {diff} (scale {scale})");
    }
}

/// `flowscope sample smdp-toy` (contract) with the shipped score: x0 of K particles, the
/// same for the same seed, different for another, the ODE reproducible too; bad
/// input is one line.
#[test]
fn smdp_toy_samples_x0_in_the_contract_shape() {
    let root = tempfile::tempdir().unwrap();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../public/models");
    let toy = |name: &str, extra: &[&str]| {
        let out = root.path().join(name);
        let result = Command::new(env!("CARGO_BIN_EXE_flowscope"))
            .args(["sample", "smdp-toy", "--models"])
            .arg(&models)
            .arg("--out")
            .arg(&out)
            .args(extra)
            .output()
            .expect("runs");
        (out, result)
    };
    let x0 = |out: &Path| {
        let (shape, values) = read_npy(&out.join("x0.npy"));
        assert_eq!(shape, [50]);
        assert!(values.iter().all(|v| v.is_finite()));
        values
    };
    let (a, result) = toy("a", &["--samples", "50", "--seed", "3"]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let (b, _) = toy("b", &["--samples", "50", "--seed", "3"]);
    let (c, _) = toy("c", &["--samples", "50", "--seed", "4"]);
    assert_eq!(x0(&a), x0(&b), "the same seed, the same samples");
    assert_ne!(x0(&a), x0(&c));
    let ode = |name: &str, seed: &str| {
        let (out, result) = toy(name, &["--samples", "50", "--method", "ode", "--seed", seed]);
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        out
    };
    // The seed chooses the forward run; from the same ends, the ODE's map is fixed.
    assert_eq!(x0(&ode("ode-a", "3")), x0(&ode("ode-b", "3")));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("meta.json")).unwrap()).unwrap();
    assert_eq!((meta["method"].as_str(), meta["samples"].as_u64()), (Some("sde"), Some(50)));
    assert_eq!(meta["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(read_npy(&a.join("ends.npy")).0, [50]);

    for (extra, message) in [
        (&["--samples", "0"][..], "--samples must be at least 1"),
        (&["--method", "euler"][..], "method must be 'sde' or 'ode'"),
        (&["--backend", "gpu"][..], "use --backend cpu"),
    ] {
        let (_, result) = toy("bad", extra);
        assert!(!result.status.success(), "{extra:?} must fail");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
}

/// `flowscope sample smdp-heat` (contract) with the shipped model, on both backends: truth,
/// observation and K samples in the contract shapes, finite, the same per seed, different for
/// another, the GPU's samples the CPU's; the samples' mean is nearer the truth than the naive
/// inverse of the same clip; bad input is one line.
#[test]
fn smdp_heat_samples_in_the_contract_shape_on_both_backends() {
    let root = tempfile::tempdir().unwrap();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../public/models");
    let heat = |name: &str, extra: &[&str]| {
        let out = root.path().join(name);
        let result = Command::new(env!("CARGO_BIN_EXE_flowscope"))
            .args(["sample", "smdp-heat", "--models"])
            .arg(&models)
            .arg("--out")
            .arg(&out)
            .args(extra)
            .output()
            .expect("runs");
        (out, result)
    };
    let samples = |out: &Path| {
        let (shape, values) = read_npy(&out.join("samples.npy"));
        assert_eq!(shape, [4, 32, 32]);
        assert!(values.iter().all(|v| v.is_finite()));
        values
    };
    let (a, result) = heat("a", &["--samples", "4", "--seed", "3"]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let (b, _) = heat("b", &["--samples", "4", "--seed", "3"]);
    let (c, _) = heat("c", &["--samples", "4", "--seed", "4"]);
    assert_eq!(samples(&a), samples(&b), "the same seed, the same samples");
    assert_ne!(samples(&a), samples(&c));
    let first = samples(&a);
    assert_ne!(first[..1024], first[1024..2048], "the samples differ from each other");
    for name in ["truth.npy", "observation.npy"] {
        assert_eq!(read_npy(&a.join(name)).0, [32, 32], "{name}");
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("meta.json")).unwrap()).unwrap();
    assert_eq!((meta["diffusivity"].as_f64(), meta["steps"].as_u64()), (Some(1.0), Some(20)));
    assert_eq!((meta["t_end"].as_f64(), meta["noise"].as_f64()), (Some(0.2), Some(0.1)));
    assert_eq!(meta["model_file"].as_str(), Some("smdp-heat.safetensors"));
    assert_eq!(meta["sha256"].as_str().unwrap().len(), 64);
    let mse = &meta["mse"];
    let (mean, naive) =
        (mse["sample_mean"].as_f64().unwrap(), mse["naive_inverse"].as_f64().unwrap());
    assert!(mean < naive, "the samples' mean {mean} against the naive inverse's {naive}");

    let (gpu, result) = heat("gpu", &["--samples", "4", "--seed", "3", "--backend", "gpu"]);
    if result.status.success() {
        let error = samples(&gpu).iter().zip(&first).fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(error < 1e-3, "the GPU's samples are the CPU's to {error}");
    } else {
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.contains("--backend gpu:"), "no adapter is the only excuse: {stderr}");
    }
    let (ode_a, _) = heat("ode-a", &["--samples", "4", "--method", "ode", "--seed", "3"]);
    let ode = samples(&ode_a);
    assert_eq!(ode[..1024], ode[1024..2048], "the ODE draws no noise");

    for (extra, message) in [
        (&["--samples", "0"][..], "--samples must be 1 to 64"),
        (&["--method", "euler"][..], "method must be 'sde' or 'ode'"),
    ] {
        let (_, result) = heat("bad", extra);
        assert!(!result.status.success(), "{extra:?} must fail");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
}

/// `flowscope sample airfoil-uncertainty` (contract) with the shipped flow-matching model:
/// samples and the solver's statistics in the contract shapes, the same per seed; the truth
/// from a dataset that holds the condition equals the truth simulated on the fly; bad input is
/// one line.
#[test]
fn airfoil_uncertainty_samples_and_truth_in_the_contract_shapes() {
    let root = tempfile::tempdir().unwrap();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../public/models");
    let data = root.path().join("data");
    let generated = Command::new(env!("CARGO_BIN_EXE_flowscope"))
        .args(["generate", "airfoil-uncertainty", "--set", "u_train=", "--set", "u_test=1.0"])
        .arg("--out")
        .arg(&data)
        .output()
        .expect("runs");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let airfoil = |name: &str, extra: &[&str], with_data: bool| {
        let out = root.path().join(name);
        let mut command = Command::new(env!("CARGO_BIN_EXE_flowscope"));
        command.args(["sample", "airfoil-uncertainty", "--models"]).arg(&models);
        command.arg("--data").arg(if with_data { data.clone() } else { root.path().join("none") });
        let result = command.arg("--out").arg(&out).args(extra).output().expect("runs");
        (out, result)
    };
    let quick = ["--model", "flow-matching", "--steps", "4", "--samples", "3", "--set", "u=1.0"];
    let (a, result) = airfoil("a", &[&quick[..], &["--seed", "5"]].concat(), true);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let (shape, samples) = read_npy(&a.join("samples.npy"));
    assert_eq!(shape, [3, 3, 32, 32]);
    assert!(samples.iter().all(|v| v.is_finite()));
    let (b, _) = airfoil("b", &[&quick[..], &["--seed", "5"]].concat(), false);
    assert_eq!(read_npy(&b.join("samples.npy")).1, samples, "the same seed, the same samples");
    for name in ["truth_mean.npy", "truth_std.npy"] {
        let (shape, values) = read_npy(&a.join(name));
        assert_eq!(shape, [3, 32, 32], "{name}");
        assert_eq!(read_npy(&b.join(name)).1, values, "{name}: the dataset's is the simulated one");
    }
    let meta = |dir: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap()
    };
    let (ma, mb) = (meta(&a), meta(&b));
    assert_eq!(ma["channels"], serde_json::json!(["p", "ux", "uy"]));
    assert_eq!(ma["grid"], serde_json::json!([32, 32]));
    assert_eq!((ma["model"].as_str(), ma["steps"].as_u64()), (Some("flow-matching"), Some(4)));
    assert_eq!(ma["sha256"].as_str().unwrap().len(), 64);
    assert_eq!((ma["seed"].as_u64(), ma["solver_snapshots"].as_u64()), (Some(5), Some(25)));
    assert_eq!(
        (ma["truth"].as_str(), mb["truth"].as_str()),
        (Some("from the dataset"), Some("simulated now"))
    );

    for (extra, message) in [
        (&["--set", "u=abc"][..], "u must be a number"),
        (&["--set", "u=100"][..], "the solver covers Re 10–5000"),
        (&["--set", "u=1", "--model", "gan"][..], "unknown model 'gan'"),
        (&["--set", "u=1", "--samples", "0"][..], "--samples must be 1 to 256"),
        (
            &["--set", "u=1", "--model", "flow-matching", "--steps", "0"][..],
            "flow matching takes 1 to 1000 steps",
        ),
        (&["--set", "u=1", "--set", "naca=12"][..], "not a four-digit NACA code"),
        (&["--set", "u=1", "--set", "re=3"][..], "no setting 're'"),
        (&["--samples", "2"][..], "give the speed"),
    ] {
        let (_, result) = airfoil("bad", extra, true);
        assert!(!result.status.success(), "{extra:?} must fail");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
}
