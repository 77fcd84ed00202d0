//! `backprop serve` for a model trained on a table: the form, `/api/model` with the training
//! means, `/api/predict` by position and by name (the library's answer, in the target's units),
//! and every kind of bad request refused with 400 and a JSON error. As plain function calls on
//! `TableApp`, then once through the real server.

use crate::common::table_classifier as classifier;
use crate::http;
use backprop::serve::{Response, TableApp, TABLE_HTML};
use backprop::{Mlp, Model, Prediction, Rng};
use serde_json::{json, Value};

/// y = 100 + 30x₁ − 20x₂, without feature names.
fn regressor() -> Model {
    let mut rng = Rng::new(4);
    let rows: Vec<[f32; 2]> = (0..300)
        .map(|_| [(rng.normal() * 5.0) as f32, (rng.normal() + 10.0) as f32])
        .collect();
    let y: Vec<f32> = rows
        .iter()
        .map(|r| 100.0 + 30.0 * r[0] - 20.0 * r[1])
        .collect();
    let mut m = Mlp::regressor(&[8]).epochs(40).fit(&rows, &y).unwrap();
    m.info.target_names = Some(vec!["price".into()]);
    m
}

fn post(app: &TableApp, body: &str) -> (Response, Value) {
    let r = app.handle("POST", "/api/predict", body.as_bytes());
    assert_eq!(r.content_type, "application/json");
    let v = serde_json::from_slice(&r.body).expect("every answer is JSON");
    (r, v)
}

