//! CSV tables: the target found by name, the task inferred or forced, class names kept, and
//! every kind of bad file refused with one line naming the file, the line and the column.

use backprop::data::csv::{read_csv, read_csv_from};
use backprop::model_io::Task;
use std::path::Path;

fn read(
    text: &str,
    target: &str,
    task: Option<Task>,
) -> backprop::Result<backprop::data::csv::Table> {
    read_csv_from(text.as_bytes(), Path::new("t.csv"), target, task, None)
}

#[test]
fn the_target_is_found_anywhere_and_word_labels_keep_their_names() {
    let t = read(
        "a,species,b\n1,setosa,2\n3,virginica,4\n5,setosa,6\n",
        "species",
        None,
    )
    .unwrap();
    assert_eq!(t.feature_names, ["a", "b"]);
    assert_eq!(
        t.class_names.as_deref(),
        Some(&["setosa".to_string(), "virginica".to_string()][..])
    );
    assert_eq!(t.data.labels(), &[0, 1, 0]);
    assert_eq!(t.data.features_f32(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}

#[test]
fn the_task_is_inferred_and_can_be_forced() {
    // A few integers: classes, in numeric order.
    let t = read("x,y\n0,10\n1,2\n2,10\n", "y", None).unwrap();
    assert_eq!(
        t.class_names.as_deref(),
        Some(&["2".to_string(), "10".to_string()][..])
    );
    assert_eq!(t.data.labels(), &[1, 0, 1]);
    // Real values: regression.
    let t = read("x,y\n0,1.5\n1,2.25\n", "y", None).unwrap();
    assert!(t.data.is_regression() && t.class_names.is_none());
    assert_eq!(t.data.values(), Some(&[1.5f32, 2.25][..]));
    // Integers forced to regression.
    let t = read("x,y\n0,1\n1,2\n", "y", Some(Task::Regress)).unwrap();
    assert!(t.data.is_regression());
}

#[test]
fn bad_files_get_one_line_naming_file_line_and_column() {
    let cases = [
        ("", "y", "t.csv: empty file"),
        ("x,y\n", "y", "t.csv: a header but no rows"),
        (
            "x,z\n1,2\n",
            "y",
            "t.csv:1: no column named \"y\" (the header has x, z)",
        ),
        (
            "x,y\n1,2\n3\n",
            "y",
            "t.csv:3: 1 cells, but the header has 2 columns",
        ),
        (
            "x,y\n1,2\nabc,3\n",
            "y",
            "t.csv:3: column 1 (x): \"abc\" is not a number",
        ),
        (
            "x,y\n1,2\nnan,3\n",
            "y",
            "t.csv:3: column 1 (x): \"nan\" is not a finite number",
        ),
        (
            "x,y\n1,\n",
            "y",
            "t.csv:2: column 2 (y): the target is empty",
        ),
        (
            "y\n1\n",
            "y",
            "t.csv:1: the target \"y\" is the only column",
        ),
        // The line counts blank lines, and \r\n line ends (the csv crate's own count does not).
        (
            "x,y\n1,2\n\n\nabc,3\n",
            "y",
            "t.csv:5: column 1 (x): \"abc\" is not a number",
        ),
        (
            "x,y\r\n1,2\r\n3,4\r\nabc,3\r\n",
            "y",
            "t.csv:4: column 1 (x): \"abc\" is not a number",
        ),
    ];
    for (text, target, expected) in cases {
        let err = read(text, target, None).unwrap_err().to_string();
        assert!(
            err.starts_with(expected),
            "{err:?} should start with {expected:?}"
        );
        assert!(!err.contains('\n'), "{err:?}");
    }
    let err = read("x,y\n1,cat\n", "y", Some(Task::Regress))
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds words"), "{err}");
}

#[test]
fn a_test_file_label_unseen_in_training_is_refused() {
    let names = ["cat".to_string(), "dog".to_string()];
    let ok = read_csv_from(
        "x,y\n1,dog\n".as_bytes(),
        Path::new("test.csv"),
        "y",
        None,
        Some(&names),
    )
    .unwrap();
    assert_eq!((ok.data.labels(), ok.data.n_classes()), (&[1u32][..], 2));
    let err = read_csv_from(
        "x,y\n1,dog\n2,cow\n".as_bytes(),
        Path::new("test.csv"),
        "y",
        None,
        Some(&names),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "test.csv:3: column 2 (y): label \"cow\" was not seen in training"
    );
}

#[test]
fn a_missing_file_is_named() {
    let err = read_csv(Path::new("/nonexistent/t.csv"), "y", None, None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/nonexistent/t.csv: "), "{err}");
}

/// Writes a CSV of two noisy classes ("left", "right") by the sign of x₁ − x₂, and a real
/// target 3x₁ − 2x₂ + 5.
fn write_table(path: &Path, rows: usize, seed: u64) {
    let mut rng = backprop::Rng::new(seed);
    let mut text = String::from("x1,side,x2,value\n");
    for _ in 0..rows {
        let (a, b) = (rng.normal() * 3.0 + 10.0, rng.normal() * 100.0);
        let side = if a * 30.0 - b > 300.0 {
            "right"
        } else {
            "left"
        };
        text.push_str(&format!(
            "{a:.4},{side},{b:.4},{:.4}\n",
            3.0 * a - 0.02 * b + 5.0
        ));
    }
    std::fs::write(path, text).unwrap();
}

fn backprop_cmd() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("backprop").unwrap()
}

#[test]
fn train_and_eval_on_csv_files_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    write_table(&train, 600, 1);
    write_table(&test, 200, 2);
    let model = dir.path().join("m.safetensors");
    // Classification on words, the value column being one more feature... of the wrong kind:
    // drop it by training on a copy without it.
    let strip = |p: &Path| {
        let t: String = std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
            .collect();
        std::fs::write(p, t).unwrap();
    };
    let (ctrain, ctest) = (
        dir.path().join("c_train.csv"),
        dir.path().join("c_test.csv"),
    );
    std::fs::copy(&train, &ctrain).unwrap();
    std::fs::copy(&test, &ctest).unwrap();
    strip(&ctrain);
    strip(&ctest);
    backprop_cmd()
        .args(["train", "--data"])
        .arg(&ctrain)
        .args(["--target", "side", "--hidden", "8", "--test"])
        .arg(&ctest)
        .arg("--out")
        .arg(&model)
        .assert()
        .success();
    let out = backprop_cmd()
        .args(["eval", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&ctest)
        .args(["--target", "side", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(v["accuracy"].as_f64().unwrap() > 0.9, "{v}");
    assert_eq!(v["classes"][0]["class"], "left");
    // Regression on the value column, with side dropped (it is words, not a feature).
    let keep = |p: &Path, q: &Path| {
        let t: String = std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| {
                let c: Vec<&str> = l.split(',').collect();
                format!("{},{},{}\n", c[0], c[2], c[3])
            })
            .collect();
        std::fs::write(q, t).unwrap();
    };
    let (rtrain, rtest) = (
        dir.path().join("r_train.csv"),
        dir.path().join("r_test.csv"),
    );
    keep(&train, &rtrain);
    keep(&test, &rtest);
    backprop_cmd()
        .args(["train", "--data"])
        .arg(&rtrain)
        .args(["--target", "value", "--hidden", "8", "--epochs", "60"])
        .arg("--out")
        .arg(&model)
        .assert()
        .success();
    let out = backprop_cmd()
        .args(["eval", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&rtest)
        .arg("--json")
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(v["r2"].as_f64().unwrap() > 0.98, "{v}");
    assert!(v["rmse"].as_f64().unwrap() > 0.0 && v["mae"].as_f64().is_some());
}

#[test]
fn a_bad_csv_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "a,y\n1,0\nx,1\n").unwrap();
    let out = backprop_cmd()
        .args(["train", "--data"])
        .arg(&bad)
        .args(["--target", "y"])
        .arg("--out")
        .arg(dir.path().join("m.safetensors"))
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("bad.csv:3: column 1 (a): \"x\" is not a number"),
        "{err}"
    );
    assert!(!dir.path().join("m.safetensors").exists());
    let out = backprop_cmd()
        .args(["train", "--data"])
        .arg(&bad)
        .assert()
        .failure();
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("needs --target NAME"));
}

