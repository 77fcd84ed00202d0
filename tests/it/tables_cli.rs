//! Tables on the command line, after training: `predict --data rows.csv` (answers row by row,
//! features found by name, each bad file refused with one line), and the per-epoch lines and
//! log of `train --data FILE.csv`.

use backprop::model_io;
use backprop::{Architecture, Init, Model, Network};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn backprop_cmd() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("backprop").unwrap()
}

/// Rows of two features: the class is "big" when x₁ + x₂/10 > 12, "small" otherwise; the value
/// is 3x₁ − 0.2x₂ + 5. Columns in the order given.
fn write_rows(path: &Path, rows: usize, seed: u64, columns: &[&str]) {
    let mut rng = backprop::Rng::new(seed);
    let mut text = columns.join(",") + "\n";
    for i in 0..rows {
        let (a, b) = (rng.normal() * 3.0 + 10.0, rng.normal() * 20.0 + 20.0);
        let class = if a + b / 10.0 > 12.0 { "big" } else { "small" };
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match *c {
                "x1" => format!("{a:.4}"),
                "x2" => format!("{b:.4}"),
                "class" => class.to_string(),
                "value" => format!("{:.4}", 3.0 * a - 0.2 * b + 5.0),
                _ => format!("id{i}"),
            })
            .collect();
        text += &(cells.join(",") + "\n");
    }
    std::fs::write(path, text).unwrap();
}

/// Trains `backprop train --data` on a fresh table for `epochs` and returns the model's path.
fn trained(dir: &Path, target: &str, epochs: &str) -> PathBuf {
    let train = dir.join(format!("{target}_train.csv"));
    write_rows(&train, 400, 1, &["x1", target, "x2"]);
    let model = dir.join(format!("{target}.safetensors"));
    backprop_cmd()
        .args(["train", "--data"])
        .arg(&train)
        .args(["--target", target, "--hidden", "8", "--epochs", epochs])
        .arg("--out")
        .arg(&model)
        .assert()
        .success();
    model
}

