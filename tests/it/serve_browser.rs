//! The page of `backprop serve` in a real headless Chromium, driven through WebDriver (plain
//! HTTP and JSON to `chromedriver`): draw a "1" on the canvas with the pointer, and check that
//! what the page shows — the prediction, every layer's activations, the 28×28 input, the bars —
//! is what the API answers for the same pixels. Then a neuron is clicked, and the page is checked
//! on a phone-sized viewport, drawn on by touch.
//!
//! Needs Debian's `chromium` and `chromium-driver`: `scripts/install-browser.sh`.
//! Screenshots go to a temporary directory; set `BACKPROP_SCREENSHOTS=DIR` to keep them (the
//! README's pictures were made so, with a fully trained model given as `BACKPROP_SERVE_MODEL`).

use crate::http;

use crate::common;

use assert_cmd::cargo::CommandCargoExt;
use http::Served;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    child: Child,
    port: u16,
    session: String,
}

impl Driver {
    fn start() -> Driver {
        for exe in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(exe).exists(),
                "{exe} is not installed: run scripts/install-browser.sh (Debian's chromium and chromium-driver)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut d = Driver {
            child,
            port,
            session: String::new(),
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,860", "--force-device-scale-factor=1", "--hide-scrollbars"]
            }
        }}});
        let v = http::json(port, "POST", "/session", Some(&caps));
        d.session = v["value"]["sessionId"].as_str().unwrap().to_owned();
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        http::json(self.port, method, &path, body.as_ref())["value"].take()
    }

    fn script(&self, js: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": args})),
        )
    }

    /// Polls `js` (a function body returning a boolean) until it is true.
    fn wait_for(&self, js: &str, what: &str) {
        let start = Instant::now();
        while self.script(js, json!([])) != json!(true) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}; the page: {} {}",
                self.script("return JSON.stringify(document.body.dataset);", json!([])),
                self.script("return document.querySelector('#trainstatus') ? document.querySelector('#trainstatus').textContent : '';", json!([]))
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn element(&self, css: &str) -> Value {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        let mut reference = serde_json::Map::new();
        reference.insert(ELEMENT.to_owned(), v[ELEMENT].clone());
        assert!(v[ELEMENT].is_string(), "no element {css}: {v}");
        Value::Object(reference)
    }

    /// A stroke through `points` (offsets from the element's centre, CSS pixels) with a mouse or
    /// a finger.
    fn stroke(&self, css: &str, pointer: &str, points: &[(i64, i64)]) {
        let origin = self.element(css);
        let mut actions = vec![
            json!({"type": "pointerMove", "duration": 0, "origin": origin,
                                      "x": points[0].0, "y": points[0].1}),
        ];
        actions.push(json!({"type": "pointerDown", "button": 0}));
        for &(x, y) in &points[1..] {
            actions.push(
                json!({"type": "pointerMove", "duration": 30, "origin": origin, "x": x, "y": y}),
            );
        }
        actions.push(json!({"type": "pointerUp", "button": 0}));
        self.call(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "pointer", "id": pointer,
                "parameters": {"pointerType": pointer}, "actions": actions}]})),
        );
        self.call("DELETE", "/actions", None);
    }

    /// The whole page, below the fold too (Chrome's DevTools protocol through chromedriver).
    fn screenshot(&self, path: &Path) {
        let shot = self.call(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": "Page.captureScreenshot",
                        "params": {"format": "png", "captureBeyondViewport": true}})),
        );
        write_png(path, shot["data"].as_str().unwrap());
    }
}

