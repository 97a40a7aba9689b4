//! `flowscope train` (contract): losses.csv, controller.safetensors and meta.json, the same for
//! the same seed, and bad input refused in one line.

use std::process::Command;

fn flowscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flowscope")).args(args).output().expect("runs")
}

/// A small run of the cart-pole problem into `out`.
fn train(out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "bptt-cartpole",
        "--set",
        "poles=2",
        "--set",
        "samples=16",
        "--set",
        "width=16",
        "--set",
        "clip=norm",
        "--epochs",
        "2",
        "--seed",
        "3",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    flowscope(&args)
}

#[test]
fn train_writes_losses_controller_and_meta_and_replays_its_seed() {
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [&first, &second] {
        let result = train(dir.path().to_str().unwrap(), &[]);
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    }
    let csv = std::fs::read_to_string(first.path().join("losses.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("epoch,train_loss,test_loss,grad_norm,cosine_pf,seconds"));
    let rows: Vec<Vec<f64>> =
        lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0][0], rows[1][0]), (1.0, 2.0));
    assert!(rows.iter().all(|r| r.len() == 6 && r.iter().all(|v| v.is_finite())));
    assert!(rows.iter().all(|r| (0.0..=2.0).contains(&r[2]) && r[3] > 0.0 && r[4].abs() <= 1.0));

    // The same seed: the same numbers (all but the wall seconds) and the same controller.
    let other = std::fs::read_to_string(second.path().join("losses.csv")).unwrap();
    let strip = |text: &str| -> Vec<String> {
        text.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect()
    };
    assert_eq!(strip(&csv), strip(&other));
    let controller = std::fs::read(first.path().join("controller.safetensors")).unwrap();
    assert_eq!(controller, std::fs::read(second.path().join("controller.safetensors")).unwrap());
    let (_, model) = flowscope_nn::Model::from_bytes(&controller).expect("an nn MLP file");
    let state = flowscope_nn::Tensor::new(vec![1, 6], vec![0.0, 0.0, 3.1, 0.0, 3.2, 0.0]).unwrap();
    assert!(model.forward(&state, None, None).unwrap().data[0].is_finite());

    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(first.path().join("meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["problem"], "bptt-cartpole");
    assert_eq!(meta["epochs"], 2);
    assert_eq!(meta["params"]["poles"], 2);
    assert_eq!(meta["params"]["seed"], 3);
    assert_eq!(meta["params"]["clip"], "norm");
    assert!((meta["final"]["test_loss"].as_f64().unwrap() - rows[1][2]).abs() < 1e-12);
    assert!(meta["command"].as_str().unwrap().starts_with("flowscope train bptt-cartpole"));

    // Training on from the controller written: the first epoch starts where the run ended.
    let resumed = tempfile::tempdir().unwrap();
    let init = first.path().join("controller.safetensors");
    let result = train(resumed.path().to_str().unwrap(), &["--init", init.to_str().unwrap()]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(resumed.path().join("meta.json")).unwrap())
            .unwrap();
    let initial = meta["initial_test_loss"].as_f64().unwrap();
    assert!((initial - rows[1][2]).abs() < 1e-5, "{initial} vs {}", rows[1][2]);
}

#[test]
fn guidance_trains_through_the_same_contract() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let result = flowscope(&[
        "train",
        "bptt-guidance",
        "--set",
        "drivers=2",
        "--set",
        "evaders=3",
        "--set",
        "samples=16",
        "--set",
        "width=8",
        "--set",
        "mode=F",
        "--epochs",
        "1",
        "--out",
        out,
    ]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let csv = std::fs::read_to_string(dir.path().join("losses.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2);
    let bytes = std::fs::read(dir.path().join("controller.safetensors")).unwrap();
    let (config, _) = flowscope_nn::Model::from_bytes(&bytes).unwrap();
    let widths = serde_json::to_value(&config).unwrap()["widths"].clone();
    assert_eq!(widths, serde_json::json!([20, 8, 8, 4]), "5 agents in, 2 drivers' forces out");
}

#[test]
fn quantum_trains_its_cnn_through_the_same_contract_and_goes_on_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("first");
    let quantum = |out: &std::path::Path, init: Option<&std::path::Path>| {
        let mut args = vec!["train", "bptt-quantum"];
        for set in ["target=4", "samples=8", "width=6", "mode=C", "clip=norm"] {
            args.extend(["--set", set]);
        }
        if let Some(init) = init {
            args.extend(["--init", init.to_str().unwrap()]);
        }
        args.extend(["--epochs", "1", "--out", out.to_str().unwrap()]);
        let result = flowscope(&args);
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("meta.json")).unwrap()).unwrap();
        meta["final"]["test_loss"].as_f64().unwrap()
    };
    let first = quantum(&out, None);
    let controller = out.join("controller.safetensors");
    let (cnn, extra) =
        flowscope_control::Cnn::from_safetensors(&std::fs::read(&controller).unwrap()).unwrap();
    assert_eq!((cnn.points, cnn.width, cnn.outputs), (32, 6, 1));
    assert_eq!(extra["model"], "bptt-quantum");
    let second = quantum(&dir.path().join("second"), Some(&controller));
    assert!(second < first, "an epoch more from the first run's controller: {first} -> {second}");
    // A quantum controller is no cart-pole controller.
    let result = flowscope(&[
        "train",
        "bptt-cartpole",
        "--init",
        controller.to_str().unwrap(),
        "--out",
        dir.path().join("third").to_str().unwrap(),
    ]);
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("not a tanh MLP"));
}

#[test]
fn train_refuses_bad_input_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["train", "bptt-pendulum", "--out", out], "unknown problem"),
        (&["train", "bptt-guidance", "--set", "poles=2", "--out", out], "unknown parameter"),
        (&["train", "bptt-cartpole", "--set", "mode=X", "--out", out], "mode"),
        (&["train", "bptt-cartpole", "--set", "lr=0", "--out", out], "out of range"),
        (&["train", "bptt-cartpole", "--set", "lr=NaN", "--out", out], "lr"),
        (&["train", "bptt-cartpole", "--set", "poles=5", "--out", out], "1 ..= 4"),
        (&["train", "bptt-cartpole", "--epochs", "0", "--out", out], "--epochs"),
        (&["train", "bptt-quantum", "--set", "target=9", "--out", out], "out of range"),
        (
            &["train", "bptt-cartpole", "--init", "/nonexistent.safetensors", "--out", out],
            "reading",
        ),
    ];
    for (args, expected) in cases {
        let result = flowscope(args);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
}