fn predict(model: &Path, data: &Path, json: bool) -> assert_cmd::assert::Assert {
    let mut c = backprop_cmd();
    c.args(["predict", "--model"])
        .arg(model)
        .arg("--data")
        .arg(data);
    if json {
        c.arg("--json");
    }
    c.assert()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[test]
fn predict_answers_each_row_by_the_models_feature_names() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = trained(dir.path(), "class", "40");
    let model = Model::load(&model_path).unwrap();
    assert_eq!(
        model.info.feature_names,
        Some(vec!["x1".to_string(), "x2".to_string()])
    );
    assert_eq!(model.info.target_names, Some(vec!["class".to_string()]));
    // Columns in another order, an id column, and the target: all fine.
    let rows = dir.path().join("rows.csv");
    write_rows(&rows, 300, 2, &["id", "x2", "class", "x1"]);
    let out = predict(&model_path, &rows, true).success();
    assert!(
        stderr(&out)
            .contains("rows.csv: ignoring the columns that are not features of the model: id"),
        "{}",
        stderr(&out)
    );
    let text = std::fs::read_to_string(&rows).unwrap();
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        300,
        "one answer per row, past the 256 of a batch"
    );
    let mut right = 0;
    for (i, (v, row)) in lines.iter().zip(text.lines().skip(1)).enumerate() {
        let cells: Vec<&str> = row.split(',').collect();
        let (x2, class, x1): (f32, &str, f32) = (
            cells[1].parse().unwrap(),
            cells[2],
            cells[3].parse().unwrap(),
        );
        assert_eq!(v["row"], i + 1);
        assert_eq!(v["target"], class, "the target is shown beside the answer");
        // The answer is the library's for the same raw features (standardised by the model).
        let backprop::Prediction::Class { name, .. } = model.predict(&[x1, x2]).unwrap() else {
            panic!("a class")
        };
        assert_eq!(v["class"].as_str(), name.as_deref());
        let p = v["probabilities"].as_object().unwrap();
        assert_eq!(p.len(), 2);
        let total: f64 = p.values().map(|p| p.as_f64().unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-5, "{v}");
        assert!(p[name.as_deref().unwrap()].as_f64().unwrap() >= 0.5);
        right += usize::from(v["class"] == class);
    }
    assert!(right > 280, "{right} of 300 right");
    // Text: one line per row, the class, its probability and the target.
    let out = predict(&model_path, &rows, false).success();
    let first = stdout(&out).lines().next().unwrap().to_string();
    let (class, p) = (
        lines[0]["class"].as_str().unwrap(),
        &lines[0]["probabilities"],
    );
    let pct = format!("{:.2}%", 100.0 * p[class].as_f64().unwrap());
    assert_eq!(
        first,
        format!(
            "1: {class} {pct} (target: {})",
            lines[0]["target"].as_str().unwrap()
        )
    );
    assert_eq!(stdout(&out).lines().count(), 300);
    // The label column's name is in the model: eval finds it without --target.
    let labelled = dir.path().join("labelled.csv");
    write_rows(&labelled, 100, 5, &["x1", "class", "x2"]);
    let out = backprop_cmd()
        .args(["eval", "--model"])
        .arg(&model_path)
        .arg("--data")
        .arg(&labelled)
        .arg("--json")
        .assert()
        .success();
    let e: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(e["accuracy"].as_f64().unwrap() > 0.9, "{e}");
    // The same rows with the columns in another order: the same evaluation.
    let shuffled = dir.path().join("shuffled.csv");
    write_rows(&shuffled, 100, 5, &["class", "x2", "x1"]);
    let out = backprop_cmd()
        .args(["eval", "--model"])
        .arg(&model_path)
        .arg("--data")
        .arg(&shuffled)
        .arg("--json")
        .assert()
        .success();
    let again: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(again, e);
    // A column the model does not know is still refused by eval (it reads every column).
    let out = backprop_cmd()
        .args(["eval", "--model"])
        .arg(&model_path)
        .arg("--data")
        .arg(&rows)
        .assert()
        .failure()
        .code(1);
    assert!(
        stderr(&out).contains("column 1 (id): \"id0\" is not a number"),
        "{}",
        stderr(&out)
    );
    // Without the target column, no target.
    let bare = dir.path().join("bare.csv");
    write_rows(&bare, 3, 3, &["x1", "x2"]);
    let out = predict(&model_path, &bare, true).success();
    let v: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert!(v.get("target").is_none() && v["class"].is_string(), "{v}");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn predict_gives_a_regression_in_the_targets_units() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = trained(dir.path(), "value", "40");
    let model = Model::load(&model_path).unwrap();
    let rows = dir.path().join("rows.csv");
    write_rows(&rows, 20, 4, &["x2", "x1", "value"]);
    let out = predict(&model_path, &rows, true).success();
    let text = std::fs::read_to_string(&rows).unwrap();
    for (line, row) in stdout(&out).lines().zip(text.lines().skip(1)) {
        let v: Value = serde_json::from_str(line).unwrap();
        let c: Vec<f32> = row.split(',').map(|c| c.parse().unwrap()).collect();
        let expected = model.predict(&[c[1], c[0]]).unwrap().value().unwrap();
        assert_eq!(v["value"].as_f64().unwrap() as f32, expected);
        assert_eq!(v["target"].as_f64().unwrap() as f32, c[2]);
        // Values near 3·10 − 0.2·20 + 5 = 31 ± 9, not standardised units near 0 ± 1.
        assert!((expected - c[2]).abs() < 5.0, "{expected} for {}", c[2]);
    }
    let out = predict(&model_path, &rows, false).success();
    let first = stdout(&out).lines().next().unwrap().to_string();
    let target = text.lines().nth(1).unwrap().rsplit(',').next().unwrap();
    assert!(
        first.starts_with("1: ") && first.ends_with(&format!(" (target: {target})")),
        "{first}"
    );
}