#[test]
fn the_toy_sets_train_with_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop_cmd()
        .current_dir(dir.path())
        .args([
            "train",
            "--data",
            "spiral",
            "--hidden",
            "16,16",
            "--epochs",
            "200",
            "--samples",
            "600",
            "--json",
        ])
        .assert()
        .success();
    // One object per epoch, then the test evaluation.
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(text.lines().count(), 201, "{text}");
    let v: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    // Three arms: chance is 1/3; the noise (σ = 0.1) blurs the arms near the centre.
    assert!(v["accuracy"].as_f64().unwrap() > 0.8, "{v}");
    assert!(dir.path().join("model.safetensors").exists());
    let out = backprop_cmd()
        .current_dir(dir.path())
        .args(["train", "--data", "moons", "--noise", "-1"])
        .assert()
        .failure();
    assert!(String::from_utf8_lossy(&out.get_output().stderr)
        .contains("the noise must be 0 or positive"));
}

#[test]
fn network2_json_goes_both_ways_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("net.json");
    // A network2.py file, as its Network.save writes it.
    std::fs::write(
        &json,
        r#"{"sizes": [2, 2, 2], "weights": [[[1.0, -1.0], [0.5, 2.0]], [[1.5, -0.5], [-1.0, 1.0]]],
            "biases": [[[0.0], [-1.0]], [[0.25], [0.0]]], "cost": "QuadraticCost"}"#,
    )
    .unwrap();
    let model = dir.path().join("m.safetensors");
    backprop_cmd()
        .arg("import")
        .arg(&json)
        .arg("--out")
        .arg(&model)
        .assert()
        .success();
    let net = backprop::model_io::load(&model).unwrap();
    assert_eq!(net.layers[1].weights, vec![1.5, -0.5, -1.0, 1.0]);
    let back = dir.path().join("back.json");
    backprop_cmd()
        .args(["export", "--model"])
        .arg(&model)
        .arg("--out")
        .arg(&back)
        .assert()
        .success();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&back).unwrap()).unwrap();
    assert_eq!(v["sizes"], serde_json::json!([2, 2, 2]));
    assert_eq!(v["biases"][0], serde_json::json!([[0.0], [-1.0]]));
    assert_eq!(v["cost"], "QuadraticCost");
    let out = backprop_cmd()
        .args(["export", "--model"])
        .arg(&model)
        .arg("--out")
        .arg(dir.path().join("m.pb"))
        .assert()
        .failure();
    assert!(String::from_utf8_lossy(&out.get_output().stderr)
        .contains("m.pb: cannot tell the format from the extension; use .onnx (ONNX) or .json"));
}