#[test]
fn a_row_by_position_or_by_name_gets_the_models_answer() {
    let model = classifier();
    let app = TableApp::new(model.clone());
    let (r, by_position) = post(&app, r#"{"features": [14.5, 30]}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    let (_, by_name) = post(&app, r#"{"row": {"depth": 30, "width": 14.5}}"#);
    assert_eq!(by_position, by_name);
    let Prediction::Class { index, name, score } = model.predict(&[14.5, 30.0]).unwrap() else {
        panic!("a class")
    };
    assert_eq!(by_name["class"].as_str(), name.as_deref());
    assert_eq!(by_name["index"], index);
    assert_eq!(by_name["class"], "high");
    let p = by_name["probabilities"].as_object().unwrap();
    // The outputs divided by their sum, as predict shows them: softmax's, to rounding.
    assert!(
        (p["high"].as_f64().unwrap() - score as f64).abs() < 1e-6,
        "{p:?} {score}"
    );
    assert!((p["low"].as_f64().unwrap() + p["high"].as_f64().unwrap() - 1.0).abs() < 1e-6);
    let (_, low) = post(&app, r#"{"features": [5, 0]}"#);
    assert_eq!(low["class"], "low");
}

#[test]
fn a_regression_answers_in_the_targets_units() {
    let model = regressor();
    let app = TableApp::new(model.clone());
    let (r, v) = post(&app, r#"{"features": [1, 10]}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    let expected = model.predict(&[1.0, 10.0]).unwrap().value().unwrap();
    assert_eq!(v["value"].as_f64().unwrap() as f32, expected);
    // y spreads by 30·5 = 150: an answer in standardised units would be near -1.
    assert!(
        (expected - -70.0).abs() < 15.0,
        "{expected}, expected about -70"
    );
    assert_eq!(v["target"], "price");
    // Without feature names in the file, the names are x1, x2, ...
    let (_, by_name) = post(&app, r#"{"row": {"x1": 1, "x2": 10}}"#);
    assert_eq!(by_name, v);
    let m = app.handle("GET", "/api/model", b"");
    let m: Value = serde_json::from_slice(&m.body).unwrap();
    assert_eq!(m["task"], "regress");
    assert!(m["classes"].is_null());
}

#[test]
fn the_model_route_gives_the_form_its_features_and_training_means() {
    let model = classifier();
    let means = model.info.input_scaler.clone().unwrap().mean;
    let app = TableApp::new(model);
    let r = app.handle("GET", "/api/model", b"");
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["table"], true);
    assert_eq!(v["task"], "classify");
    assert_eq!(v["classes"], json!(["low", "high"]));
    assert_eq!(v["target"], json!(["size"]));
    assert_eq!(v["sizes"], json!([2, 8, 2]));
    let f = v["features"].as_array().unwrap();
    assert_eq!(
        (f[0]["name"].as_str(), f[1]["name"].as_str()),
        (Some("width"), Some("depth"))
    );
    assert_eq!(f[0]["mean"].as_f64().unwrap() as f32, means[0]);
    assert!((means[0] - 10.0).abs() < 1.0, "{means:?}");
    let page = app.handle("GET", "/", b"");
    assert_eq!(
        (page.status, page.content_type),
        (200, "text/html; charset=utf-8")
    );
    assert_eq!(page.text(), TABLE_HTML);
    assert!(!TABLE_HTML.contains("id=\"pad\""), "not the drawing page");
    assert!(TABLE_HTML.contains("/api/predict") && TABLE_HTML.contains("/api/model"));
}

#[test]
fn bad_requests_get_400_and_a_json_error() {
    let app = TableApp::new(classifier());
    let cases = [
        ("not json", "the body is not a row of features: expected"),
        ("[1, 2]", "the body is not a row of features"),
        (
            r#"{"features": [1]}"#,
            "the model takes 2 features (width, depth), the request sent 1",
        ),
        (r#"{"features": [1, 2, 3]}"#, "the request sent 3"),
        (
            r#"{"features": [1, "2"]}"#,
            "the body is not a row of features: invalid type: string",
        ),
        (
            r#"{"features": [1, NaN]}"#,
            "the body is not a row of features",
        ),
        (r#"{"features": [1, 1e999]}"#, "number out of range"),
        (
            r#"{"features": [1, 1e39]}"#,
            "feature 2 (depth) is 1e39, beyond the range of f32 (±3.4e38)",
        ),
        (
            r#"{"features": [1, 2], "row": {"width": 1}}"#,
            "give either features or row",
        ),
        ("{}", "give either features or row"),
        (r#"{"pixels": [1, 2]}"#, "unknown field `pixels`"),
        (
            r#"{"row": {"width": 1}}"#,
            "the row has no feature \"depth\"",
        ),
        (
            r#"{"row": {"width": 1, "depth": 2, "colour": 3}}"#,
            "\"colour\" is not a feature of the model (width, depth)",
        ),
    ];
    for (body, expected) in cases {
        let (r, v) = post(&app, body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let err = v["error"].as_str().unwrap();
        assert!(
            err.contains(expected),
            "{body}: {err:?} should say {expected:?}"
        );
    }
    let r = app.handle("GET", "/api/predict", b"");
    assert_eq!(r.status, 405);
    let r = app.handle("POST", "/api/model", b"{}");
    assert_eq!(r.status, 405);
    let r = app.handle("GET", "/api/weights/1/0", b"");
    assert_eq!(r.status, 404);
    assert!(r
        .text()
        .contains("a table model's page has /, /api/model and /api/predict"));
    let big = vec![b' '; backprop::serve::MAX_BODY + 1];
    assert_eq!(app.handle("POST", "/api/predict", &big).status, 413);
}

#[test]
fn the_server_serves_a_table_models_form() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("table.safetensors");
    let model = classifier();
    model.save(&path).unwrap();
    let served = http::Served::start(&path);
    let (status, page) = http::request(served.port, "GET", "/", None);
    assert_eq!(status, 200);
    assert_eq!(String::from_utf8_lossy(&page), TABLE_HTML);
    let v = http::json(
        served.port,
        "POST",
        "/api/predict",
        Some(&json!({"row": {"width": 14.5, "depth": 30}})),
    );
    assert_eq!(v["class"], "high");
    let (status, body) = http::request(
        served.port,
        "POST",
        "/api/predict",
        Some(b"{\"features\": [1]}"),
    );
    assert_eq!(status, 400);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("takes 2 features"),
        "{v}"
    );
    // A table model's page needs no data set.
    let out = assert_cmd::Command::cargo_bin("backprop")
        .unwrap()
        .args(["serve", "--port", "0", "--model"])
        .arg(&path)
        .args(["--data", "somewhere"])
        .assert()
        .failure()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("--data somewhere: a table model's page needs no data"),
        "{err}"
    );
}