fn write_png(path: &Path, b64: &str) {
    let png = common::base64_decode(b64);
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    std::fs::write(path, png).unwrap();
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http::request(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The notes' network after 2 epochs (or the model in `BACKPROP_SERVE_MODEL`).
fn trained_model(dir: &Path) -> PathBuf {
    if let Some(m) = std::env::var_os("BACKPROP_SERVE_MODEL") {
        return m.into();
    }
    let path = dir.join("model.safetensors");
    let status = Command::cargo_bin("backprop")
        .unwrap()
        .args(["train", "--epochs", "2", "--out"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    path
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn assert_close(page: &[f64], api: &[f64], what: &str) {
    assert_eq!(page.len(), api.len(), "{what}: lengths");
    for (i, (p, a)) in page.iter().zip(api).enumerate() {
        assert!(
            (p - a).abs() <= 1e-9 + 1e-9 * a.abs(),
            "{what}[{i}]: page {p}, API {a}"
        );
    }
}

/// Waits for the page to have answered its last drawing, then checks everything it shows
/// against the API's answer for the very pixels it sent. Returns the predicted digit.
fn check_page_matches_api(d: &Driver, server: &Served) -> u64 {
    d.wait_for(
        "const b = document.body.dataset; return b.busy === '0' && +b.sent > 0 && b.sent === b.shown;",
        "the page's answer",
    );
    let page = d.script(
        "const $ = (id) => document.getElementById(id);
         return { sent: window.lastRequest, now: window.readDrawing(),
                  digit: $('prediction').dataset.digit, text: $('prediction').textContent,
                  layers: JSON.parse($('net').dataset.layers), input: JSON.parse($('net').dataset.input),
                  bars: [...document.querySelectorAll('#bars .pct')].map((e) => +e.dataset.p),
                  top: document.querySelector('#bars .lab.top').textContent };",
        json!([]),
    );
    assert_eq!(
        page["sent"], page["now"],
        "the answer shown is for the drawing on the pad"
    );
    let ink = floats(&page["sent"]["pixels"])
        .iter()
        .filter(|&&g| g < 0.5)
        .count();
    assert!(ink > 100, "the stroke left {ink} dark pixels on the pad");

    let api = http::json(server.port, "POST", "/api/predict", Some(&page["sent"]));
    assert_eq!(api["ink"], true);
    let digit = api["prediction"].as_u64().unwrap();
    assert_eq!(page["digit"], digit.to_string());
    assert_eq!(page["text"], digit.to_string());
    assert_eq!(page["top"], digit.to_string(), "the highlighted bar");
    assert_close(&floats(&page["input"]), &floats(&api["input"]), "input");
    assert_close(
        &floats(&page["bars"]),
        &floats(&api["probabilities"]),
        "bars",
    );
    let layers = api["layers"].as_array().unwrap();
    assert_eq!(page["layers"].as_array().unwrap().len(), layers.len());
    for (l, layer) in layers.iter().enumerate() {
        assert_close(
            &floats(&page["layers"][l]),
            &floats(layer),
            &format!("layer {}", l + 1),
        );
    }

    // The drawing shows them: of the first hidden layer's drawn neurons, the most active is
    // painted brighter than the least active.
    let a1 = floats(&layers[0]);
    let drawn = d.script(
        "return window.layout.filter((n) => n.layer === 1).map((n) => n.neuron);",
        json!([]),
    );
    let drawn: Vec<usize> = floats(&drawn).iter().map(|&j| j as usize).collect();
    let hi = *drawn
        .iter()
        .max_by(|&&i, &&j| a1[i].total_cmp(&a1[j]))
        .unwrap();
    let lo = *drawn
        .iter()
        .min_by(|&&i, &&j| a1[i].total_cmp(&a1[j]))
        .unwrap();
    if a1[hi] - a1[lo] > 0.2 {
        let brightness = |j: usize| {
            d.script(
                "const n = window.layout.find((n) => n.layer === 1 && n.neuron === arguments[0]);
                 const c = document.getElementById('net'), r = window.devicePixelRatio || 1;
                 const p = c.getContext('2d').getImageData(Math.round(n.x * r), Math.round(n.y * r), 1, 1).data;
                 return p[0] + p[1] + p[2];",
                json!([j]),
            )
            .as_f64()
            .unwrap()
        };
        assert!(
            brightness(hi) > brightness(lo),
            "neuron {hi} (a = {}) vs {lo} (a = {})",
            a1[hi],
            a1[lo]
        );
    }
    digit
}

/// Whether the browser is installed. Without it the test says so and does nothing, so that
/// `cargo test` works on a machine without Chromium — unless `BACKPROP_REQUIRE_BROWSER` is set,
/// as CI (`.ci/run`, which installs Chromium) does, and then a missing browser fails the test.
fn browser_available() -> bool {
    let installed = [CHROMEDRIVER, CHROMIUM]
        .iter()
        .all(|e| Path::new(e).exists());
    if !installed && std::env::var_os("BACKPROP_REQUIRE_BROWSER").is_none() {
        eprintln!(
            "NOT RUN: {CHROMIUM} or {CHROMEDRIVER} is missing; scripts/install-browser.sh installs them"
        );
    }
    installed || std::env::var_os("BACKPROP_REQUIRE_BROWSER").is_some()
}

#[test]
fn draw_a_digit_and_the_page_shows_what_the_api_computes() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shots =
        std::env::var_os("BACKPROP_SCREENSHOTS").map_or(dir.path().to_path_buf(), PathBuf::from);
    let model = trained_model(dir.path());
    let server = Served::start(&model);
    let d = Driver::start();
    d.call("POST", "/url", Some(json!({"url": server.url})));
    d.wait_for(
        "return document.body.dataset.ready === '1';",
        "the model to load",
    );

    // A "1": one slightly slanted stroke down the pad, drawn with the mouse.
    let one: Vec<(i64, i64)> = (0..=10).map(|i| (12 - 2 * i, -110 + 22 * i)).collect();
    d.stroke("#pad", "mouse", &one);
    let digit = check_page_matches_api(&d, &server);
    assert_eq!(
        digit, 1,
        "a single down stroke is a 1 for the trained network"
    );

    // Click a neuron of the first hidden layer: its 784 incoming weights appear as a 28×28 image.
    let target = d.script(
        "const c = document.getElementById('net').getBoundingClientRect();
         const n = window.layout.find((n) => n.layer === 1 && n.neuron === 3);
         return [Math.round(n.x - c.width / 2), Math.round(n.y - c.height / 2)];",
        json!([]),
    );
    let origin = d.element("#net");
    d.call(
        "POST",
        "/actions",
        Some(json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [{"type": "pointerMove", "duration": 0, "origin": origin, "x": target[0], "y": target[1]},
                        {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}]}]})),
    );
    d.wait_for(
        "return document.getElementById('neuron').dataset.neuron === '3';",
        "the clicked neuron's weights",
    );
    let shown = d.script(
        "const w = document.getElementById('weights');
         return [w.width, w.height, getComputedStyle(w).display, document.getElementById('neuron-text').textContent];",
        json!([]),
    );
    assert_eq!((shown[0].as_u64(), shown[1].as_u64()), (Some(28), Some(28)));
    assert_eq!(shown[2], "block");
    assert!(
        shown[3].as_str().unwrap().contains("784 incoming weights"),
        "{}",
        shown[3]
    );
    d.screenshot(&shots.join("serve-desktop.png"));

    // Clear empties everything.
    d.call(
        "POST",
        &format!(
            "/element/{}/click",
            d.element("#clear")[ELEMENT].as_str().unwrap()
        ),
        Some(json!({})),
    );
    let cleared = d.script(
        "return [document.getElementById('prediction').textContent, document.getElementById('net').dataset.layers];",
        json!([]),
    );
    assert_eq!(cleared, json!(["", ""]));

    // A phone: 390×844 CSS pixels. One column, nothing wider than the screen, drawn by touch.
    d.call(
        "POST",
        "/window/rect",
        Some(json!({"width": 390, "height": 844})),
    );
    d.wait_for(
        "return window.innerWidth <= 420;",
        "the phone-sized viewport",
    );
    let layout = d.script(
        "const r = (id) => document.getElementById(id).getBoundingClientRect();
         return { scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                  pad: r('pad').width, padBottom: r('pad').bottom, netTop: r('net').top, net: r('net').width };",
        json!([]),
    );
    let (scroll, inner) = (
        layout["scroll"].as_f64().unwrap(),
        layout["inner"].as_f64().unwrap(),
    );
    assert!(
        scroll <= inner,
        "the page is {scroll} px wide on a {inner} px screen"
    );
    assert!(
        layout["pad"].as_f64().unwrap() >= 250.0,
        "drawing pad too small: {layout}"
    );
    assert!(
        layout["netTop"].as_f64() > layout["padBottom"].as_f64(),
        "not one column: {layout}"
    );
    assert!(
        layout["net"].as_f64().unwrap() >= 300.0,
        "network too narrow: {layout}"
    );
    let seven: Vec<(i64, i64)> = [
        (-70, -90),
        (0, -90),
        (70, -90),
        (40, -20),
        (10, 50),
        (-10, 110),
    ]
    .to_vec();
    d.stroke("#pad", "touch", &seven);
    assert_eq!(
        check_page_matches_api(&d, &server),
        7,
        "a stroke right, then down-left"
    );
    d.screenshot(&shots.join("serve-phone.png"));
}

