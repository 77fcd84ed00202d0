//! The backward pass of one drawing (`POST /api/backprop`), gradient steps on the working copy,
//! and live training (`/api/train`), called through `backprop::serve::App` and, for the
//! step-through-an-epoch check, through a running `backprop serve --train` against
//! `backprop train`.

use crate::http;

use assert_cmd::cargo::CommandCargoExt;
use backprop::serve::{App, Response};
use backprop::{Activation, Architecture, Cost, Init, Network};
use serde_json::{json, Value};
use std::process::{Command, Stdio};

/// A 60×60 white page with a dark "7": a bar across the top and a stroke down-left.
fn seven() -> Value {
    let (w, h) = (60usize, 60usize);
    let mut pixels = vec![1.0f64; w * h];
    for y in 10..15 {
        for x in 14..46 {
            pixels[y * w + x] = 0.0;
        }
    }
    for y in 15..52 {
        let x0: usize = 44 - (y - 15) * 18 / 37;
        for x in x0.saturating_sub(2)..x0 + 3 {
            pixels[y * w + x] = 0.0;
        }
    }
    json!({"width": w, "height": h, "pixels": pixels})
}

fn call(app: &App, method: &str, path: &str, body: &Value) -> (Response, Value) {
    let r = app.handle(method, path, body.to_string().as_bytes());
    let v: Value = serde_json::from_slice(&r.body).expect("every answer is JSON");
    (r, v)
}

