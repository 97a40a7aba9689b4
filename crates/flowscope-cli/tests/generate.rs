//! `flowscope generate` (contract): a dataset made by two shard processes at once is byte for
//! byte the one a single process makes, runs already present are kept, and bad input is one line.

use std::path::Path;
use std::process::Command;

/// A tiny acdm-wake: three runs at 32 × 16 cells, three frames each.
const TINY: &[&str] = &[
    "--seed",
    "3",
    "--set",
    "n=16",
    "--set",
    "out=8",
    "--set",
    "re_train=200,400",
    "--set",
    "re_test=150",
    "--set",
    "warmup=1",
    "--set",
    "frames=3",
];

fn generate(out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flowscope"));
    command.args(["generate", "acdm-wake", "--out"]).arg(out).args(TINY).args(extra);
    command
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    for split in ["train", "test"] {
        let mut names: Vec<_> = std::fs::read_dir(dir.join(split))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        for name in names {
            let bytes = std::fs::read(dir.join(split).join(&name)).unwrap();
            found.push((format!("{split}/{name}"), bytes));
        }
    }
    found
}

/// A run's record without its wall time (the one thing that differs between runs).
fn without_wall_time(bytes: &[u8]) -> serde_json::Value {
    let mut record: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    record.as_object_mut().unwrap().remove("wall_s");
    record
}

#[test]
fn two_shards_at_once_make_the_dataset_one_process_makes() {
    let root = tempfile::tempdir().unwrap();
    let (one, two) = (root.path().join("one"), root.path().join("two"));
    let status = generate(&one, &[]).status().unwrap();
    assert!(status.success());
    let mut first = generate(&two, &["--shard", "1/2"]).spawn().unwrap();
    let mut second = generate(&two, &["--shard", "2/2"]).spawn().unwrap();
    assert!(first.wait().unwrap().success() && second.wait().unwrap().success());

    let (a, b) = (files(&one), files(&two));
    assert_eq!(a.len(), 6, "three runs, each an array and a record");
    assert_eq!(
        a.iter().map(|f| &f.0).collect::<Vec<_>>(),
        b.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        if name.ends_with(".npy") {
            assert!(x == y, "{name} differs between one process and two shards");
        } else {
            assert_eq!(without_wall_time(x), without_wall_time(y), "{name}");
        }
    }
    let meta = |dir: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap()
    };
    let (meta_one, meta_two) = (meta(&one), meta(&two));
    assert_eq!(meta_one, meta_two, "the same description and statistics");
    let stats = &meta_one["normalisation"];
    assert_eq!(stats["channels"]["mean"].as_array().unwrap().len(), 3);
    assert!(stats["channels"]["std"][0].as_f64().unwrap() > 0.0);
    assert_eq!(stats["conditions"]["mean"][0], 300.0, "mean Re of the training runs");
    assert_eq!(meta_one["runs"][2]["split"], "test");
    assert!(meta_one["command"]
        .as_str()
        .unwrap()
        .starts_with("flowscope generate acdm-wake --seed 3"));

    // Everything is there already: nothing is simulated again.
    let again = generate(&one, &[]).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("wrote 0 of 3 runs"));
}

#[test]
fn bad_input_exits_non_zero_with_one_line() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("data");
    let out = out.to_str().unwrap();
    for (args, expected) in [
        (vec!["generate", "nope", "--out", out], "known datasets: acdm-wake"),
        (vec!["generate", "acdm-wake", "--out", out, "--shard", "3/2"], "1 ≤ I ≤ N"),
        (vec!["generate", "acdm-wake", "--out", out, "--shard", "x"], "I/N"),
        (vec!["generate", "acdm-wake", "--out", out, "--set", "bogus=1"], "has no option 'bogus'"),
        (vec!["generate", "acdm-wake", "--out", out, "--set", "re_train=5:1:1"], "re_train"),
        (vec!["generate", "acdm-wake", "--out", out, "--set", "re_train=2000"], "outside"),
        (vec!["generate", "acdm-wake", "--out", "/proc/no/such/place"], "cannot create"),
    ] {
        let result = Command::new(env!("CARGO_BIN_EXE_flowscope")).args(&args).output().unwrap();
        assert_eq!(result.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    // A folder holding another dataset is refused, not mixed.
    assert!(generate(root.path().join("x").as_path(), &[]).status().unwrap().success());
    let other = generate(root.path().join("x").as_path(), &["--set", "frames=4"]).output().unwrap();
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("holds another dataset"));
}