impl Driver {
    fn click(&self, css: &str) {
        let id = self.element(css)[ELEMENT].as_str().unwrap().to_owned();
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Clicks the drawn neuron `neuron` of `layer` on the network canvas.
    fn click_neuron(&self, layer: u64, neuron: u64) {
        let target = self.script(
            "const c = document.getElementById('net').getBoundingClientRect();
             const n = window.layout.find((n) => n.layer === arguments[0] && n.neuron === arguments[1]);
             return [Math.round(n.x - c.width / 2), Math.round(n.y - c.height / 2)];",
            json!([layer, neuron]),
        );
        let origin = self.element("#net");
        self.call(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
                "actions": [{"type": "pointerMove", "duration": 0, "origin": origin, "x": target[0], "y": target[1]},
                            {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}]}]})),
        );
    }

    /// [`Driver::wait_for`] with arguments.
    fn wait_with(&self, js: &str, args: Value, what: &str) {
        let start = Instant::now();
        while self.script(js, args.clone()) != json!(true) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_answered(&self) {
        self.wait_for(
            "const b = document.body.dataset; return b.busy === '0' && +b.sent > 0 && b.sent === b.shown;",
            "the page's answer",
        );
    }
}

/// The "7" of the phone test, drawn with the mouse.
const SEVEN: [(i64, i64); 6] = [
    (-70, -90),
    (0, -90),
    (70, -90),
    (40, -20),
    (10, 50),
    (-10, 110),
];