fn ok(app: &App, path: &str, body: &Value) -> Value {
    let (r, v) = call(app, "POST", path, body);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    v
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn labelled(label: usize) -> Value {
    let mut b = seven();
    b["label"] = json!(label);
    b
}

/// C₀ of `net` (f64) for (x, y), with the activations of layer `l` (1-based) replaced by
/// `a_l` if given.
fn cost_from(net: &Network<f64>, x: &[f64], y: &[f64], l: usize, a_l: Option<&[f64]>) -> f64 {
    let mut a = x.to_vec();
    for (i, layer) in net.layers.iter().enumerate() {
        a = layer.feedforward(&a);
        if i + 1 == l {
            if let Some(v) = a_l {
                a = v.to_vec();
            }
        }
    }
    net.cost.value(&a, y)
}

/// The API's numbers are Network::backprop's, bit for bit, and agree with central finite
/// differences of C₀ in f64: ∂C₀/∂a for every neuron, δ = ∂C₀/∂b for every neuron, and the
/// strongest ∂C₀/∂w_jk.
#[test]
fn backprop_api_is_network_backprop_and_finite_differences() {
    let pairs = [
        (Activation::Sigmoid, Activation::Sigmoid, Cost::Quadratic),
        (Activation::Sigmoid, Activation::Sigmoid, Cost::CrossEntropy),
        (Activation::Tanh, Activation::Softmax, Cost::LogLikelihood),
        (Activation::Relu, Activation::Sigmoid, Cost::Quadratic),
        (Activation::Tanh, Activation::Identity, Cost::Quadratic),
        (Activation::Relu, Activation::Softmax, Cost::Quadratic),
    ];
    let mut worst: f64 = 0.0;
    for (hidden, output, cost) in pairs {
        let arch = Architecture {
            sizes: vec![784, 12, 10, 10],
            activations: vec![hidden, hidden, output],
            cost,
        };
        let mut net = Network::<f32>::new(&arch, Init::Xavier, 5).unwrap();
        // Small first-layer weights keep sigmoid/tanh units off their flat ends.
        net.layers[0].weights.iter_mut().for_each(|w| *w *= 0.3);
        let app = App::new(net.clone(), None);
        let label = 3;
        let v = ok(&app, "/api/backprop", &labelled(label));
        let x = f32s(&v["input"]);
        let mut y = vec![0.0f32; 10];
        y[label] = 1.0;
        let (g, c) = net.backprop(&x, &y).unwrap();
        assert_eq!(
            v["cost"].as_f64().unwrap() as f32,
            c,
            "{hidden}/{output}/{cost}"
        );
        assert_eq!(
            v["prediction"],
            json!(backprop::argmax(&net.feedforward(&x).unwrap()))
        );
        let layers = v["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 3);
        for (l, layer) in layers.iter().enumerate() {
            // δ_j = ∂C₀/∂b_j of Network::backprop, bit for bit.
            assert_eq!(f32s(&layer["delta"]), g.layers[l].dc_db, "layer {}", l + 1);
        }
        for (l, per_neuron) in v["strongest"].as_array().unwrap().iter().enumerate() {
            for (j, pairs) in per_neuron.as_array().unwrap().iter().enumerate() {
                for p in pairs.as_array().unwrap() {
                    let k = p[0].as_u64().unwrap() as usize;
                    let n_in = net.layers[l].n_in;
                    assert_eq!(
                        p[1].as_f64().unwrap() as f32,
                        g.layers[l].dc_dw[j * n_in + k]
                    );
                }
            }
        }

        // Finite differences in f64 on the same network and input.
        let n64: Network<f64> = net.convert();
        let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let y64: Vec<f64> = y.iter().map(|&v| v as f64).collect();
        let h = 1e-6;
        let mut check = |api: f64, fd: f64, what: &str| {
            let err = (api - fd).abs() / fd.abs().max(1e-2);
            worst = worst.max(err);
            assert!(
                err < 1e-3,
                "{hidden}/{output}/{cost} {what}: API {api}, FD {fd}"
            );
        };
        let mut acts = vec![x64.clone()];
        for layer in &n64.layers {
            let a = layer.feedforward(acts.last().unwrap());
            acts.push(a);
        }
        for (l, layer) in layers.iter().enumerate() {
            let dc_da = f32s(&layer["dc_da"]);
            let delta = f32s(&layer["delta"]);
            for j in 0..dc_da.len() {
                let mut plus = acts[l + 1].clone();
                let mut minus = plus.clone();
                plus[j] += h;
                minus[j] -= h;
                let fd = (cost_from(&n64, &x64, &y64, l + 1, Some(&plus))
                    - cost_from(&n64, &x64, &y64, l + 1, Some(&minus)))
                    / (2.0 * h);
                check(dc_da[j] as f64, fd, &format!("∂C₀/∂a_{j}^({})", l + 1));
                let mut p = n64.clone();
                p.layers[l].biases[j] += h;
                let mut m = n64.clone();
                m.layers[l].biases[j] -= h;
                let fd = (cost_from(&p, &x64, &y64, 0, None) - cost_from(&m, &x64, &y64, 0, None))
                    / (2.0 * h);
                check(delta[j] as f64, fd, &format!("δ_{j}^({})", l + 1));
            }
            for (j, pairs) in v["strongest"][l].as_array().unwrap().iter().enumerate() {
                for pair in pairs.as_array().unwrap() {
                    let k = pair[0].as_u64().unwrap() as usize;
                    let n_in = n64.layers[l].n_in;
                    let mut p = n64.clone();
                    p.layers[l].weights[j * n_in + k] += h;
                    let mut m = n64.clone();
                    m.layers[l].weights[j * n_in + k] -= h;
                    let fd = (cost_from(&p, &x64, &y64, 0, None)
                        - cost_from(&m, &x64, &y64, 0, None))
                        / (2.0 * h);
                    check(
                        pair[1].as_f64().unwrap(),
                        fd,
                        &format!("∂C₀/∂w_{j},{k}^({})", l + 1),
                    );
                }
            }
        }
        // The terms add up to C₀; the sum over j of what each neuron passes back is ∂C₀/∂a_k.
        let terms = f32s(&v["terms"]);
        assert!((terms.iter().sum::<f32>() - c).abs() <= 1e-5 * c.abs().max(1.0));
        for (l, layer) in layers.iter().enumerate().take(2) {
            let dc_da = f32s(&layer["dc_da"]);
            for (k, t) in layer["passed_back"].as_array().unwrap().iter().enumerate() {
                let sum = f32s(t).iter().fold(0.0f32, |s, &v| s + v);
                assert_eq!(sum, dc_da[k], "layer {} neuron {k}", l + 1);
            }
        }
    }
    eprintln!("largest relative difference API vs finite differences: {worst:.2e}");
}

#[test]
fn a_step_lowers_the_cost_of_its_drawing_and_reset_undoes_it() {
    let net = Network::<f32>::new(&Architecture::notes(), Init::Normal, 7).unwrap();
    let app = App::new(net.clone(), None);
    let before = ok(&app, "/api/backprop", &labelled(3))["cost"]
        .as_f64()
        .unwrap();
    let mut body = labelled(3);
    body["learning_rate"] = json!(0.5);
    let s = ok(&app, "/api/step", &body);
    assert_eq!(s["steps"], 1);
    assert_eq!(s["before"]["cost"].as_f64().unwrap(), before);
    let after = s["after"]["cost"].as_f64().unwrap();
    assert!(after < before, "C₀ {before} → {after}");
    // The working copy changed, the loaded model did not: the next backward pass starts there.
    assert_eq!(
        ok(&app, "/api/backprop", &labelled(3))["cost"]
            .as_f64()
            .unwrap(),
        after
    );
    // θ ← θ − η∇C₀ exactly, with ∇C₀ from Network::backprop.
    let x = f32s(&ok(&app, "/api/backprop", &labelled(3))["input"]);
    let mut y = vec![0.0f32; 10];
    y[3] = 1.0;
    let (g, _) = net.backprop(&x, &y).unwrap();
    let mut stepped = net.clone();
    for (layer, g) in stepped.layers.iter_mut().zip(&g.layers) {
        layer
            .weights
            .iter_mut()
            .zip(&g.dc_dw)
            .for_each(|(w, g)| *w -= 0.5 * g);
        layer
            .biases
            .iter_mut()
            .zip(&g.dc_db)
            .for_each(|(b, g)| *b -= 0.5 * g);
    }
    assert_eq!(*app.network(), stepped);
    let r = ok(&app, "/api/reset", &json!({}));
    assert_eq!(r["steps"], 0);
    assert_eq!(*app.network(), net);
}

#[test]
fn bad_backprop_requests_get_one_line_errors() {
    let app = App::new(
        Network::<f32>::new(&Architecture::notes(), Init::Normal, 1).unwrap(),
        None,
    );
    let blank = json!({"width": 2, "height": 1, "pixels": [1, 1], "label": 3});
    let mut no_label = seven();
    no_label["label"] = Value::Null;
    let mut bad_eta = labelled(1);
    bad_eta["learning_rate"] = json!(-1);
    for (path, body, status, words) in [
        (
            "/api/backprop",
            labelled(10),
            422,
            "label 10 does not exist",
        ),
        ("/api/backprop", seven(), 422, "no label"),
        ("/api/backprop", no_label, 422, "no label"),
        ("/api/backprop", blank, 422, "no ink"),
        ("/api/backprop", json!([1]), 400, "not a labelled drawing"),
        ("/api/step", bad_eta, 422, "learning_rate is -1"),
        ("/api/train", json!({"action": "run"}), 404, "--train"),
    ] {
        let (r, v) = call(&app, "POST", path, &body);
        assert_eq!(r.status, status, "{path} {body}: {}", r.text());
        let e = v["error"].as_str().unwrap();
        assert!(e.contains(words) && !e.contains('\n'), "{e}");
    }
    assert_eq!(app.handle("GET", "/api/backprop", b"").status, 405);
    assert_eq!(app.handle("GET", "/api/step", b"").status, 405);
}

fn served(args: &[&str]) -> (http::Served, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("live.safetensors");
    let mut all = vec!["--train", "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    (http::Served::start_args(&all), dir)
}

/// Stepping through an epoch from the API — in uneven chunks, with a run and a pause between
/// — and saving gives the very file `backprop train` writes with the same flags.
#[test]
fn stepping_through_epochs_via_the_api_is_backprop_train_bit_for_bit() {
    let flags = ["--limit", "1500", "--epochs", "2", "--seed", "11"];
    let (server, dir) = served(&flags);
    let p = server.port;
    let t = http::json(p, "GET", "/api/train", None);
    assert_eq!(
        (t["state"].as_str(), t["steps"].as_u64()),
        (Some("paused"), Some(0))
    );
    assert_eq!(t["batches"], 150);
    for n in [1, 36, 100] {
        http::json(
            p,
            "POST",
            "/api/train",
            Some(&json!({"action": "step", "batches": n})),
        );
    }
    let t = http::json(p, "GET", "/api/train", None);
    assert_eq!(
        (
            t["epoch"].as_u64(),
            t["batch"].as_u64(),
            t["steps"].as_u64()
        ),
        (Some(1), Some(137), Some(137))
    );
    http::json(p, "POST", "/api/train", Some(&json!({"action": "run"})));
    let t = http::json(p, "POST", "/api/train", Some(&json!({"action": "pause"})));
    assert_ne!(t["state"], "running");
    let t = http::json(
        p,
        "POST",
        "/api/train",
        Some(&json!({"action": "step", "batches": 1_000_000})),
    );
    assert_eq!(
        (t["state"].as_str(), t["steps"].as_u64()),
        (Some("done"), Some(300))
    );
    assert_eq!(t["history"].as_array().unwrap().len(), 2);
    assert!(t["curve"].as_array().unwrap().len() >= 5);
    http::json(p, "POST", "/api/train", Some(&json!({"action": "save"})));

    let reference = dir.path().join("train.safetensors");
    let status = Command::cargo_bin("backprop")
        .unwrap()
        .args(["train", "--out"])
        .arg(&reference)
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let live = std::fs::read(dir.path().join("live.safetensors")).unwrap();
    assert_eq!(
        live,
        std::fs::read(&reference).unwrap(),
        "the saved model is train's, byte for byte"
    );
    // The log too, line for line (the seconds aside).
    let strip = |text: String| -> Vec<Value> {
        text.lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v["seconds"] = Value::Null;
                v
            })
            .collect()
    };
    assert_eq!(
        strip(std::fs::read_to_string(dir.path().join("live.log.jsonl")).unwrap()),
        strip(std::fs::read_to_string(dir.path().join("train.log.jsonl")).unwrap())
    );
}

#[test]
fn training_commands_are_checked_and_the_learning_rate_goes_in_the_log() {
    let (server, dir) = served(&["--limit", "200", "--epochs", "1"]);
    let p = server.port;
    for (body, words) in [
        (json!({"action": "jump"}), "unknown action"),
        (json!({"action": "step", "batches": 0}), "batches is 0"),
        (
            json!({"action": "run", "batches": 3}),
            "goes with the action",
        ),
        (
            json!({"action": "step", "learning_rate": 0}),
            "learning_rate is 0",
        ),
        (json!({}), "no action"),
        (
            json!({"action": "save", "path": "/etc/passwd"}),
            "unknown field",
        ),
    ] {
        let (status, answer) =
            http::request(p, "POST", "/api/train", Some(body.to_string().as_bytes()));
        let text = String::from_utf8_lossy(&answer);
        assert!(
            (400..500).contains(&status) && text.contains(words),
            "{body} → {status} {text}"
        );
    }
    http::json(
        p,
        "POST",
        "/api/train",
        Some(&json!({"action": "step", "batches": 5})),
    );
    let t = http::json(
        p,
        "POST",
        "/api/train",
        Some(&json!({"learning_rate": 0.25})),
    );
    assert_eq!(t["learning_rate"], 0.25);
    let t = http::json(
        p,
        "POST",
        "/api/train",
        Some(&json!({"action": "step", "batches": 100})),
    );
    assert_eq!(t["state"], "done");
    let line = &t["history"][0];
    assert_eq!(line["learning_rate"], 0.25);
    assert_eq!(
        line["learning_rate_changes"],
        json!([{"batch": 5, "learning_rate": 0.25}])
    );
    let log = std::fs::read_to_string(dir.path().join("live.log.jsonl")).unwrap();
    assert!(log.contains("learning_rate_changes"), "{log}");
    // Health is there, per layer.
    assert_eq!(t["health"]["layers"].as_array().unwrap().len(), 3);
    // The backward pass works on the network being trained; stepping the working copy does not.
    let (status, _) = http::request(
        p,
        "POST",
        "/api/step",
        Some(labelled(1).to_string().as_bytes()),
    );
    assert_eq!(status, 409);
    let v = http::json(p, "POST", "/api/backprop", Some(&labelled(1)));
    assert!(v["cost"].as_f64().unwrap() > 0.0);
}