#[test]
fn predict_refuses_bad_rows_with_one_line_naming_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = trained(dir.path(), "class", "2");
    let cases = [
        ("missing.csv", "x1,class\n1,big\n", "missing.csv:1: no column named \"x2\", a feature of the model (the header has x1, class)"),
        ("cell.csv", "x1,x2\n1,2\n3,abc\n", "cell.csv:3: column 2 (x2): \"abc\" is not a number"),
        ("nan.csv", "x2,x1\nNaN,1\n", "nan.csv:2: column 1 (x2): \"NaN\" is not a finite number"),
        ("ragged.csv", "x1,x2\n1,2,3\n", "ragged.csv:2: 3 cells, but the header has 2 columns"),
        ("twice.csv", "x1,x2,x1\n1,2,3\n", "twice.csv:1: two columns are named \"x1\""),
        ("empty.csv", "", "empty.csv: empty file, expected a header row"),
        ("header.csv", "x1,x2\n", "header.csv: a header but no rows"),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = predict(&model_path, &path, false).failure().code(1);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
        assert!(
            err.contains(expected),
            "{name}: {err:?} should say {expected:?}"
        );
    }
    // The rows before a bad one are answered (the file streams); the bad one stops it.
    let out = predict(&model_path, &dir.path().join("cell.csv"), false).failure();
    assert_eq!(stdout(&out).lines().count(), 1);
    let missing = dir.path().join("nowhere.csv");
    let out = predict(&model_path, &missing, false).failure().code(1);
    assert!(stderr(&out).contains("nowhere.csv"), "{}", stderr(&out));
}

#[test]
fn digit_and_table_models_each_refuse_the_others_input() {
    let dir = tempfile::tempdir().unwrap();
    let table = trained(dir.path(), "class", "2");
    let digits = dir.path().join("digits.safetensors");
    let net = Network::<f32>::new(&Architecture::notes(), Init::Normal, 1).unwrap();
    model_io::save(&net, &digits).unwrap();
    let rows = dir.path().join("rows.csv");
    write_rows(&rows, 2, 1, &["x1", "x2"]);
    let out = predict(&digits, &rows, false).failure().code(1);
    assert!(
        stderr(&out).contains("digits.safetensors: a digit model (784 inputs, no table in its metadata): give it images"),
        "{}",
        stderr(&out)
    );
    let png = dir.path().join("one.png");
    std::fs::write(&png, b"not read").unwrap();
    let out = backprop_cmd()
        .args(["predict", "--model"])
        .arg(&table)
        .arg(&png)
        .assert()
        .failure()
        .code(1);
    assert!(
        stderr(&out).contains("class.safetensors: the model was trained on a table (features x1, x2): give it rows with --data FILE.csv, not images"),
        "{}",
        stderr(&out)
    );
    // Both at once is a usage error.
    backprop_cmd()
        .args(["predict", "--model"])
        .arg(&table)
        .arg("--data")
        .arg(&rows)
        .arg(&png)
        .assert()
        .failure()
        .code(2);
}

