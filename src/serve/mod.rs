//! The draw-a-digit page behind `backprop serve`: routing, validation and the JSON answers, with
//! no sockets, so every route is tested as a plain function call.
//!
//! Internal to the command-line tool (`backprop serve`), not a stable API: public only because
//! the binary is a crate of its own, and hidden from the docs.
//!
//! ```text
//! GET  /                              the page (HTML, CSS and JS in one file, no external assets)
//! GET  /api/model                     {"sizes", "activations", "cost", "parameters"}
//! POST /api/predict                   {"width", "height", "pixels"} → every layer's a^(l)
//! GET  /api/weights/{layer}/{neuron}  w_jk^(layer) for k = 0..n_in, and b_j
//! GET  /api/filters                   the first layer's weights, every neuron (its "images")
//! POST /api/backprop                  {"width", "height", "pixels", "label"} → C₀, and every
//!                                     layer's a, ∂C₀/∂a, δ; the strongest ∂C₀/∂w_jk per neuron
//! POST /api/step                      the same and "learning_rate": θ ← θ − η∇C₀ on the working copy
//! POST /api/reset                     the working copy back to the loaded model
//! GET  /api/working                   steps taken on the working copy, its test accuracy
//! GET  /api/train                     live training (`serve --train`): state, history, health
//! POST /api/train                     {"action": "run"|"pause"|"step"|"save", "batches", "learning_rate"}
//! ```
//!
//! A model trained on a table gets its own page and routes instead: [`TableApp`].
//!
//! [`handle`] answers the routes that only read a network; an [`App`] answers them all, holding
//! the server's state behind locks so that any number of threads may call [`App::handle`].
//!
//! A drawing goes through [`preprocess::to_mnist`], the same code as `backprop predict`, and the
//! network's one-sample [`Network::feedforward`] layer by layer (equations (2) and (3)).
//! Bad requests get a 4xx status and `{"error": "..."}`; nothing a client sends can panic here.
//! The sockets are [`server`]'s, the HTTP parsing [`http`]'s, and [`guard`] keeps other sites out.

mod capacity;
pub mod guard;
pub mod http;
pub mod server;

mod backward;
pub mod live;
mod table;

pub use live::{Live, LiveRun};
pub use table::{TableApp, TABLE_HTML};

use crate::inspect::preprocess::{self, GreyImage, SIDE};
use crate::{argmax, Activation, Dataset, Network};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, PoisonError};

/// Request bodies longer than this are refused with 413 (the server checks before reading them).
pub const MAX_BODY: usize = 1 << 20;
/// Largest drawing accepted by `/api/predict`, in either direction.
pub const MAX_DRAWING_SIDE: usize = 1024;
/// How many of the strongest incoming connections, |w_jk · a_k|, are reported per neuron.
pub const STRONGEST: usize = 3;

/// The page, embedded in the binary.
pub(crate) const INDEX_HTML: &str = include_str!("index.html");

/// An HTTP answer: status, content type, body.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The Content-Type header.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    fn json(status: u16, value: &Value) -> Self {
        Response {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
        }
    }

    fn error(status: u16, message: impl Into<String>) -> Self {
        Response::json(status, &json!({ "error": message.into() }))
    }

    /// The body as text (lossy), for tests and logs.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A drawing sent to `/api/predict`: grey levels in 0..1, row-major, either way round (dark ink
/// on light paper or light on dark, as `predict` detects from the border).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Drawing {
    width: usize,
    height: usize,
    pixels: Vec<f64>,
}

/// Answers one request. `path` may carry a query string, which is ignored.
///
/// The network must take 28×28 = 784 inputs (the CLI checks before serving).
pub fn handle(net: &Network<f32>, method: &str, path: &str, body: &[u8]) -> Response {
    let path = path.split(['?', '#']).next().unwrap_or("");
    if body.len() > MAX_BODY {
        return too_large(body.len());
    }
    let get = method == "GET" || method == "HEAD";
    match path {
        "/" | "/index.html" if get => Response {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: INDEX_HTML.as_bytes().to_vec(),
        },
        "/api/model" if get => Response::json(200, &model(net)),
        "/api/predict" if method == "POST" => match predict(net, body) {
            Ok(v) => Response::json(200, &v),
            Err((status, message)) => Response::error(status, message),
        },
        "/" | "/index.html" | "/api/model" => method_not_allowed(method, path, "GET"),
        "/api/predict" => method_not_allowed(method, path, "POST"),
        _ => match path.strip_prefix("/api/weights/") {
            Some(rest) if get => match weights(net, rest) {
                Ok(v) => Response::json(200, &v),
                Err((status, message)) => Response::error(status, message),
            },
            Some(_) => method_not_allowed(method, path, "GET"),
            None => Response::error(404, format!("no such page: {path}")),
        },
    }
}

