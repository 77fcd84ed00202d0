//! `backprop train --data FILE.csv --target NAME` and `backprop eval --model M --data FILE.csv
//! --target NAME`: tables, through the library's estimator (standardised inputs, ReLU hidden
//! layers, Adam), with the scalers, the task and the names in the model file.

use super::percent;
use super::table_progress::EpochLines;
use anyhow::{bail, Context};
use backprop::data::csv::{read_csv, Table};
use backprop::model_io::{ModelInfo, Task};
use backprop::{Dataset, Evaluation, Mlp, Model, Stop};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

/// Regression on this many training rows or more stops early by default.
const EARLY_STOP_ROWS: usize = 100;
/// Epochs without a better validation R² before a regression stops by default (as
/// scikit-learn's `n_iter_no_change`).
const EARLY_STOP_PATIENCE: usize = 10;

/// Whether `--data` names a CSV file rather than an MNIST-style directory.
pub fn is_csv(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Whether `--data` names a built-in toy set (and no file or directory of that name exists).
pub fn toy(path: &Path) -> Option<backprop::data::Toy> {
    let name = path.to_str()?;
    backprop::data::Toy::from_name(name).filter(|_| !path.exists())
}

/// What `train` passes on for a table.
pub struct TableTrain<'a> {
    pub data: &'a Path,
    pub samples: Option<usize>,
    pub noise: Option<f64>,
    pub target: Option<&'a str>,
    pub task: Option<Task>,
    pub test: Option<&'a Path>,
    pub test_split: Option<f64>,
    pub hidden: Option<&'a [usize]>,
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub seed: Option<u64>,
    pub learning_rate: Option<f64>,
    pub l2: Option<f64>,
    pub early_stop: Option<usize>,
    pub out: &'a Path,
    pub log: Option<&'a Path>,
    pub json: bool,
}

pub fn train(a: TableTrain<'_>) -> anyhow::Result<ExitCode> {
    let table = match toy(a.data) {
        Some(t) => Table {
            data: t.generate(
                a.samples.unwrap_or(500),
                a.noise.unwrap_or(0.1),
                a.seed.unwrap_or(3),
            )?,
            feature_names: vec!["x1".into(), "x2".into()],
            target_name: "class".into(),
            class_names: None,
        },
        None => {
            let Some(target) = a.target else {
                bail!(
                    "{}: a CSV file needs --target NAME, the column to predict",
                    a.data.display()
                );
            };
            read_csv(a.data, target, a.task, None)?
        }
    };
    let target = table.target_name.as_str();
    let task = if table.data.is_regression() {
        Task::Regress
    } else {
        Task::Classify
    };
    let seed = a.seed.unwrap_or(3);
    let (train_set, test_set) = match (a.test, a.test_split) {
        (Some(_), Some(_)) => bail!("give --test FILE or --test-split F, not both"),
        (Some(path), None) => {
            let test = read_csv(path, target, Some(task), table.class_names.as_deref())?;
            if test.feature_names != table.feature_names {
                bail!(
                    "{}: the columns {} differ from the training file's {}",
                    path.display(),
                    test.feature_names.join(","),
                    table.feature_names.join(",")
                );
            }
            (table.data.clone(), test.data)
        }
        (None, split) => {
            let f = split.unwrap_or(0.2);
            table
                .data
                .split_stratified(f, seed)
                .with_context(|| format!("--test-split {f}"))?
        }
    };
    let hidden = a.hidden.unwrap_or(&[32]);
    let mut mlp = match task {
        Task::Classify => Mlp::classifier(hidden),
        Task::Regress => Mlp::regressor(hidden),
    }
    .seed(seed);
    if let Some(e) = a.epochs {
        mlp = mlp.epochs(e);
    }
    if let Some(b) = a.batch_size {
        mlp = mlp.batch_size(b);
    }
    if let Some(eta) = a.learning_rate {
        mlp = mlp.learning_rate(eta);
    }
    if let Some(l2) = a.l2 {
        mlp = mlp.l2(l2);
    }
    mlp.train.early_stopping = match a.early_stop {
        Some(p) => (p > 0).then_some(p),
        // Real targets in a small table overfit long before 100 epochs; R² on a held-out tenth
        // says when (diabetes: test R² 0.13 → 0.29, docs/tables.md). Accuracy on a few rows
        // is too coarse to say it for classes.
        None if task == Task::Regress && train_set.len() >= EARLY_STOP_ROWS => {
            Some(EARLY_STOP_PATIENCE)
        }
        None => None,
    };
    let log_path = a
        .log
        .map_or_else(|| a.out.with_extension("log.jsonl"), Path::to_path_buf);
    for (flag, path) in [("--out", a.out), ("--log", log_path.as_path())] {
        backprop::model_io::check_writable(path)
            .with_context(|| format!("{flag} cannot be written"))?;
    }
    if log_path == a.out {
        bail!(
            "the model and its log must be two different files, not both {}",
            a.out.display()
        );
    }
    let early = match mlp.train.early_stopping {
        Some(p) => format!(
            ", early stop after {p} epochs without progress on {:.0}% held out",
            100.0 * mlp.validation_fraction
        ),
        None => String::new(),
    };
    eprintln!(
        "training {} on {} rows of {} ({} features, target {target:?}, {}), {} epochs{early}, seed {seed}; testing on {} rows",
        hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join("-"),
        train_set.len(),
        a.data.display(),
        table.feature_names.len(),
        match &table.class_names {
            Some(c) => format!("{} classes", c.len()),
            None => "regression".into(),
        },
        mlp.train.epochs,
        test_set.len()
    );
    let partial_log = super::train::partial_log_path(&log_path);
    let mut lines = EpochLines::new(
        a.json,
        task == Task::Regress,
        mlp.train.early_stopping.is_some(),
        &partial_log,
    );
    if !a.json {
        let heading = lines.heading();
        lines.print(&heading);
    }
    let fitted = mlp.fit_dataset_with(&train_set, Some(&test_set), &mut lines);
    if let Some(e) = lines.error.take() {
        return Err(e.context("training stopped; no model was saved"));
    }
    let (mut model, history) = fitted.context("training failed; no model was saved")?;
    model.info.feature_names = Some(table.feature_names.clone());
    model.info.class_names = table.class_names.clone();
    model.info.target_names = Some(vec![table.target_name.clone()]);
    let e = model.evaluate(&test_set)?;
    model.save(a.out)?;
    // The model is saved: now, and only now, its log replaces the previous run's.
    backprop::model_io::write_atomically(&log_path, lines.log.as_bytes())?;
    let _ = std::fs::remove_file(&partial_log);
    if let (Stop::NoImprovement, Some(best)) = (history.stop, history.best_epoch) {
        eprintln!(
            "stopped early: no validation improvement in {} epochs; kept epoch {best} of {}",
            mlp.train.early_stopping.unwrap_or_default(),
            history.epochs.len()
        );
    }
    print_evaluation(&model.info, &e, a.json);
    eprintln!("saved {}; log in {}", a.out.display(), log_path.display());
    Ok(ExitCode::SUCCESS)
}

