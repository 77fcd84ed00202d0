//! `backprop predict --model M --data rows.csv`: a table model's answer for each row, streamed
//! (a few hundred rows are held at a time, whatever the file's length). A bad row ends the run
//! with exit 1 after the rows before it are answered.
//!
//! ```text
//! text    1: setosa 97.31% (target: setosa)          a class and its probability
//!         1: 152.3 (target: 151)                      a value in the target's units
//! --json  {"row":1,"class":"setosa","probabilities":{"setosa":0.97,...},"target":"setosa"}
//!         {"row":1,"value":152.3,"target":151.0}      ("values":{name: value} for several)
//! ```

use anyhow::bail;
use backprop::data::csv::{Row, Rows};
use backprop::model_io::ModelInfo;
use backprop::Model;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Rows answered per batch through the model's fast path.
const CHUNK: usize = 256;

/// Whether a model file describes a table model (a task, feature names or a scaler in its
/// metadata) rather than the digit models `predict IMAGE...` and the page take.
pub fn is_table_model(info: &ModelInfo) -> bool {
    info.task.is_some() || info.feature_names.is_some() || info.input_scaler.is_some()
}

pub fn run(model_path: &Path, model: Model, data: &Path, json: bool) -> anyhow::Result<ExitCode> {
    if !is_table_model(&model.info) {
        bail!(
            "{}: a digit model ({} inputs, no table in its metadata): give it images, `backprop predict --model {} IMAGE...`; --data is for models trained with `train --data FILE.csv`",
            model_path.display(),
            model.net.n_inputs(),
            model_path.display()
        );
    }
    let info = &model.info;
    let target = match info.target_names.as_deref() {
        Some([t]) => Some(t.as_str()),
        _ => None,
    };
    let d = model.net.n_inputs();
    let mut rows = Rows::open(data, info.feature_names.as_deref(), d, target)?;
    if !rows.ignored().is_empty() {
        eprintln!(
            "note: {}: ignoring the columns that are not features of the model: {}",
            data.display(),
            rows.ignored().join(", ")
        );
    }
    let mut out = std::io::stdout().lock();
    let mut x = vec![0f32; CHUNK * d];
    let mut batch: Vec<Row> = Vec::with_capacity(CHUNK);
    let mut answered = 0usize;
    // A bad row stops the run there, once the rows before it are answered.
    let mut bad_row = None;
    while bad_row.is_none() {
        batch.clear();
        while batch.len() < CHUNK {
            let at = batch.len() * d;
            match rows.next_into(&mut x[at..at + d]) {
                Ok(Some(row)) => batch.push(row),
                Ok(None) => break,
                Err(e) => {
                    bad_row = Some(e);
                    break;
                }
            }
        }
        if batch.is_empty() {
            break;
        }
        let a = model.outputs_batch(&x[..batch.len() * d])?;
        let k = model.net.n_outputs();
        for (row, a) in batch.iter().zip(a.chunks_exact(k)) {
            let line = if json {
                answer_json(&model, row, a).to_string()
            } else {
                answer_text(&model, row, a)
            };
            writeln!(out, "{line}")?;
        }
        answered += batch.len();
    }
    if let Some(e) = bad_row {
        return Err(e.into());
    }
    if answered == 0 {
        bail!("{}: a header but no rows", data.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The name of class `i`: from the metadata, else its number.
fn class_name(info: &ModelInfo, i: usize) -> String {
    match &info.class_names {
        Some(names) => names[i].clone(),
        None => i.to_string(),
    }
}

/// The names of the outputs of a regression with several targets.
fn value_names(info: &ModelInfo, k: usize) -> Vec<String> {
    match &info.target_names {
        Some(names) if names.len() == k => names.clone(),
        _ => (0..k).map(|j| format!("y{j}")).collect(),
    }
}

fn answer_text(model: &Model, row: &Row, a: &[f32]) -> String {
    let target = row
        .target
        .as_ref()
        .map(|t| format!(" (target: {t})"))
        .unwrap_or_default();
    if model.is_regression() {
        let answer = match a {
            [v] => v.to_string(),
            _ => value_names(&model.info, a.len())
                .iter()
                .zip(a)
                .map(|(n, v)| format!("{n} = {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        return format!("{}: {answer}{target}", row.number);
    }
    let p = backprop::serve::shares(a);
    let c = backprop::argmax(a);
    format!(
        "{}: {} {:.2}%{target}",
        row.number,
        class_name(&model.info, c),
        100.0 * p[c]
    )
}

fn answer_json(model: &Model, row: &Row, a: &[f32]) -> Value {
    let mut obj = json!({ "row": row.number });
    if model.is_regression() {
        match a {
            [v] => obj["value"] = json!(v),
            _ => {
                let values: Map<String, Value> = value_names(&model.info, a.len())
                    .into_iter()
                    .zip(a)
                    .map(|(n, v)| (n, json!(v)))
                    .collect();
                obj["values"] = Value::Object(values);
            }
        }
        if let Some(t) = &row.target {
            // A number where the cell is one; the text as it is otherwise.
            obj["target"] = match t.parse::<f64>() {
                Ok(v) if v.is_finite() => json!(v),
                _ => json!(t),
            };
        }
        return obj;
    }
    let p = backprop::serve::shares(a);
    let c = backprop::argmax(a);
    obj["class"] = json!(class_name(&model.info, c));
    let probabilities: Map<String, Value> = p
        .iter()
        .enumerate()
        .map(|(i, &p)| (class_name(&model.info, i), json!(p)))
        .collect();
    obj["probabilities"] = Value::Object(probabilities);
    if let Some(t) = &row.target {
        obj["target"] = json!(t);
    }
    obj
}