/// The server's state: the model as loaded, a working copy that `/api/step` changes (or, with
/// live training, the network being trained), and the test set that measures it.
pub struct App {
    model: Arc<Network<f32>>,
    test: Option<Dataset>,
    working: Mutex<Working>,
    live: Option<Live>,
}

/// The working copy of the network and what it has been through.
struct Working {
    net: Arc<Network<f32>>,
    steps: usize,
    test_accuracy: Option<f64>,
}

impl App {
    /// The page for `model`; `test` (if any) measures the working copy after each step.
    pub fn new(model: Network<f32>, test: Option<Dataset>) -> App {
        let test_accuracy = backward::accuracy(&model, test.as_ref());
        let model = Arc::new(model);
        App {
            working: Mutex::new(Working {
                net: Arc::clone(&model),
                steps: 0,
                test_accuracy,
            }),
            model,
            test,
            live: None,
        }
    }

    /// The page with live training: `run`'s network is trained by its own thread, and the page
    /// shows the network as it is now.
    pub fn live(run: LiveRun) -> App {
        let live = Live::start(run);
        let mut app = App::new(live.network().as_ref().clone(), None);
        app.live = Some(live);
        app
    }

    /// The live training, if the server has one.
    pub fn training(&self) -> Option<&Live> {
        self.live.as_ref()
    }