/// What the page shows of the backward pass, against `/api/backprop` for the very pixels it sent.
fn check_backward_matches_api(d: &Driver, server: &Served, label: u64) -> f64 {
    d.wait_answered();
    let page = d.script(
        "const $ = (id) => document.getElementById(id);
         return { sent: window.lastRequest, cost: +$('cost').dataset.cost, text: $('cost').textContent,
                  nudges: JSON.parse($('net').dataset.nudges), deltas: JSON.parse($('net').dataset.deltas),
                  terms: [...document.querySelectorAll('#terms [data-term]')].map((e) => +e.dataset.term) };",
        json!([]),
    );
    let mut body = page["sent"].clone();
    body["label"] = json!(label);
    let api = http::json(server.port, "POST", "/api/backprop", Some(&body));
    let cost = api["cost"].as_f64().unwrap();
    assert_eq!(
        page["cost"].as_f64().unwrap(),
        cost,
        "the cost shown is the API's"
    );
    assert_eq!(page["text"], format!("C₀ = {cost:.4}"));
    assert_close(&floats(&page["terms"]), &floats(&api["terms"]), "terms");
    let layers = api["layers"].as_array().unwrap();
    for (l, layer) in layers.iter().enumerate() {
        assert_close(
            &floats(&page["nudges"][l]),
            &floats(&layer["dc_da"]),
            &format!("nudges {}", l + 1),
        );
        assert_close(
            &floats(&page["deltas"][l]),
            &floats(&layer["delta"]),
            &format!("δ {}", l + 1),
        );
    }
    cost
}