/// The log's epochs, one JSON object a line.
fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn table_training_shows_and_logs_every_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("t.csv");
    write_rows(&train, 300, 1, &["x1", "x2", "class"]);
    let model = dir.path().join("m.safetensors");
    let out = backprop_cmd()
        .args(["train", "--data"])
        .arg(&train)
        .args(["--target", "class", "--hidden", "8", "--epochs", "7"])
        .arg("--out")
        .arg(&model)
        .assert()
        .success();
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "epoch  train cost test acc  seconds");
    for (i, l) in lines[1..8].iter().enumerate() {
        assert!(l.trim_start().starts_with(&format!("{} ", i + 1)), "{l}");
        assert!(l.contains('%'), "test accuracy: {l}");
    }
    assert!(
        lines[8].contains("rows: accuracy"),
        "then the evaluation: {text}"
    );
    let log = log_lines(&dir.path().join("m.log.jsonl"));
    assert_eq!(log.len(), 7);
    let last_acc = log[6]["test_accuracy"].as_f64().unwrap();
    assert!(log[6]["train_cost"].as_f64().unwrap() < log[0]["train_cost"].as_f64().unwrap());
    assert!(!dir.path().join("m.log.partial.jsonl").exists());
    // --json: the epochs' objects, then the test evaluation (as eval --json prints it).
    let log_path = dir.path().join("elsewhere.jsonl");
    let out = backprop_cmd()
        .args(["train", "--data"])
        .arg(&train)
        .args([
            "--target", "class", "--hidden", "8", "--epochs", "7", "--json",
        ])
        .arg("--out")
        .arg(&model)
        .arg("--log")
        .arg(&log_path)
        .assert()
        .success();
    let objects: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 8);
    assert_eq!(
        objects[..7],
        log_lines(&log_path)[..],
        "stdout and the log agree"
    );
    assert_eq!(objects[6]["epoch"], 7);
    assert_eq!(
        objects[7]["accuracy"].as_f64().unwrap(),
        last_acc,
        "same seed, same run"
    );
    // The model and its log must differ.
    let out = backprop_cmd()
        .args(["train", "--data"])
        .arg(&train)
        .args(["--target", "class", "--out"])
        .arg(&model)
        .arg("--log")
        .arg(&model)
        .assert()
        .failure();
    assert!(stderr(&out).contains("the model and its log must be two different files"));
}

#[test]
fn regression_logs_rmse_and_r2_and_stops_early_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("t.csv");
    let test = dir.path().join("test.csv");
    write_rows(&train, 300, 1, &["x1", "x2", "value"]);
    write_rows(&test, 100, 2, &["x1", "x2", "value"]);
    let model = dir.path().join("m.safetensors");
    let run = |extra: &[&str]| {
        backprop_cmd()
            .args(["train", "--data"])
            .arg(&train)
            .args(["--target", "value", "--hidden", "8", "--test"])
            .arg(&test)
            .args(extra)
            .arg("--out")
            .arg(&model)
            .assert()
            .success()
    };
    let out = run(&["--epochs", "3"]);
    assert!(
        stdout(&out)
            .starts_with("epoch  train cost    val R² test RMSE  test MAE   test R²  seconds"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("early stop after 10 epochs without progress on 10% held out"));
    let log = log_lines(&dir.path().join("m.log.jsonl"));
    assert_eq!(log.len(), 3);
    for e in &log {
        assert!(
            e["train_accuracy"].is_null() && e["test_accuracy"].is_null(),
            "{e}"
        );
        assert!(
            e["validation_r2"].is_number() && e["test_mae"].is_number(),
            "{e}"
        );
    }
    // The log's test RMSE is in the target's units: the last epoch's is eval's.
    let eval = backprop_cmd()
        .args(["eval", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&test)
        .arg("--json")
        .assert()
        .success();
    let e: Value = serde_json::from_slice(&eval.get_output().stdout).unwrap();
    let (logged, evaluated) = (
        log[2]["test_rmse"].as_f64().unwrap(),
        e["rmse"].as_f64().unwrap(),
    );
    assert!(
        (logged - evaluated).abs() <= 1e-4 * evaluated,
        "{logged} vs {evaluated}"
    );
    assert!((log[2]["test_r2"].as_f64().unwrap() - e["r2"].as_f64().unwrap()).abs() < 1e-4);
    // Long enough, it stops once the held-out R² stops rising, and keeps the best epoch.
    let out = run(&["--epochs", "2000", "--learning-rate", "0.05"]);
    let err = stderr(&out);
    assert!(
        err.contains("stopped early: no validation improvement in 10 epochs; kept epoch"),
        "{err}"
    );
    let n = log_lines(&dir.path().join("m.log.jsonl")).len();
    assert!(n < 2000, "{n} epochs");
    // --early-stop 0 turns it off: every epoch runs, and no rows are held out.
    let out = run(&["--epochs", "12", "--early-stop", "0"]);
    assert!(!stderr(&out).contains("early stop"), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("epoch  train cost test RMSE"),
        "{}",
        stdout(&out)
    );
    assert_eq!(log_lines(&dir.path().join("m.log.jsonl")).len(), 12);
}
