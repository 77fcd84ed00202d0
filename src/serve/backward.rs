//! The backward pass of one drawing (`POST /api/backprop`) and gradient steps on the server's
//! working copy of the network (`POST /api/step`, `POST /api/reset`, `GET /api/working`).
//!
//! Every number comes from [`Network::backward_trace`], which is [`Network::backprop`] with its
//! intermediates kept: the page draws them and computes nothing.

use super::{Drawing, Failure, NO_INK, STRONGEST};
use crate::{argmax, evaluate, Activation, BackwardTrace, Dataset, Network};
use serde::Deserialize;
use serde_json::{json, Value};

/// A drawing and the digit it should be; `learning_rate` for `/api/step`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Labelled {
    width: usize,
    height: usize,
    pixels: Vec<f64>,
    label: Option<usize>,
    learning_rate: Option<f64>,
}

impl Labelled {
    /// The network's input x and the one-hot target y for `net`, or a 4xx reason.
    fn sample(self, net: &Network<f32>) -> Result<(Vec<f32>, Vec<f32>, usize), Failure> {
        let n = net.n_outputs();
        let label = self.label.ok_or_else(|| {
            (
                422,
                format!("no label: say which digit it is, 0 to {}", n - 1),
            )
        })?;
        if label >= n {
            return Err((
                422,
                format!(
                    "label {label} does not exist: the network has outputs 0 to {}",
                    n - 1
                ),
            ));
        }
        let drawing = Drawing {
            width: self.width,
            height: self.height,
            pixels: self.pixels,
        };
        let digit = drawing
            .to_mnist()?
            .ok_or_else(|| (422, NO_INK.to_owned()))?;
        let mut y = vec![0.0; n];
        y[label] = 1.0;
        Ok((digit.pixels, y, label))
    }
}

fn parse(body: &[u8]) -> Result<Labelled, Failure> {
    serde_json::from_slice(body).map_err(|e| {
        (
            400,
            format!("the body is not a labelled drawing ({{\"width\", \"height\", \"pixels\", \"label\"}}): {e}"),
        )
    })
}

/// `POST /api/backprop`: C₀, every output's term, and each layer's a, ∂C₀/∂a and δ, with the
/// strongest ∂C₀/∂w_jk into each neuron.
pub(super) fn backprop(net: &Network<f32>, body: &[u8]) -> Result<Value, Failure> {
    let (x, y, label) = parse(body)?.sample(net)?;
    let trace = net
        .backward_trace(&x, &y)
        .map_err(|e| (422, e.to_string()))?;
    Ok(answer(net, &trace, label))
}

/// The JSON of a trace. Beside the pinned keys: per layer σ'(z) (null for softmax, whose
/// δ goes through its Jacobian) and, for every layer but the last, `passed_back[k][j]` =
/// w_jk^(l+1) δ_j^(l+1), the terms whose sum over j is ∂C₀/∂a_k^(l).
fn answer(net: &Network<f32>, t: &BackwardTrace<f32>, label: usize) -> Value {
    let n_layers = net.layers.len();
    let layers: Vec<Value> = t
        .layers
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            let activation = net.layers[l].activation;
            let sigma_prime = (activation != Activation::Softmax).then(|| {
                layer
                    .a
                    .iter()
                    .map(|&a| activation.sigma_prime(a))
                    .collect::<Vec<f32>>()
            });
            let passed_back = (l + 1 < n_layers).then(|| {
                let next = &net.layers[l + 1];
                let delta = &t.layers[l + 1].delta;
                (0..next.n_in)
                    .map(|k| (0..next.n_out).map(|j| next.w(j, k) * delta[j]).collect())
                    .collect::<Vec<Vec<f32>>>()
            });
            json!({
                "a": layer.a,
                "dc_da": layer.dc_da,
                "delta": layer.delta,
                "sigma_prime": sigma_prime,
                "passed_back": passed_back,
            })
        })
        .collect();
    let strongest: Vec<Vec<Vec<(usize, f32)>>> = t
        .gradient
        .layers
        .iter()
        .zip(&net.layers)
        .map(|(g, layer)| {
            (0..layer.n_out)
                .map(|j| strongest(&g.dc_dw[j * layer.n_in..][..layer.n_in]))
                .collect()
        })
        .collect();
    let output = &t.layers[n_layers - 1].a;
    json!({
        "prediction": argmax(output),
        "label": label,
        "target": t.target,
        "cost": t.cost,
        "terms": t.terms,
        "cost_name": net.cost,
        "input": t.input,
        "layers": layers,
        "strongest": strongest,
    })
}

/// The [`STRONGEST`] largest |∂C₀/∂w_jk| into one neuron as `[k, ∂C₀/∂w_jk]`, strongest first;
/// zeros (inputs that were 0) left out.
fn strongest(dc_dw_j: &[f32]) -> Vec<(usize, f32)> {
    let mut c: Vec<(usize, f32)> = dc_dw_j
        .iter()
        .enumerate()
        .map(|(k, &g)| (k, g))
        .filter(|&(_, g)| g != 0.0)
        .collect();
    c.sort_by(|x, y| y.1.abs().total_cmp(&x.1.abs()).then(x.0.cmp(&y.0)));
    c.truncate(STRONGEST);
    c
}

/// Largest η `/api/step` takes.
pub const MAX_STEP_RATE: f64 = 100.0;

/// `POST /api/step`: θ ← θ − η ∇C₀ for this one drawing on `net` (the working copy); answers
/// C₀, the outputs and the prediction before → after.
pub(super) fn step(net: &mut Network<f32>, body: &[u8]) -> Result<Value, Failure> {
    let request = parse(body)?;
    let eta = request.learning_rate.unwrap_or(1.5);
    if !(eta > 0.0 && eta <= MAX_STEP_RATE) {
        return Err((
            422,
            format!("learning_rate is {eta}; it must be above 0 and at most {MAX_STEP_RATE}"),
        ));
    }
    let (x, y, label) = request.sample(net)?;
    let (gradient, cost) = net.backprop(&x, &y).map_err(|e| (422, e.to_string()))?;
    let before = net.feedforward(&x).map_err(|e| (422, e.to_string()))?;
    let eta32 = eta as f32;
    for (layer, g) in net.layers.iter_mut().zip(&gradient.layers) {
        for (w, &g) in layer.weights.iter_mut().zip(&g.dc_dw) {
            *w -= eta32 * g;
        }
        for (b, &g) in layer.biases.iter_mut().zip(&g.dc_db) {
            *b -= eta32 * g;
        }
    }
    let after = net.feedforward(&x).map_err(|e| (422, e.to_string()))?;
    Ok(json!({
        "label": label,
        "learning_rate": eta,
        "before": {"cost": cost, "outputs": before, "prediction": argmax(&before)},
        "after": {"cost": net.cost.value(&after, &y), "outputs": after, "prediction": argmax(&after)},
    }))
}

/// Test accuracy of `net`, if there is a test set.
pub(super) fn accuracy(net: &Network<f32>, test: Option<&Dataset>) -> Option<f64> {
    test.and_then(|d| evaluate(net, d).ok())
        .map(|e| e.accuracy())
}