#[test]
fn the_backward_pass_of_a_drawing_and_one_step_in_the_page() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shots =
        std::env::var_os("BACKPROP_SCREENSHOTS").map_or(dir.path().to_path_buf(), PathBuf::from);
    let model = trained_model(dir.path());
    let server = Served::start(&model);
    let d = Driver::start();
    d.call("POST", "/url", Some(json!({"url": server.url})));
    d.wait_for(
        "return document.body.dataset.ready === '1';",
        "the model to load",
    );
    d.stroke("#pad", "mouse", &SEVEN);
    assert_eq!(
        check_page_matches_api(&d, &server),
        7,
        "a 7 for the trained network"
    );

    // Say it should be a 3: the page turns to the backward view and shows C₀ and the nudges.
    d.click("#digits button[data-digit='3']");
    d.wait_for(
        "return document.body.dataset.view === 'backward';",
        "the backward view",
    );
    let before = check_backward_matches_api(&d, &server, 3);
    assert!(before > 0.5, "a 7 labelled 3 costs: C₀ = {before}");

    // A neuron of layer L−1: its nudge is the sum over the output layer, with the numbers.
    // The one that learns most from this drawing: the largest |δ| of layer L−1.
    let api = window_backward(&d);
    let delta = floats(&api["layers"][1]["delta"]);
    let j = (0..delta.len())
        .max_by(|&a, &b| delta[a].abs().total_cmp(&delta[b].abs()))
        .unwrap();
    d.click_neuron(2, j as u64);
    d.wait_for(
        "return document.getElementById('why').textContent.includes('Σ_i');",
        "the neuron's sum",
    );
    let why = d.script(
        "return document.getElementById('why').textContent;",
        json!([]),
    );
    let dc_da = api["layers"][1]["dc_da"][j].as_f64().unwrap();
    assert!(
        why.as_str().unwrap().contains(&fmt4(dc_da)),
        "{why} lacks {}",
        fmt4(dc_da)
    );
    assert!(
        why.as_str().unwrap().contains("∂z/∂w · ∂a/∂z · ∂C₀/∂a"),
        "{why}"
    );
    d.screenshot(&shots.join("serve-backward.png"));

    // One step of gradient descent on this drawing: C₀ falls, and the page shows the new one.
    d.click("#step");
    d.wait_for("return document.body.dataset.steps === '1';", "the step");
    d.wait_with(
        "return window.lastBackward && +document.getElementById('cost').dataset.cost !== arguments[0];",
        json!([before]),
        "the cost after the step",
    );
    let after = check_backward_matches_api(&d, &server, 3);
    assert!(after < before, "C₀ {before} → {after}");
    let info = d.script(
        "return document.getElementById('stepinfo').textContent;",
        json!([]),
    );
    assert!(
        info.as_str()
            .unwrap()
            .contains("test accuracy of the working copy"),
        "{info}"
    );
    // Reset: the loaded model again.
    d.click("#reset");
    d.wait_for("return document.body.dataset.steps === '0';", "the reset");
    d.wait_with(
        "return +document.getElementById('cost').dataset.cost === arguments[0];",
        json!([before]),
        "the cost of the loaded model",
    );
}

fn window_backward(d: &Driver) -> Value {
    d.script("return window.lastBackward;", json!([]))
}

/// The page's four decimals, with its minus sign.
fn fmt4(v: f64) -> String {
    let s = format!("{:.4}", v.abs());
    if v < 0.0 {
        format!("−{s}")
    } else {
        s
    }
}

