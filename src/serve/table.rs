//! `backprop serve` for a model trained on a table: a form with one number per feature, and the
//! answer — a class with every class's probability, or a value in the target's units.
//!
//! ```text
//! GET  /              the form (table.html: HTML, CSS and JS in one file, no external assets)
//! GET  /api/model     {"task", "features": [{"name", "mean"}], "classes", "target", "sizes", ...}
//! POST /api/predict   {"features": [x₁, ..., x_d]}  or  {"row": {"name": x, ...}}
//!                     → {"class", "index", "probabilities": {class: p}}  or  {"value"} / {"values"}
//! ```
//!
//! The features are raw, as in the training file: [`Model`] standardises them with the means and
//! deviations in the model file, and answers regression in the target's units. A body that is not
//! such JSON, the wrong number of features, a missing or unknown name, or a value that is not a
//! finite `f32` gets 400 and `{"error": "..."}`.

use super::{method_not_allowed, too_large, Failure, Response, MAX_BODY};
use crate::model_io::Task;
use crate::{argmax, Model};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The form, embedded in the binary.
pub const TABLE_HTML: &str = include_str!("table.html");

/// What `/api/predict` takes: the features in the model's order, or by name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    features: Option<Vec<f64>>,
    row: Option<BTreeMap<String, f64>>,
}

/// The routes of a table model's page.
pub struct TableApp {
    model: Model,
    names: Vec<String>,
}

impl TableApp {
    /// The page for `model` (its features named `x1`, `x2`, ... if the file has no names).
    pub fn new(model: Model) -> TableApp {
        let names = match &model.info.feature_names {
            Some(n) => n.clone(),
            None => (1..=model.net.n_inputs())
                .map(|i| format!("x{i}"))
                .collect(),
        };
        TableApp { model, names }
    }

    /// Answers one request. `path` may carry a query string, which is ignored.
    pub fn handle(&self, method: &str, path: &str, body: &[u8]) -> Response {
        let path = path.split(['?', '#']).next().unwrap_or("");
        if body.len() > MAX_BODY {
            return too_large(body.len());
        }
        let get = method == "GET" || method == "HEAD";
        match path {
            "/" | "/index.html" if get => Response {
                status: 200,
                content_type: "text/html; charset=utf-8",
                body: TABLE_HTML.as_bytes().to_vec(),
            },
            "/api/model" if get => Response::json(200, &self.describe()),
            "/api/predict" if method == "POST" => match self.predict(body) {
                Ok(v) => Response::json(200, &v),
                Err((status, message)) => Response::error(status, message),
            },
            "/" | "/index.html" | "/api/model" => method_not_allowed(method, path, "GET"),
            "/api/predict" => method_not_allowed(method, path, "POST"),
            _ => Response::error(
                404,
                format!("no such page: {path} (a table model's page has /, /api/model and /api/predict)"),
            ),
        }
    }

    fn describe(&self) -> Value {
        let info = &self.model.info;
        let means = info.input_scaler.as_ref().map(|s| &s.mean);
        let features: Vec<Value> = self
            .names
            .iter()
            .enumerate()
            .map(|(j, name)| json!({"name": name, "mean": means.map(|m| m[j])}))
            .collect();
        let arch = self.model.net.architecture();
        json!({
            "table": true,
            "task": info.task.unwrap_or(Task::Classify),
            "features": features,
            "classes": self.classes(),
            "target": info.target_names,
            "sizes": arch.sizes,
            "activations": arch.activations,
            "parameters": self.model.net.n_parameters(),
        })
    }

    /// The class names (or numbers) of a classifier.
    fn classes(&self) -> Option<Vec<String>> {
        if self.model.is_regression() {
            return None;
        }
        Some(match &self.model.info.class_names {
            Some(n) => n.clone(),
            None => (0..self.model.net.n_outputs())
                .map(|i| i.to_string())
                .collect(),
        })
    }

    /// The features of a request, in input order, as checked `f32`s.
    fn features(&self, body: &[u8]) -> Result<Vec<f32>, Failure> {
        let usage = "send {\"features\": [x1, x2, ...]} or {\"row\": {\"name\": x, ...}}";
        let q: Query = serde_json::from_slice(body).map_err(|e| {
            (
                400,
                format!("the body is not a row of features: {e}; {usage}"),
            )
        })?;
        let d = self.names.len();
        let values: Vec<f64> = match (q.features, q.row) {
            (Some(x), None) => {
                if x.len() != d {
                    return Err((
                        400,
                        format!(
                            "the model takes {d} features ({}), the request sent {}",
                            self.names.join(", "),
                            x.len()
                        ),
                    ));
                }
                x
            }
            (None, Some(mut row)) => {
                let x = self
                    .names
                    .iter()
                    .map(|n| {
                        row.remove(n)
                            .ok_or_else(|| (400, format!("the row has no feature {n:?}")))
                    })
                    .collect::<Result<Vec<f64>, Failure>>()?;
                if let Some(extra) = row.keys().next() {
                    return Err((
                        400,
                        format!(
                            "{extra:?} is not a feature of the model ({})",
                            self.names.join(", ")
                        ),
                    ));
                }
                x
            }
            _ => return Err((400, format!("give either features or row; {usage}"))),
        };
        values
            .iter()
            .enumerate()
            .map(|(j, &v)| {
                let x = v as f32;
                if x.is_finite() {
                    Ok(x)
                } else {
                    Err((
                        400,
                        format!(
                            "feature {} ({}) is {v:e}, beyond the range of f32 (±3.4e38)",
                            j + 1,
                            self.names[j]
                        ),
                    ))
                }
            })
            .collect()
    }

    fn predict(&self, body: &[u8]) -> Result<Value, Failure> {
        let x = self.features(body)?;
        let a = self
            .model
            .outputs_batch(&x)
            .map_err(|e| (400, e.to_string()))?;
        if !a.iter().all(|v| v.is_finite()) {
            return Err((
                400,
                "the outputs are not finite numbers for these features".into(),
            ));
        }
        if self.model.is_regression() {
            let target = &self.model.info.target_names;
            return Ok(match (a.as_slice(), target.as_deref()) {
                ([v], _) => json!({"value": v, "target": target.as_ref().and_then(|t| t.first())}),
                (_, Some(names)) if names.len() == a.len() => {
                    let values: Map<String, Value> = names
                        .iter()
                        .zip(&a)
                        .map(|(n, v)| (n.clone(), json!(v)))
                        .collect();
                    json!({"values": values})
                }
                _ => json!({"values": a}),
            });
        }
        let classes = self.classes().unwrap_or_default();
        let p = super::shares(&a);
        let c = argmax(&a);
        let probabilities: Map<String, Value> = classes
            .iter()
            .zip(&p)
            .map(|(n, p)| (n.clone(), json!(p)))
            .collect();
        Ok(json!({
            "class": classes[c],
            "index": c,
            "probabilities": probabilities,
        }))
    }
}