    /// The network the page looks at now: the working copy, or the one being trained.
    pub fn network(&self) -> Arc<Network<f32>> {
        match &self.live {
            Some(live) => live.network(),
            None => Arc::clone(&self.lock().net),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Working> {
        self.working.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers one request, as [`handle`] does and with the routes that change state.
    pub fn handle(&self, method: &str, path: &str, body: &[u8]) -> Response {
        let path = path.split(['?', '#']).next().unwrap_or("");
        if body.len() > MAX_BODY {
            return too_large(body.len());
        }
        let get = method == "GET" || method == "HEAD";
        let post = method == "POST";
        let result = match path {
            "/api/model" if get => {
                let mut v = model(&self.network());
                v["training"] = json!(self.live.is_some());
                Ok(v)
            }
            "/api/backprop" if post => backward::backprop(&self.network(), body),
            "/api/step" if post => self.step(body),
            "/api/reset" if post => self.reset(),
            "/api/working" if get => Ok(self.working()),
            "/api/filters" if get => Ok(filters(&self.network())),
            "/api/train" if get || post => match &self.live {
                None => Err((
                    404,
                    "no live training here: start the server with `backprop serve --train`".into(),
                )),
                Some(live) if get => Ok(live.status()),
                Some(live) => live.command(body),
            },
            "/api/backprop" | "/api/step" | "/api/reset" => {
                return method_not_allowed(method, path, "POST")
            }
            "/api/working" | "/api/filters" | "/api/model" => {
                return method_not_allowed(method, path, "GET")
            }
            "/api/train" => return method_not_allowed(method, path, "GET or POST"),
            _ => return handle(&self.network(), method, path, body),
        };
        match result {
            Ok(v) => Response::json(200, &v),
            Err((status, message)) => Response::error(status, message),
        }
    }

    fn step(&self, body: &[u8]) -> Result<Value, Failure> {
        if self.live.is_some() {
            return Err((
                409,
                "live training owns the network: use the Train panel's step".into(),
            ));
        }
        let mut working = self.lock();
        let mut v = backward::step(Arc::make_mut(&mut working.net), body)?;
        working.steps += 1;
        working.test_accuracy = backward::accuracy(&working.net, self.test.as_ref());
        v["steps"] = json!(working.steps);
        v["test_accuracy"] = json!(working.test_accuracy);
        Ok(v)
    }

    fn reset(&self) -> Result<Value, Failure> {
        if self.live.is_some() {
            return Err((
                409,
                "live training owns the network; nothing to reset".into(),
            ));
        }
        let mut working = self.lock();
        working.net = Arc::clone(&self.model);
        working.steps = 0;
        working.test_accuracy = backward::accuracy(&self.model, self.test.as_ref());
        drop(working);
        Ok(self.working())
    }

    fn working(&self) -> Value {
        let w = self.lock();
        json!({
            "steps": w.steps,
            "test_accuracy": w.test_accuracy,
            "test_samples": self.test.as_ref().map(Dataset::len),
            "training": self.live.is_some(),
        })
    }
}

/// The first layer's weights, one row of n_in per neuron, with the image side if n_in is 28².
fn filters(net: &Network<f32>) -> Value {
    let layer = &net.layers[0];
    json!({
        "layer": 1,
        "side": (layer.n_in == SIDE * SIDE).then_some(SIDE),
        "weights": layer.weights.chunks(layer.n_in).collect::<Vec<_>>(),
    })
}

/// The 413 answer for a body of `len` bytes.
pub(crate) fn too_large(len: usize) -> Response {
    Response::error(
        413,
        format!("the request body is {len} bytes; at most {MAX_BODY} are accepted"),
    )
}

fn method_not_allowed(method: &str, path: &str, allowed: &str) -> Response {
    Response::error(
        405,
        format!("{method} is not allowed on {path}; use {allowed}"),
    )
}

fn model(net: &Network<f32>) -> Value {
    let arch = net.architecture();
    json!({
        "sizes": arch.sizes,
        "activations": arch.activations,
        "cost": arch.cost,
        "parameters": net.n_parameters(),
    })
}

type Failure = (u16, String);

fn predict(net: &Network<f32>, body: &[u8]) -> Result<Value, Failure> {
    let drawing: Drawing = serde_json::from_slice(body)
        .map_err(|e| (400, format!("the body is not a drawing: {e}")))?;
    let Some(digit) = drawing.to_mnist()? else {
        return Ok(json!({
            "ink": false,
            "message": NO_INK,
        }));
    };
    // Every layer's a^(l), one layer at a time, exactly as Network::feedforward does.
    let mut layers: Vec<Vec<f32>> = Vec::with_capacity(net.layers.len());
    let mut strongest = Vec::with_capacity(net.layers.len());
    let mut a = digit.pixels.clone();
    for layer in &net.layers {
        strongest.push(
            (0..layer.n_out)
                .map(|j| top_contributions(&layer.weights[j * layer.n_in..][..layer.n_in], &a))
                .collect::<Vec<_>>(),
        );
        a = layer.feedforward(&a);
        layers.push(a.clone());
    }
    let softmax = net.layers.last().map(|l| l.activation) == Some(Activation::Softmax);
    Ok(json!({
        "ink": true,
        "input": digit.pixels,
        "layers": layers,
        "strongest": strongest,
        "probabilities": shares(&a),
        "outputs_are_probabilities": softmax,
        "prediction": argmax(&a),
        "inverted": digit.inverted,
    }))
}

/// What `/api/predict` says of a drawing without ink.
const NO_INK: &str = "no ink: no pixel differs from the background by 10% or more";

impl Drawing {
    /// The 28×28 input the network sees, by `backprop predict`'s preprocessing; `None` if
    /// there is no ink.
    fn to_mnist(&self) -> Result<Option<preprocess::Digit>, Failure> {
        check_drawing(self.width, self.height, &self.pixels)?;
        let grey = self.pixels.iter().map(|&v| v as f32).collect();
        let image =
            GreyImage::new(self.width, self.height, grey).map_err(|e| (422, e.to_string()))?;
        Ok(preprocess::to_mnist(&image))
    }
}

/// Checks a drawing's size and grey levels.
fn check_drawing(w: usize, h: usize, pixels: &[f64]) -> Result<(), Failure> {
    if w == 0 || h == 0 || w > MAX_DRAWING_SIDE || h > MAX_DRAWING_SIDE {
        return Err((
            422,
            format!("the drawing is {w}×{h}; each side must be 1 to {MAX_DRAWING_SIDE} pixels"),
        ));
    }
    if pixels.len() != w * h {
        return Err((
            422,
            format!(
                "a {w}×{h} drawing has {} pixels, the request sent {}",
                w * h,
                pixels.len()
            ),
        ));
    }
    if let Some(i) = pixels.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err((
            422,
            format!("pixel {i} is {}; grey levels must be in 0..1", pixels[i]),
        ));
    }
    Ok(())
}

/// The outputs as shares of one vote, as `backprop predict` shows them: each a_j (negative ones
/// as 0) divided by their sum. Softmax outputs are unchanged by this; sigmoid outputs are ten
/// separate scores until divided.
pub fn shares(a: &[f32]) -> Vec<f64> {
    let total: f32 = a.iter().map(|v| v.max(0.0)).sum();
    a.iter()
        .map(|&v| {
            if total > 0.0 {
                (v.max(0.0) / total) as f64
            } else {
                0.0
            }
        })
        .collect()
}

/// The [`STRONGEST`] largest |w_jk · a_k| into one neuron, as `[k, w_jk · a_k]` pairs, strongest
/// first; connections that carry nothing (a_k = 0) are left out.
fn top_contributions(w_j: &[f32], a: &[f32]) -> Vec<(usize, f32)> {
    let mut c: Vec<(usize, f32)> = w_j
        .iter()
        .zip(a)
        .enumerate()
        .map(|(k, (&w, &a))| (k, w * a))
        .filter(|&(_, wa)| wa != 0.0)
        .collect();
    c.sort_by(|x, y| y.1.abs().total_cmp(&x.1.abs()).then(x.0.cmp(&y.0)));
    c.truncate(STRONGEST);
    c
}

fn weights(net: &Network<f32>, rest: &str) -> Result<Value, Failure> {
    let usage = "use /api/weights/{layer}/{neuron}, layer 1 the first hidden layer";
    let mut parts = rest.split('/');
    let (Some(l), Some(j), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err((404, format!("no such page: /api/weights/{rest}; {usage}")));
    };
    let (Some(l), Some(j)) = (decimal(l), decimal(j)) else {
        return Err((404, format!("no such page: /api/weights/{rest}; {usage}")));
    };
    if l == 0 || l > net.layers.len() {
        return Err((
            404,
            format!(
                "layer {l} does not exist: the layers with weights are 1 to {}",
                net.layers.len()
            ),
        ));
    }
    let layer = &net.layers[l - 1];
    if j >= layer.n_out {
        return Err((
            404,
            format!(
                "neuron {j} does not exist: layer {l} has neurons 0 to {}",
                layer.n_out - 1
            ),
        ));
    }
    let side = (layer.n_in == SIDE * SIDE).then_some(SIDE);
    Ok(json!({
        "layer": l,
        "neuron": j,
        "weights": &layer.weights[j * layer.n_in..][..layer.n_in],
        "bias": layer.biases[j],
        "side": side,
    }))
}

/// A path parameter in plain decimal: digits only, no sign, no leading zero (`+1`, `01` and
/// `1e0` name nothing, so one resource has one path).
fn decimal(s: &str) -> Option<usize> {
    let plain =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    plain.then(|| s.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Architecture, Init};

    #[test]
    fn top_contributions_are_the_largest_magnitudes_of_w_times_a() {
        let w = [1.0, -5.0, 2.0, 3.0, 9.0];
        let a = [1.0, 1.0, 0.5, 1.0, 0.0];
        // w·a = 1, -5, 1, 3, 0 → |.| order: k=1 (5), k=3 (3), then k=0 and k=2 tie at 1: k=0.
        assert_eq!(
            top_contributions(&w, &a),
            vec![(1, -5.0), (3, 3.0), (0, 1.0)]
        );
    }

    #[test]
    fn shares_divide_by_the_sum_and_ignore_negatives() {
        assert_eq!(shares(&[1.0, 3.0, -2.0]), vec![0.25, 0.75, 0.0]);
        assert_eq!(shares(&[0.0, -1.0]), vec![0.0, 0.0]);
    }

    #[test]
    fn path_parameters_are_plain_decimals() {
        assert_eq!(decimal("0"), Some(0));
        assert_eq!(decimal("15"), Some(15));
        for bad in [
            "",
            "+1",
            "-1",
            "01",
            "015",
            "1e0",
            " 1",
            "1 ",
            "99999999999999999999999",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn head_and_query_strings_route_like_get() {
        let net = Network::<f32>::new(&Architecture::notes(), Init::Normal, 1).unwrap();
        assert_eq!(handle(&net, "HEAD", "/", b"").status, 200);
        assert_eq!(handle(&net, "GET", "/api/model?x=1", b"").status, 200);
    }
}
