//! The JSON API behind `backprop serve`, called as a plain function: what a drawing gives, and
//! what every kind of bad request gets back.

use backprop::inspect::preprocess::{to_mnist, GreyImage};
use backprop::serve::{handle, shares, Response, MAX_BODY, MAX_DRAWING_SIDE, STRONGEST};
use backprop::{Architecture, Init, Network};
use serde_json::{json, Value};

fn net() -> Network<f32> {
    Network::new(&Architecture::notes(), Init::Normal, 7).unwrap()
}

/// A 60×60 white page with a dark slanted bar: a "1" drawn the way the page sends it.
fn one() -> (usize, usize, Vec<f64>) {
    let (w, h) = (60, 60);
    let mut pixels = vec![1.0; w * h];
    for y in 8..52 {
        let x0 = 28 + (52 - y) / 8;
        for x in x0..x0 + 5 {
            pixels[y * w + x] = 0.05;
        }
    }
    (w, h, pixels)
}

fn post(net: &Network<f32>, body: &str) -> (Response, Value) {
    let r = handle(net, "POST", "/api/predict", body.as_bytes());
    let v: Value = serde_json::from_slice(&r.body).expect("every answer is JSON");
    assert_eq!(r.content_type, "application/json");
    (r, v)
}

fn error_of(r: &Response, v: &Value) -> String {
    assert!(r.status >= 400 && r.status < 500, "status {}", r.status);
    v["error"].as_str().expect("an error message").to_owned()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn a_drawing_gives_predicts_preprocessing_and_every_layer() {
    let net = net();
    let (w, h, pixels) = one();
    let body = json!({"width": w, "height": h, "pixels": pixels}).to_string();
    let (r, v) = post(&net, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(v["ink"], true);
    assert_eq!(v["inverted"], true, "dark ink on white paper");

    // The input is exactly what predict's preprocessing makes of the same image.
    let image = GreyImage::new(w, h, pixels.iter().map(|&p| p as f32).collect()).unwrap();
    let x = to_mnist(&image).unwrap().pixels;
    assert_eq!(floats(&v["input"]), x);

    // Every layer is a^(l) of the notes' forward pass, layer by layer.
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    let mut a = x.clone();
    for (l, layer) in net.layers.iter().enumerate() {
        a = layer.feedforward(&a);
        assert_eq!(floats(&layers[l]), a, "layer {}", l + 1);
    }
    assert_eq!(a, net.feedforward(&x).unwrap());
    assert_eq!(v["prediction"], net.predict(&x).unwrap());
    let p: Vec<f64> = v["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .collect();
    assert_eq!(p, shares(&a));
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-6);

    // The strongest connections into neuron 0 of layer 2 are its largest |w_0k · a_k|.
    let strongest = &v["strongest"][1][0];
    let a1 = floats(&layers[0]);
    let mut c: Vec<f32> = (0..16)
        .map(|k| (net.layers[1].w(0, k) * a1[k]).abs())
        .collect();
    c.sort_by(|x, y| y.total_cmp(x));
    let got: Vec<f32> = strongest
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair[1].as_f64().unwrap().abs() as f32)
        .collect();
    assert_eq!(got, c[..STRONGEST]);
    let k = strongest[0][0].as_u64().unwrap() as usize;
    assert_eq!(
        strongest[0][1].as_f64().unwrap() as f32,
        net.layers[1].w(0, k) * a1[k]
    );
}

#[test]
fn a_blank_page_is_200_with_no_ink() {
    let (r, v) = post(
        &net(),
        &json!({"width": 3, "height": 2, "pixels": [1, 1, 1, 1, 1, 1]}).to_string(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(v["ink"], false);
    assert!(v["message"].as_str().unwrap().contains("no ink"));
    assert!(v.get("prediction").is_none());
}

#[test]
fn malformed_json_is_400() {
    let net = net();
    for body in [
        "",
        "{",
        "not json",
        "[1, 2, 3]",
        r#"{"width": 2, "height": 1}"#,
        r#"{"width": -2, "height": 1, "pixels": [0, 1]}"#,
        r#"{"width": 2, "height": 1, "pixels": ["a", "b"]}"#,
        r#"{"width": 2, "height": 1, "pixels": [0, 1], "colour": true}"#,
    ] {
        let (r, v) = post(&net, body);
        assert_eq!(r.status, 400, "{body:?} → {}", r.text());
        assert!(error_of(&r, &v).starts_with("the body is not a drawing"));
    }
    let r = handle(&net, "POST", "/api/predict", &[0xff, 0xfe, 0x00]);
    assert_eq!(r.status, 400);
}

#[test]
fn wrong_pixel_counts_sizes_and_values_are_422() {
    let net = net();
    let cases = [
        (
            json!({"width": 3, "height": 2, "pixels": [0, 1, 0, 1, 0]}),
            "a 3×2 drawing has 6 pixels, the request sent 5",
        ),
        (
            json!({"width": 2, "height": 1, "pixels": [0, 1, 1]}),
            "a 2×1 drawing has 2 pixels, the request sent 3",
        ),
        (
            json!({"width": 0, "height": 0, "pixels": []}),
            "the drawing is 0×0",
        ),
        // Sides are checked before width × height is computed or anything is allocated.
        (
            json!({"width": MAX_DRAWING_SIDE + 1, "height": 1, "pixels": [0]}),
            "each side must be 1 to 1024 pixels",
        ),
        (
            json!({"width": u64::MAX, "height": u64::MAX, "pixels": [0]}),
            "each side must be 1 to 1024 pixels",
        ),
        (
            json!({"width": 2, "height": 1, "pixels": [0.5, 1.5]}),
            "pixel 1 is 1.5; grey levels must be in 0..1",
        ),
        (
            json!({"width": 2, "height": 1, "pixels": [-0.25, 1]}),
            "pixel 0 is -0.25",
        ),
    ];
    for (body, expected) in cases {
        let (r, v) = post(&net, &body.to_string());
        assert_eq!(r.status, 422, "{body} → {}", r.text());
        let message = error_of(&r, &v);
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
}

#[test]
fn oversized_bodies_are_413() {
    let net = net();
    let body = vec![b' '; MAX_BODY + 1];
    let r = handle(&net, "POST", "/api/predict", &body);
    assert_eq!(r.status, 413);
    assert!(r.text().contains("at most 1048576"), "{}", r.text());
    // Exactly the limit is read and judged on its content (here: not JSON).
    let r = handle(&net, "POST", "/api/predict", &body[..MAX_BODY]);
    assert_eq!(r.status, 400);
}

#[test]
fn unknown_routes_are_404_and_wrong_methods_405() {
    let net = net();
    for path in [
        "/nope",
        "/api",
        "/api/predict/extra",
        "/api/weights",
        "/api/weights/1",
        "/api/weights/1/2/3",
        "/api/weights/a/b",
        "/api/weights/0/0",
        "/api/weights/4/0",
        "/api/weights/1/16",
        "/api/weights/3/10",
        "/index.htm",
    ] {
        let r = handle(&net, "GET", path, b"");
        assert_eq!(r.status, 404, "{path} → {}", r.text());
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert!(!v["error"].as_str().unwrap().is_empty());
    }
    let r = handle(&net, "GET", "/api/weights/2/16", b"");
    assert!(
        r.text().contains("layer 2 has neurons 0 to 15"),
        "{}",
        r.text()
    );
    for (method, path) in [
        ("GET", "/api/predict"),
        ("POST", "/api/model"),
        ("DELETE", "/"),
        ("PUT", "/api/weights/1/0"),
    ] {
        let r = handle(&net, method, path, b"");
        assert_eq!(r.status, 405, "{method} {path} → {}", r.text());
    }
}

#[test]
fn model_and_weights_routes_describe_the_network() {
    let net = net();
    let r = handle(&net, "GET", "/api/model", b"");
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        v,
        json!({"sizes": [784, 16, 16, 10], "activations": ["sigmoid", "sigmoid", "sigmoid"],
               "cost": "quadratic", "parameters": 13002})
    );

    let r = handle(&net, "GET", "/api/weights/1/5", b"");
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (v["layer"].as_u64(), v["neuron"].as_u64()),
        (Some(1), Some(5))
    );
    assert_eq!(
        v["side"], 28,
        "the first layer's weights are a 28×28 picture"
    );
    let w = floats(&v["weights"]);
    assert_eq!(w.len(), 784);
    assert_eq!(w[100], net.layers[0].w(5, 100));
    assert_eq!(v["bias"].as_f64().unwrap() as f32, net.layers[0].biases[5]);

    let v: Value =
        serde_json::from_slice(&handle(&net, "GET", "/api/weights/3/9", b"").body).unwrap();
    assert_eq!(floats(&v["weights"]), net.layers[2].weights[9 * 16..]);
    assert_eq!(v["side"], Value::Null);
}

#[test]
fn the_page_is_one_self_contained_file() {
    let r = handle(&net(), "GET", "/", b"");
    assert_eq!(
        (r.status, r.content_type),
        (200, "text/html; charset=utf-8")
    );
    let html = r.text();
    for needed in [
        "<meta name=\"viewport\"",
        "id=\"pad\"",
        "pointerdown",
        "/api/predict",
        "/api/weights/",
    ] {
        assert!(html.contains(needed), "the page lacks {needed}");
    }
    // No external assets: nothing is loaded from another host.
    for external in ["http://", "https://", "src=\"//", "href=\"//"] {
        assert!(!html.contains(external), "the page refers to {external}");
    }
}

/// Replays what the fuzzer kept (`fuzz/seeds/serve_api`, `fuzz/corpus/serve_api`) on a stable
/// toolchain without cargo-fuzz, split as the fuzz target splits it (method from the first
/// byte, path up to the first newline, body after): every request gets a JSON or HTML answer
/// with a real status, and every error a one-line message.
#[test]
fn the_fuzz_corpus_gets_answers() {
    let net = Network::new(&Architecture::sigmoid(vec![784, 16, 10]), Init::Normal, 1).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut n, mut predicted) = (0, 0);
    for dir in ["fuzz/seeds/serve_api", "fuzz/corpus/serve_api"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let Some((&m, rest)) = bytes.split_first() else {
                continue;
            };
            let method = ["GET", "POST", "PUT", "HEAD", "DELETE"][m as usize % 5];
            let (path, body) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            let r = handle(&net, method, &String::from_utf8_lossy(path), body);
            assert!((200..600).contains(&r.status));
            if r.content_type == "application/json" {
                let v: Value = serde_json::from_slice(&r.body).unwrap();
                if r.status >= 400 {
                    let message = v["error"].as_str().unwrap();
                    assert!(
                        !message.is_empty() && !message.contains('\n'),
                        "{message:?}"
                    );
                }
                predicted += usize::from(v["ink"] == json!(true));
            }
            n += 1;
        }
    }
    assert!(n > 100, "only {n} inputs: is fuzz/corpus/serve_api there?");
    assert!(predicted >= 1, "the seed drawings are predicted");
}