pub fn eval(
    model_path: &Path,
    data: &Path,
    target: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let model = Model::load(model_path)?;
    let target = match (target, model.info.target_names.as_deref()) {
        (Some(t), _) => t.to_string(),
        (None, Some([t])) => t.clone(),
        _ => bail!(
            "{}: give --target NAME, the column to compare with",
            data.display()
        ),
    };
    let task = model.info.task.unwrap_or(Task::Classify);
    let table: Table = read_csv(data, &target, Some(task), model.info.class_names.as_deref())?;
    let mut data_set: Dataset = table.data;
    if let Some(names) = &model.info.feature_names {
        // The model's features in any order, as predict --data takes them.
        let order: Option<Vec<usize>> = names
            .iter()
            .map(|n| table.feature_names.iter().position(|f| f == n))
            .collect();
        match order {
            Some(order) if order.len() == table.feature_names.len() => {
                if order.iter().enumerate().any(|(j, &c)| j != c) {
                    data_set = in_order(&data_set, &order)?;
                }
            }
            _ => bail!(
                "{}: the columns {} are not the model's {}",
                data.display(),
                table.feature_names.join(","),
                names.join(",")
            ),
        }
    }
    let e = model.evaluate(&data_set)?;
    print_evaluation(&model.info, &e, json);
    Ok(ExitCode::SUCCESS)
}

/// `data` with its feature columns taken in `order` (the file's column of each model input).
fn in_order(data: &Dataset, order: &[usize]) -> anyhow::Result<Dataset> {
    let d = data.n_inputs();
    let x: Vec<f32> = data
        .features_f32()
        .chunks_exact(d)
        .flat_map(|row| order.iter().map(move |&c| row[c]))
        .collect();
    Ok(match data.values() {
        Some(y) => Dataset::from_floats_regression(x, y.to_vec(), d, data.n_outputs())?,
        None => Dataset::from_floats(x, data.labels().to_vec(), d, data.n_classes())?,
    })
}

fn print_evaluation(info: &ModelInfo, e: &Evaluation, json: bool) {
    let names: Vec<String> = match &info.class_names {
        Some(n) => n.clone(),
        None => (0..e.confusion.len()).map(|i| i.to_string()).collect(),
    };
    if let Some(r) = &e.regression {
        if json {
            println!(
                "{}",
                json!({"n": e.n, "rmse": r.rmse, "mae": r.mae, "r2": r.r2})
            );
        } else {
            println!(
                "{} rows: RMSE {:.6}, MAE {:.6}, R² {:.4}",
                e.n, r.rmse, r.mae, r.r2
            );
        }
        return;
    }
    let stats = backprop::inspect::stats::per_class(&e.confusion);
    if json {
        let classes: Vec<_> = stats
            .iter()
            .zip(&names)
            .map(|(s, n)| json!({"class": n, "precision": s.precision, "recall": s.recall}))
            .collect();
        println!(
            "{}",
            json!({"n": e.n, "accuracy": e.accuracy(), "classes": classes, "confusion": e.confusion})
        );
        return;
    }
    println!("{} rows: accuracy {}", e.n, percent(e.accuracy()));
    println!("{:>12}  precision  recall", "class");
    for (s, n) in stats.iter().zip(&names) {
        let p = |v: Option<f64>| v.map_or("-".to_string(), percent);
        println!("{n:>12}  {:>9}  {:>6}", p(s.precision), p(s.recall));
    }
    println!(
        "confusion (rows: actual, columns: predicted): {:?}",
        e.confusion
    );
}