#[test]
fn live_training_in_the_page_runs_pauses_and_shows_it_learning() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shots =
        std::env::var_os("BACKPROP_SCREENSHOTS").map_or(dir.path().to_path_buf(), PathBuf::from);
    let out = dir.path().join("live.safetensors");
    let server = Served::start_args(&[
        "--train",
        "--limit",
        "6000",
        // Far more epochs than the test waits for: on a quiet machine 30 of these epochs end
        // before the page's pause arrives.
        "--epochs",
        "5000",
        "--out",
        out.to_str().unwrap(),
    ]);
    let d = Driver::start();
    d.call("POST", "/url", Some(json!({"url": server.url})));
    d.wait_for("return document.body.dataset.ready === '1';", "the page");
    d.wait_for(
        "return document.body.dataset.trainState === 'paused' && document.body.dataset.filtersAt === '0';",
        "the Train panel",
    );
    d.stroke("#pad", "mouse", &SEVEN);
    d.wait_answered();
    let filter_pixels = "const c = document.querySelector('#filters canvas');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).join(',');";
    let filters_before = d.script(filter_pixels, json!([]));
    let input_before = d.script("return window.lastResult.layers;", json!([]));

    // One mini-batch, then run and pause.
    d.click("#t-batch");
    d.wait_for(
        "return document.body.dataset.trainSteps === '1';",
        "one step",
    );
    d.click("#t-run");
    d.wait_for(
        "return +document.body.dataset.trainSteps >= 1200;",
        "training to run",
    );
    d.click("#t-pause");
    d.wait_for(
        "return document.body.dataset.trainState === 'paused';",
        "the pause",
    );
    let t = http::json(server.port, "GET", "/api/train", None);
    let steps = t["steps"].as_u64().unwrap();
    assert!(steps >= 1200, "{steps} mini-batches");
    assert_eq!(t["state"], "paused");
    // Paused means paused: nothing moves on.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        http::json(server.port, "GET", "/api/train", None)["steps"],
        steps
    );
    d.wait_with(
        "return document.body.dataset.filtersAt === String(arguments[0]) && document.body.dataset.trainSteps === String(arguments[0]);",
        json!([steps]),
        "the page to catch up",
    );
    d.wait_answered();
    let shown = d.script(
        "const c = document.getElementById('curves');
         return { points: +c.dataset.points, steps: +document.body.dataset.trainSteps };",
        json!([]),
    );
    assert_eq!(shown["steps"].as_u64(), Some(steps));
    assert_eq!(
        shown["points"].as_u64().unwrap() as usize,
        t["curve"].as_array().unwrap().len(),
        "every curve point drawn"
    );
    assert!(shown["points"].as_u64().unwrap() >= 8);
    let filters_after = d.script(filter_pixels, json!([]));
    assert_ne!(
        filters_before, filters_after,
        "the first layer's weight images changed"
    );
    let input_after = d.script("return window.lastResult.layers;", json!([]));
    assert_ne!(
        input_before, input_after,
        "the drawing went through the new network"
    );
    // The cost curve fell from its first points to its last.
    let curve: Vec<f64> = t["curve"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    assert!(curve[curve.len() - 1] < curve[0], "{curve:?}");
    // Health per layer on the page.
    let rows = d.script(
        "return document.querySelectorAll('#health tr').length;",
        json!([]),
    );
    assert_eq!(rows.as_u64(), Some(4), "a header and three layers");
    d.click("#t-save");
    d.wait_for("return window.lastTrain.saves === 1;", "the save");
    assert!(out.exists());
    d.screenshot(&shots.join("serve-live.png"));

    // A phone: one column, nothing wider than the screen, the Train buttons reachable.
    d.call(
        "POST",
        "/window/rect",
        Some(json!({"width": 390, "height": 844})),
    );
    d.wait_for(
        "return window.innerWidth <= 420;",
        "the phone-sized viewport",
    );
    let layout = d.script(
        "const r = (id) => document.getElementById(id).getBoundingClientRect();
         return { scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                  run: r('t-run').right, save: r('t-save').right, curves: r('curves').width, pad: r('pad').width };",
        json!([]),
    );
    let inner = layout["inner"].as_f64().unwrap();
    assert!(layout["scroll"].as_f64().unwrap() <= inner, "{layout}");
    assert!(layout["save"].as_f64().unwrap() <= inner, "{layout}");
    assert!(layout["curves"].as_f64().unwrap() >= 250.0, "{layout}");
    d.click("#t-batch");
    d.wait_with(
        "return document.body.dataset.trainSteps === String(arguments[0]);",
        json!([steps + 1]),
        "a step on the phone",
    );
}

