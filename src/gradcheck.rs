//! Gradient checking: backpropagation against central finite differences, for every weight and
//! bias.
//!
//! ```text
//! ∂C/∂θ ≈ (C(θ + h) − C(θ − h)) / 2h          error O(h²)
//! relative error = |backprop − numeric| / max(|backprop|, |numeric|, floor)
//! ```
//!
//! Runs in `f64`, where with h = 1e-5 the difference quotient is good to about 1e-10 absolute
//! (rounding, ε·C/h, against truncation, h²·C‴/6). So gradients below the floor of 1e-4 are in
//! effect compared absolutely: for them a pass means |backprop − numeric| ≤ 1e-9. The cost C is
//! computed by [`Network::feedforward`], independently of the batched code being checked.

use crate::{Activation, Cost, Error, Gradient, Network, Result, Workspace};
use serde::{Deserialize, Serialize};

/// Step of the central differences.
pub const STEP: f64 = 1e-5;
/// Gradients smaller than this are compared absolutely rather than relatively.
pub const FLOOR: f64 = 1e-4;
/// Largest relative error that passes.
pub const TOLERANCE: f64 = 1e-5;

/// The worst relative errors found in one layer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerCheck {
    /// Over the weights ∂C/∂w_jk.
    pub max_rel_error_weights: f64,
    /// Over the biases ∂C/∂b_j.
    pub max_rel_error_biases: f64,
}

/// The result of a gradient check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradCheck {
    /// One entry per layer.
    pub layers: Vec<LayerCheck>,
    /// The worst relative error over every parameter.
    pub max_rel_error: f64,
    /// Number of parameters compared.
    pub n_parameters: usize,
}

impl GradCheck {
    /// Whether every relative error is within [`TOLERANCE`].
    pub fn passed(&self) -> bool {
        self.max_rel_error <= TOLERANCE
    }
}

/// Every valid (hidden activation, output activation, cost) combination: 5 × 8 = 40 of them.
pub fn combinations() -> Vec<(Activation, Activation, Cost)> {
    let hidden = Activation::ALL
        .into_iter()
        .filter(|&a| a != Activation::Softmax);
    hidden
        .flat_map(|h| {
            Activation::ALL.into_iter().flat_map(move |o| {
                Cost::ALL
                    .into_iter()
                    .filter(move |c| c.fits(o))
                    .map(move |c| (h, o, c))
            })
        })
        .collect()
}

/// The mean cost C = (1/n) Σ C₀ over the batch, from the per-sample forward pass.
fn mean_cost(net: &Network<f64>, x: &[f64], y: &[f64], batch: usize) -> f64 {
    let (n_in, n_out) = (net.n_inputs(), net.n_outputs());
    (0..batch)
        .map(|s| {
            let a = net
                .feedforward(&x[s * n_in..(s + 1) * n_in])
                .expect("rows of n_inputs");
            net.cost.value(&a, &y[s * n_out..(s + 1) * n_out])
        })
        .sum::<f64>()
        / batch as f64
}

/// Relative error of one derivative.
pub fn relative_error(backprop: f64, numeric: f64) -> f64 {
    (backprop - numeric).abs() / backprop.abs().max(numeric.abs()).max(FLOOR)
}

/// Compares the mini-batch backpropagation of `net` ([`Network::backprop_batch`]) with central
/// differences of the mean cost over the `batch` samples `x` (batch × n_inputs) with targets `y`
/// (batch × n_outputs).
///
/// # Errors
/// [`crate::Error::Shape`] unless `x` is batch × n_inputs values and `y` batch × n_outputs.
///
/// # Examples
/// ```
/// use backprop::{gradcheck, Activation, Architecture, Cost, Init, Network};
/// let arch = Architecture::sigmoid(vec![3, 4, 2]);
/// let net = Network::<f64>::new(&arch, Init::Normal, 7).unwrap();
/// let check = gradcheck::check_gradients(&net, &[0.1, 0.5, 0.9], &[0.0, 1.0], 1).unwrap();
/// assert!(check.passed(), "{check:?}");
/// ```
pub fn check_gradients(
    net: &Network<f64>,
    x: &[f64],
    y: &[f64],
    batch: usize,
) -> Result<GradCheck> {
    check_batch(net, x, y, batch)?;
    let mut ws = Workspace::new(net, batch);
    ws.input_mut(batch)?.copy_from_slice(x);
    let mut grad = Gradient::zeros_like(net);
    net.backprop_batch(&mut ws, y, batch, &mut grad)?;
    compare(net, &grad, x, y, batch)
}

/// Compares any claimed gradient `grad` of the mean cost over the batch with central
/// differences: the part of [`check_gradients`] after backpropagation, so that other
/// implementations (such as [`Network::backprop`]) are checked the same way.
///
/// # Errors
/// As [`check_gradients`], and [`Error::Shape`] unless `grad` is shaped like `net`.
pub fn compare(
    net: &Network<f64>,
    grad: &Gradient<f64>,
    x: &[f64],
    y: &[f64],
    batch: usize,
) -> Result<GradCheck> {
    check_batch(net, x, y, batch)?;
    net.check_gradient(grad, "gradient")?;
    let mut probe = net.clone();
    // The numeric derivative of C with respect to one parameter, which `param` picks out.
    let mut numeric = |param: &dyn Fn(&mut Network<f64>) -> &mut f64| {
        let original = *param(&mut probe);
        *param(&mut probe) = original + STEP;
        let plus = mean_cost(&probe, x, y, batch);
        *param(&mut probe) = original - STEP;
        let minus = mean_cost(&probe, x, y, batch);
        *param(&mut probe) = original;
        (plus - minus) / (2.0 * STEP)
    };

    let mut layers = Vec::with_capacity(net.layers.len());
    let mut n_parameters = 0;
    for (l, g) in grad.layers.iter().enumerate() {
        let mut check = LayerCheck {
            max_rel_error_weights: 0.0,
            max_rel_error_biases: 0.0,
        };
        for (i, &dw) in g.dc_dw.iter().enumerate() {
            let e = relative_error(dw, numeric(&|p| &mut p.layers[l].weights[i]));
            check.max_rel_error_weights = check.max_rel_error_weights.max(e);
        }
        for (i, &db) in g.dc_db.iter().enumerate() {
            let e = relative_error(db, numeric(&|p| &mut p.layers[l].biases[i]));
            check.max_rel_error_biases = check.max_rel_error_biases.max(e);
        }
        n_parameters += g.dc_dw.len() + g.dc_db.len();
        layers.push(check);
    }
    let max_rel_error = layers
        .iter()
        .map(|c| c.max_rel_error_weights.max(c.max_rel_error_biases))
        .fold(0.0, f64::max);
    Ok(GradCheck {
        layers,
        max_rel_error,
        n_parameters,
    })
}

/// `x` and `y` are `batch` samples of `net`'s inputs and outputs, and there is at least one.
fn check_batch(net: &Network<f64>, x: &[f64], y: &[f64], batch: usize) -> Result<()> {
    if batch == 0 {
        return Err(Error::Shape(
            "a gradient check needs at least one sample".into(),
        ));
    }
    net.check_input(x.len(), batch)?;
    net.check_targets(y.len(), batch)
}
