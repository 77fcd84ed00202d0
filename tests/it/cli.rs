//! The real `backprop` binary: every subcommand, its JSON, and its errors.

use crate::common;

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

fn backprop() -> Command {
    Command::cargo_bin("backprop").unwrap()
}

/// Runs a command expected to fail with exit code 1; returns its one-line error message after
/// checking that it is not a panic.
fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "should fail: {cmd:?}");
    assert_eq!(out.status.code(), Some(1), "{cmd:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Status lines may come first; the error is the last line, and the only one.
    let err = stderr
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(err.starts_with("error: "), "{stderr:?}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{stderr:?}"
    );
    err
}

#[test]
fn help_explains_the_commands_and_defaults() {
    backprop().arg("--help").assert().success().stdout(
        predicate::str::contains("train")
            .and(predicate::str::contains("gradcheck"))
            .and(predicate::str::contains("eval")),
    );
    backprop()
        .args(["train", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("[default: 16,16, or the preset's]")
                .and(predicate::str::contains("[default: 1.5, or the preset's]"))
                .and(predicate::str::contains("nielsen-ch3"))
                .and(predicate::str::contains("[default: model.safetensors]")),
        );
}

#[test]
fn train_inspect_eval_on_mnist() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let out = backprop()
        .args([
            "train", "--limit", "3000", "--epochs", "2", "--json", "--out",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["epoch"], i + 1);
        for key in ["train_cost", "test_cost", "test_accuracy", "seconds"] {
            assert!(l[key].is_f64(), "{key} in {l}");
        }
    }
    let acc = lines[1]["test_accuracy"].as_f64().unwrap();
    assert!((0.6..=1.0).contains(&acc), "{acc}");

    backprop()
        .arg("inspect")
        .arg(&model)
        .assert()
        .success()
        .stdout(predicate::str::contains("784-16-16-10").and(predicate::str::contains("13002")));

    let out = backprop()
        .args(["eval", "--json", "--model"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(out.status.success());
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["n"], 10_000);
    // eval recomputes exactly what training reported for its last epoch.
    assert_eq!(e["accuracy"].as_f64().unwrap(), acc);
    let confusion = e["confusion"].as_array().unwrap();
    assert_eq!(confusion.len(), 10);
    let total: u64 = confusion
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 10_000);

    backprop()
        .args(["eval", "--model"])
        .arg(&model)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("confusion matrix").and(predicate::str::contains("accuracy")),
        );

    // bench --model times the same answers: the evaluation's and, one sample at a time (every
    // test image twice), the same accuracy.
    let out = backprop()
        .args(["bench", "--json", "--model"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(b["eval_images"], 10_000);
    assert_eq!(b["accuracy"].as_f64().unwrap(), acc);
    assert_eq!(b["predict_accuracy"].as_f64().unwrap(), acc);
    for key in ["eval_best_seconds", "predict_median_us", "predict_p99_us"] {
        assert!(b[key].as_f64().unwrap() > 0.0, "{key} in {b}");
    }
}

#[test]
fn validation_split_and_json_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let out = backprop()
        .args([
            "train",
            "--validation",
            "10000",
            "--limit",
            "2000",
            "--epochs",
            "1",
            "--hidden",
            "8",
        ])
        .args(["--json", "--out"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (val, test) = (
        line["validation_accuracy"].as_f64().unwrap(),
        line["test_accuracy"].as_f64().unwrap(),
    );
    // Well above chance (10%) after one short epoch, and the held-out training images are about
    // as hard as the test images.
    assert!(val > 0.2 && (val - test).abs() < 0.05, "{line}");
    // The table shows the validation columns too.
    backprop()
        .args([
            "train",
            "--validation",
            "100",
            "--limit",
            "500",
            "--epochs",
            "1",
            "--out",
        ])
        .arg(&model)
        .assert()
        .success()
        .stdout(predicate::str::contains("val cost   val acc"));
    let out = backprop()
        .args(["inspect", "--json"])
        .arg(&model)
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["sizes"], serde_json::json!([784, 16, 16, 10]));
    assert_eq!(info["parameters"], 13_002);
    assert_eq!(info["cost"], "quadratic");
    // Holding out everything is refused.
    let err = fails(backprop().args(["train", "--validation", "60000"]));
    assert!(
        err.contains("cannot hold out 60000 of 60000 samples"),
        "{err}"
    );
}

#[test]
fn another_idx_dataset_trains_and_evaluates_through_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("toy");
    std::fs::create_dir(&data).unwrap();
    // 6×9 images, 3 classes, raw files with the dotted spelling.
    common::write_toy_dataset(&data, 6, 9, 3, true);
    let model = dir.path().join("toy.safetensors");
    let out = backprop()
        .args([
            "train", "--hidden", "8", "--epochs", "5", "--json", "--data",
        ])
        .arg(&data)
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    backprop()
        .arg("inspect")
        .arg(&model)
        .assert()
        .success()
        .stdout(predicate::str::contains("54-8-3"));
    let out = backprop()
        .args(["eval", "--json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["n"], 200);
    assert!(e["accuracy"].as_f64().unwrap() > 0.9, "{e}");

    // The MNIST model does not fit this data, and says so.
    let err = fails(backprop().args(["eval", "--model"]).arg(&model));
    assert!(
        err.contains("does not fit the bundled MNIST") && err.contains("takes 54 inputs"),
        "{err}"
    );
    let err = fails(
        backprop()
            .args(["train", "--layers", "784,16,10", "--data"])
            .arg(&data),
    );
    assert!(err.contains("needs 54 inputs and 3 outputs"), "{err}");
}

#[test]
fn gradcheck_passes_and_reports_json() {
    backprop()
        .args(["gradcheck", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("40 of 40 combinations passed"));
    let out = backprop()
        .args([
            "gradcheck",
            "--json",
            "--layers",
            "784,16,16,10",
            "--init",
            "normal",
            "--batch",
            "1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let g: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(g["passed"], true);
    assert_eq!(g["parameters"], 13_002);
    assert!(g["max_rel_error"].as_f64().unwrap() < 1e-5);
}

#[test]
fn bad_input_gets_one_line_errors_and_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);

    let err = fails(backprop().args(["train", "--data", "/nonexistent"]));
    assert!(err.contains("/nonexistent: no such directory"), "{err}");

    std::fs::create_dir(p("broken")).unwrap();
    common::write_toy_dataset(&p("broken"), 4, 4, 2, false);
    std::fs::write(
        p("broken/train-images-idx3-ubyte.gz"),
        common::gz(&[0x12, 0x34, 8, 3, 0, 0]),
    )
    .unwrap();
    let err = fails(backprop().args(["train", "--data"]).arg(p("broken")));
    assert!(
        err.contains("train-images-idx3-ubyte.gz: bad IDX magic 0x12340803"),
        "{err}"
    );

    let err = fails(backprop().args(["train", "--learning-rate", "-1"]));
    assert!(
        err.contains("learning rate must be a positive number, got -1"),
        "{err}"
    );
    let err = fails(backprop().args(["train", "--batch-size", "0"]));
    assert!(err.contains("batch size must be at least 1"), "{err}");
    let err = fails(backprop().args(["train", "--hidden", "16", "--activation", "softmax"]));
    assert!(
        err.contains("softmax is only allowed on the output layer"),
        "{err}"
    );
    let err = fails(backprop().args([
        "train",
        "--cost",
        "cross-entropy",
        "--output-activation",
        "relu",
    ]));
    assert!(
        err.contains("cross-entropy cost needs a sigmoid output layer"),
        "{err}"
    );

    std::fs::write(p("garbage.safetensors"), b"definitely not a model").unwrap();
    let err = fails(backprop().arg("inspect").arg(p("garbage.safetensors")));
    assert!(
        err.contains("garbage.safetensors: not a valid safetensors file"),
        "{err}"
    );
    let err = fails(
        backprop()
            .args(["eval", "--model"])
            .arg(p("missing.safetensors")),
    );
    assert!(err.contains("missing.safetensors: No such file"), "{err}");

    // Impossible hyper-parameters are refused before any data is read or training starts.
    for (args, expected) in [
        (
            &["--dropout", "1"][..],
            "the hidden dropout rate must be in [0, 1), got 1",
        ),
        (
            &["--input-dropout", "-0.5"],
            "the input dropout rate must be in [0, 1), got -0.5",
        ),
        (
            &["--learning-rate", "0"],
            "learning rate must be a positive number, got 0",
        ),
        (
            &["--momentum", "0.5"],
            "--momentum applies to momentum and nesterov, not to the sgd optimiser",
        ),
        (
            &["--optimizer", "momentum", "--momentum", "1.5"],
            "the momentum μ must be in [0, 1), got 1.5",
        ),
        (
            &["--optimizer", "adam", "--weight-decay", "0.1"],
            "--weight-decay applies to adamw, not to the adam optimiser",
        ),
        (&["--early-stop", "3"], "add --validation N"),
        (&["--schedule", "plateau:5"], "add --validation N"),
        (
            &["--l2", "-1"],
            "the L2 strength λ must be 0 or positive, got -1",
        ),
        (
            &["--scale", "1.5"],
            "the augmentation scale must be below 1",
        ),
        (
            &["--shift", "-2"],
            "the augmentation shift must be 0 or positive, got -2",
        ),
    ] {
        let err = fails(backprop().arg("train").args(args));
        assert!(err.contains(expected), "{args:?}: {err}");
    }

    let err = fails(
        backprop()
            .args(["train", "--resume"])
            .arg(p("garbage.safetensors")),
    );
    assert!(
        err.contains("garbage.safetensors: not a valid safetensors file"),
        "{err}"
    );

    // Usage errors are clap's: exit code 2.
    for args in [
        &["train", "--resume", "x.safetensors", "--epochs", "3"][..],
        &["train", "--epochs", "many"],
        &["train", "--activation", "swish"],
        &["train", "--optimizer", "rmsprop"],
        &["train", "--schedule", "linear"],
        &["train", "--preset", "nielsen-ch9"],
    ] {
        backprop().args(args).assert().code(2);
    }
}

#[test]
fn a_preset_with_overrides_trains_and_logs_every_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("ch3.safetensors");
    let out = backprop()
        .args([
            "train",
            "--preset",
            "nielsen-ch3",
            "--hidden",
            "20",
            "--epochs",
            "2",
            "--limit",
            "2000",
            "--validation",
            "1000",
            "--json",
            "--out",
        ])
        .arg(&model)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The preset's cost, initialisation and regularisation, with the overridden size.
    assert!(
        stderr.contains("784-20-10")
            && stderr.contains("cross-entropy cost")
            && stderr.contains("scaled init")
            && stderr.contains("η = 0.5, L2 λ = 5"),
        "{stderr}"
    );
    let stdout: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The log beside the model holds the same lines as --json printed.
    let log_path = dir.path().join("ch3.log.jsonl");
    let log: Vec<serde_json::Value> = std::fs::read_to_string(&log_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(log, stdout);
    assert_eq!(log.len(), 2);
    for l in &log {
        for key in [
            "learning_rate",
            "train_cost",
            "train_accuracy",
            "validation_cost",
            "validation_accuracy",
            "test_cost",
            "test_accuracy",
            "seconds",
        ] {
            assert!(l[key].is_f64(), "{key} in {l}");
        }
        assert_eq!(l["learning_rate"], 0.5);
        assert!(l["validation_accuracy"].as_f64().unwrap() > 0.7, "{l}");
    }
}

#[test]
fn a_failed_training_run_keeps_the_previous_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    std::fs::write(&model, b"previous model").unwrap();
    let err = fails(
        backprop()
            .args([
                "train",
                "--limit",
                "100",
                "--epochs",
                "1",
                "--hidden",
                "8",
                "--activation",
                "identity",
            ])
            .args([
                "--output-activation",
                "identity",
                "--learning-rate",
                "1000",
                "--out",
            ])
            .arg(&model),
    );
    assert!(
        err.contains("training diverged") && err.contains("no model was saved"),
        "{err}"
    );
    assert_eq!(std::fs::read(&model).unwrap(), b"previous model");
    assert!(Path::new(&model).exists());
}