/// The table classifier of `common::table_classifier`, saved in `dir`.
fn table_model(dir: &Path) -> PathBuf {
    let path = dir.join("table.safetensors");
    crate::common::table_classifier().save(&path).unwrap();
    path
}

#[test]
fn a_table_models_form_starts_at_the_means_and_shows_the_apis_answer() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shots =
        std::env::var_os("BACKPROP_SCREENSHOTS").map_or(dir.path().to_path_buf(), PathBuf::from);
    let server = Served::start(&table_model(dir.path()));
    let d = Driver::start();
    d.call("POST", "/url", Some(json!({"url": server.url})));
    d.wait_for(
        "return document.body.dataset.ready === '1' && document.body.dataset.answered === '1';",
        "the form and its first answer",
    );
    // One box per feature, named, holding the training mean.
    let model = http::json(server.port, "GET", "/api/model", None);
    let labels = d.script(
        "return [...document.querySelectorAll('#form label')].map((l) => l.textContent);",
        json!([]),
    );
    assert_eq!(labels, json!(["width", "depth"]));
    let values = floats(&d.script("return inputs.map((i) => Number(i.value));", json!([])));
    for (j, v) in values.iter().enumerate() {
        let mean = model["features"][j]["mean"].as_f64().unwrap();
        assert!(
            (v - mean).abs() <= 1e-5 * mean.abs(),
            "box {j}: {v} vs mean {mean}"
        );
    }
    // The answer shown is the API's for those values; then for a row typed in.
    let check = |features: &[f64], answered: &str| {
        d.wait_for(
            &format!("return document.body.dataset.answered === '{answered}';"),
            "the answer",
        );
        let api = http::json(
            server.port,
            "POST",
            "/api/predict",
            Some(&json!({ "features": features })),
        );
        let shown = d.script("return $('answer').textContent;", json!([]));
        assert_eq!(shown, api["class"], "features {features:?}");
        let bars = d.script(
            "return [...document.querySelectorAll('#bars .pct')].map((e) => e.textContent);",
            json!([]),
        );
        let expected: Vec<String> = ["low", "high"]
            .iter()
            .map(|c| format!("{:.2}%", 100.0 * api["probabilities"][c].as_f64().unwrap()))
            .collect();
        assert_eq!(bars, json!(expected));
        api["class"].as_str().unwrap().to_owned()
    };
    check(&values, "1");
    d.script(
        "inputs[0].value = '14.5'; inputs[0].dispatchEvent(new Event('input'));
         inputs[1].value = '30'; inputs[1].dispatchEvent(new Event('input'));",
        json!([]),
    );
    // Two edits, two requests: the first one's answer, overtaken, is not shown.
    assert_eq!(check(&[14.5, 30.0], "2"), "high");
    d.screenshot(&shots.join("serve-table.png"));
    // An empty box: no request, a word instead.
    d.script(
        "inputs[1].value = ''; inputs[1].dispatchEvent(new Event('input'));",
        json!([]),
    );
    d.wait_for(
        "return $('status').textContent === 'every feature needs a number';",
        "the empty box to be named",
    );
}
