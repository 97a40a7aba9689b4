//! The `flowscope` command's contract: output folder layout, formats and error messages.

use std::path::Path;
use std::process::Command;

fn flowscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flowscope")).args(args).output().expect("runs")
}

fn read_npy(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).expect("valid npy");
    assert_eq!(npy.dtype(), npyz::DType::Plain("<f4".parse().unwrap()), "little-endian f32");
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec::<f32>().expect("f32 data"))
}

#[test]
fn run_writes_meta_observables_and_fields() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let result = flowscope(&[
        "run", "heat", "--set", "n=64", "--steps", "30", "--every", "10", "--out", out,
    ]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));

    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("meta.json")).unwrap())
            .unwrap();
    for key in ["case", "params", "backend", "steps", "time", "dt", "domain", "shape"] {
        assert!(meta.get(key).is_some(), "meta.json lacks '{key}'");
    }
    assert_eq!(meta["case"], "heat");
    assert_eq!(meta["backend"], "cpu");
    assert_eq!(meta["steps"], 30);
    assert_eq!(meta["params"]["n"], 64);
    assert_eq!(meta["shape"], serde_json::json!([64, 64]));
    assert_eq!(meta["domain"], serde_json::json!([[0.0, 1.0], [0.0, 1.0]]));
    let time = meta["time"].as_f64().unwrap();
    assert!((time - 30.0 * meta["dt"].as_f64().unwrap()).abs() < 1e-12);

    let csv = std::fs::read_to_string(dir.path().join("observables.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("t,step,mean,max,min"));
    let steps: Vec<&str> = lines.map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(steps, ["0", "10", "20", "30"]);

    for step in [10, 20, 30] {
        let (shape, data) = read_npy(&dir.path().join(format!("fields/temperature_{step}.npy")));
        assert_eq!(shape, [64, 64]);
        assert!(data.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn arrays_are_indexed_j_i_from_the_bottom_at_cell_centres() {
    // initial=mode is T = 0.5 + 0.5 sin(2πx) sin(2πy); at step 0 it is written unchanged.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let result = flowscope(&[
        "run",
        "heat",
        "--set",
        "n=32",
        "--set",
        "initial=mode",
        "--steps",
        "0",
        "--out",
        out,
    ]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let (shape, data) = read_npy(&dir.path().join("fields/temperature_0.npy"));
    assert_eq!(shape, [32, 32]);
    let tau = std::f64::consts::TAU;
    for (i, j) in [(3, 20), (20, 3), (7, 7)] {
        let (x, y) = ((i as f64 + 0.5) / 32.0, (j as f64 + 0.5) / 32.0);
        let expected = 0.5 + 0.5 * (tau * x).sin() * (tau * y).sin();
        assert!((data[j * 32 + i] as f64 - expected).abs() < 1e-6, "({i}, {j})");
    }
}

#[test]
fn bad_input_exits_non_zero_with_one_line_naming_the_range() {
    for (args, expected) in [
        (vec!["run", "nope"], "known cases: heat"),
        (vec!["run", "heat", "--set", "n=4096"], "allowed: integers 32 ..= 1024"),
        (vec!["run", "heat", "--set", "dt=NaN"], "allowed: 0.000001 ..= 1"),
        (vec!["run", "heat", "--set", "scheme=rk4"], "one of explicit, implicit"),
        (vec!["run", "heat", "--set", "speed=3"], "known parameters: n,"),
        (vec!["run", "heat", "--set", "n"], "NAME=VALUE"),
        (
            vec!["run", "heat", "--steps", "4294967296", "--every", "4294967296"],
            "at most 4294967295",
        ),
    ] {
        let result = flowscope(&args);
        assert_eq!(result.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn list_json_carries_the_parameter_schema() {
    let result = flowscope(&["list", "--json"]);
    assert!(result.status.success());
    let catalog: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let heat = &catalog[0];
    assert_eq!(heat["id"], "heat");
    let n = heat["params"].as_array().unwrap().iter().find(|p| p["name"] == "n").unwrap();
    assert_eq!((n["min"].as_i64(), n["max"].as_i64()), (Some(32), Some(1024)));
}

#[test]
fn gpu_and_cpu_runs_agree() {
    if flowscope_gpu::context_for_tests().is_none() {
        return;
    }
    let cpu = tempfile::tempdir().unwrap();
    let gpu = tempfile::tempdir().unwrap();
    for (dir, backend) in [(&cpu, "cpu"), (&gpu, "gpu")] {
        let out = dir.path().to_str().unwrap();
        let result = flowscope(&[
            "run",
            "heat",
            "--set",
            "n=64",
            "--steps",
            "50",
            "--backend",
            backend,
            "--out",
            out,
        ]);
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    }
    let (_, a) = read_npy(&cpu.path().join("fields/temperature_50.npy"));
    let (_, b) = read_npy(&gpu.path().join("fields/temperature_50.npy"));
    let max = a.iter().zip(&b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(max < 1e-5, "cpu and gpu differ by {max}");
}

/// The Hasegawa–Wakatani contract: the four statistics under their names at every `--every`
/// step, its three views, dt at hw2d's 0.025 unless asked, and a bad grid refused.
#[test]
fn hasegawa_wakatani_writes_its_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let result = flowscope(&[
        "run",
        "hasegawa-wakatani",
        "--set",
        "c1=1",
        "--set",
        "n=64",
        "--set",
        "seed=7",
        "--steps",
        "40",
        "--every",
        "20",
        "--out",
        out,
    ]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let csv = std::fs::read_to_string(dir.path().join("observables.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("t,step,gamma_n,gamma_c,energy,enstrophy"));
    let rows: Vec<Vec<f64>> =
        lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    assert_eq!(rows.iter().map(|r| r[1]).collect::<Vec<_>>(), [0.0, 20.0, 40.0]);
    assert!((rows[2][0] - 1.0).abs() < 1e-9, "t = 40 × 0.025");
    assert!(rows.iter().flatten().all(|v| v.is_finite()));
    for name in ["density", "potential", "vorticity"] {
        let (shape, _) = read_npy(&dir.path().join(format!("fields/{name}_40.npy")));
        assert_eq!(shape, [64, 64], "{name}");
    }
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["params"]["seed"], 7);
    let bad = flowscope(&["run", "hasegawa-wakatani", "--set", "n=2048", "--steps", "1"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("64 ..= 512"));
}

#[test]
fn flow_cases_write_scalar_and_vector_views() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let result = flowscope(&["run", "lid-cavity", "--set", "n=32", "--steps", "20", "--out", out]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    for name in ["speed", "vorticity", "pressure", "velocity_x", "velocity_y"] {
        let (shape, data) = read_npy(&dir.path().join(format!("fields/{name}_20.npy")));
        assert_eq!(shape, [32, 32], "{name}");
        assert!(data.iter().any(|v| *v != 0.0), "{name} is all zero after 20 steps");
    }
    let csv = std::fs::read_to_string(dir.path().join("observables.csv")).unwrap();
    assert!(csv.starts_with("t,step,kinetic_energy,max_divergence,pressure_iterations"));
}

#[test]
fn a_grid_case_runs_on_the_gpu_and_writes_the_same_files() {
    if flowscope_gpu::context_for_tests().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let args = ["run", "smoke-plume", "--backend", "gpu", "--set", "n=32", "--steps", "10"];
    let result = flowscope(&[&args[..], &["--out", out]].concat());
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["backend"], "gpu", "{meta}");
    let (shape, smoke) = read_npy(&dir.path().join("fields/smoke_10.npy"));
    assert_eq!(shape, [32, 32]);
    assert!(smoke.iter().any(|s| *s > 0.5), "the source has filled in smoke");
}

#[test]
fn a_preset_sets_parameters_and_set_applies_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let args = ["run", "lid-cavity", "--preset", "ghia-400", "--set", "n=16", "--steps", "1"];
    let result = flowscope(&[&args[..], &["--out", out]].concat());
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["params"]["Re"], 400.0);
    assert_eq!(meta["params"]["n"], 16);
    let result = flowscope(&["run", "lid-cavity", "--preset", "nope", "--out", out]);
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("no preset 'nope'"));
}

fn nn_fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/nn/models").join(name)
}

#[test]
fn model_info_reports_config_parameters_and_tensors() {
    let file = nn_fixture("unet_small.safetensors");
    let result = flowscope(&["model", "info", "--json", file.to_str().unwrap()]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let report: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    assert_eq!(report["config"]["family"], "unet");
    assert_eq!(report["parameters"], 33258);
    assert!(report["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "mid_attn.qkv.weight"));
}

/// A `--shape` that does not fit the model is one line, never a panic or a huge allocation.
#[test]
fn model_bench_refuses_shapes_that_do_not_fit() {
    let file = nn_fixture("unet_small.safetensors");
    for (shape, expected) in
        [("1,3", "four sizes"), ("1,0,8,8", "at least 1"), ("65536,65536,65536,65536", "values")]
    {
        let result = flowscope(&["model", "bench", file.to_str().unwrap(), "--shape", shape]);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{shape}: {stderr}");
        assert!(stderr.contains(expected) && !stderr.contains("panicked"), "{shape}: {stderr}");
    }
}

#[test]
fn model_run_writes_what_pytorch_computed() {
    let dir = tempfile::tempdir().unwrap();
    let io = std::fs::read(nn_fixture("mlp_smdp.io.safetensors")).unwrap();
    let mut io = flowscope_nn::Weights::from_bytes(&io).unwrap();
    let (x, y) = (io.take_any("x").unwrap(), io.take_any("y").unwrap());
    let input = dir.path().join("x.npy");
    let field = flowscope_core::Field2 { nx: x.shape[1], ny: x.shape[0], data: x.data };
    std::fs::write(&input, field.to_npy()).unwrap();
    let out = dir.path().join("y.npy");
    let model = nn_fixture("mlp_smdp.safetensors");
    let args = ["model", "run", model.to_str().unwrap(), "--input", input.to_str().unwrap()];
    let result = flowscope(&[&args[..], &["--out", out.to_str().unwrap()]].concat());
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let (shape, data) = read_npy(&out);
    assert_eq!(shape, [5, 1]);
    for (a, b) in data.iter().zip(&y.data) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs PyTorch {b}");
    }
    if flowscope_gpu::context_for_tests().is_some() {
        let gpu = [&args[..], &["--backend", "gpu", "--out", out.to_str().unwrap()]].concat();
        let result = flowscope(&gpu);
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        let (_, on_gpu) = read_npy(&out);
        for (a, b) in on_gpu.iter().zip(&y.data) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "GPU {a} vs PyTorch {b}");
        }
    }
    let result = flowscope(&["model", "info", input.to_str().unwrap()]);
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("model file"));
}

/// Particle cases (contract): positions as f32 [N, d], each view as f32 [N] in the same order,
/// the particles in meta.json; the dam break's `a` and `g`, its front in metres; the shock
/// tube's states.
#[test]
fn particle_cases_write_positions_views_and_their_particles() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let args = ["run", "dam-break", "--set", "n=8", "--set", "a=0.1", "--set", "g=5"];
    let result =
        flowscope(&[&args[..], &["--steps", "40", "--every", "20", "--out", out]].concat());
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("meta.json")).unwrap())
            .unwrap();
    let n = meta["particles"].as_u64().unwrap();
    assert_eq!(n, 2 * 8 * 8);
    assert_eq!(
        meta["domain"],
        serde_json::json!([[0.0, 0.6000000000000001], [0.0, 0.30000000000000004]])
    );
    assert!(meta["particle_mass"].as_f64().unwrap() > 0.0);
    assert!((meta["smoothing_length"].as_f64().unwrap() - 1.3 * 0.1 / 8.0).abs() < 1e-9);
    assert_eq!(meta["equation_of_state"]["gamma"], 7.0);
    let (shape, positions) = read_npy(&dir.path().join("fields/position_40.npy"));
    assert_eq!(shape, [n, 2]);
    assert!(positions.chunks(2).all(|p| (-0.02..0.62).contains(&p[0]) && p[1] > -0.02));
    for view in ["speed", "pressure", "density", "neighbours"] {
        let (shape, values) = read_npy(&dir.path().join(format!("fields/{view}_40.npy")));
        assert_eq!(shape, [n], "{view}");
        assert!(values.iter().all(|v| v.is_finite()), "{view}");
    }
    // The front column, in metres: the largest x of the positions written at that step.
    let csv = std::fs::read_to_string(dir.path().join("observables.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = header.iter().position(|h| *h == "front").expect("a front column");
    let last: Vec<f64> =
        csv.lines().last().unwrap().split(',').map(|v| v.parse().unwrap()).collect();
    let largest = positions.chunks(2).map(|p| f64::from(p[0])).fold(0.0, f64::max);
    assert!((last[column] - largest).abs() < 1e-6, "front {} vs {largest}", last[column]);
    let scaled = header.iter().position(|h| *h == "front_scaled").expect("a scaled front");
    assert!((last[scaled] - last[column] / 0.1).abs() < 1e-9, "Z = front / a");

    // The shock tube with other states: 1D positions, the four views.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let states = ["rho_l=2", "u_l=0.5", "p_l=3", "rho_r=0.5", "u_r=0", "p_r=0.2"];
    let mut args = vec!["run", "sod-shock-tube", "--set", "n=160"];
    for state in &states {
        args.extend(["--set", state]);
    }
    args.extend(["--steps", "10", "--every", "10", "--out", out]);
    let result = flowscope(&args);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["params"]["rho_l"], 2.0);
    assert_eq!(meta["particles"], 160 + 40);
    assert_eq!(meta["equation_of_state"]["gamma"], 1.4);
    let (shape, _) = read_npy(&dir.path().join("fields/position_10.npy"));
    assert_eq!(shape, [200, 1]);
    for view in ["density", "velocity", "pressure", "energy"] {
        let (shape, values) = read_npy(&dir.path().join(format!("fields/{view}_10.npy")));
        assert_eq!(shape, [200], "{view}");
        let expected = match view {
            "density" => 2.0,
            "velocity" => 0.5,
            "pressure" => 3.0,
            _ => 3.0 / (0.4 * 2.0),
        };
        // Left of the diaphragm, away from it and the wall, the state given.
        assert!((values[80] - expected).abs() < 0.02 * expected, "{view}: {}", values[80]);
    }
}

#[test]
fn bench_until_reports_each_time_reached_and_refuses_bad_targets() {
    let out = flowscope(&[
        "bench",
        "dam-break",
        "--set",
        "n=12",
        "--set",
        "solver=dfsph",
        "--until",
        "scaled_time=0.5,1",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "a line per time");
    let mut previous_steps = 0;
    for (line, target) in lines.iter().zip([0.5, 1.0]) {
        let reached = line["observables"]["scaled_time"].as_f64().unwrap();
        assert!(reached >= target && reached < target + 0.1, "{reached} for {target}");
        let steps = line["steps"].as_u64().unwrap();
        assert!(steps > previous_steps);
        previous_steps = steps;
        assert!(line["wall_s"].as_f64().unwrap() > 0.0);
        assert_eq!(line["observables"]["escaped"].as_f64(), Some(0.0));
        let fastest = line["observables_max"]["max_speed"].as_f64().unwrap();
        assert!(fastest >= line["observables"]["max_speed"].as_f64().unwrap() && fastest < 2.0);
    }
    for (until, message) in [
        ("nothing=1", "has no observable nothing"),
        ("scaled_time=2,1", "must increase"),
        ("scaled_time", "NAME=VALUE"),
    ] {
        let out = flowscope(&["bench", "dam-break", "--set", "n=12", "--until", until]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(message), "{until}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}
