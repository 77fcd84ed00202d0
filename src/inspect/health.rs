//! Is it learning? The health of each layer, measured on a sample of training data: how large
//! its gradient is, how far one step moves its weights, and how many of its units have stopped
//! responding (saturated sigmoid or tanh units, dead ReLUs), with plain words where a number is
//! bad and the cure.
//!
//! ```text
//! gradient      ‖∂C/∂W^(l)‖              C the mean cost of the sample (Frobenius norm)
//! speed         ‖∂C/∂b^(l)‖ = ‖δ^(l)‖     Nielsen's "speed of learning" of a layer (ch. 5)
//! update ratio  η ‖∂C_batch/∂W^(l)‖ / ‖W^(l)‖   one mini-batch step of gradient descent, RMS
//!                                          over the sample's first 20 mini-batches
//! saturated     σ'(z) < 0.01 on most samples      (sigmoid, tanh)
//! dead          a = 0 on every sample             (ReLU)
//! ```
//!
//! Measuring reads the network and never changes it, nor any random stream: training with
//! health on gives the same model bit for bit.

use crate::{Activation, Dataset, Gradient, Network, Real, Workspace};
use serde::{Deserialize, Serialize};

/// How many training samples [`measure`] looks at, at most (Nielsen uses 1000).
pub const SAMPLES: usize = 1000;
/// Mini-batches whose gradients measure the size of one step.
pub(crate) const STEP_BATCHES: usize = 20;
/// σ'(z) below this is saturated.
pub(crate) const SATURATED: f64 = 0.01;

/// One layer's health.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerHealth {
    /// 1-based.
    pub layer: usize,
    /// ‖∂C/∂W^(l)‖ of the sample's mean cost.
    pub gradient: f64,
    /// ‖∂C/∂b^(l)‖ = ‖δ^(l)‖, how fast the layer learns (Nielsen ch. 5).
    pub speed: f64,
    /// η ‖∂C/∂W‖ / ‖W‖ of one mini-batch step.
    pub update_ratio: f64,
    /// Share of the layer's units saturated (σ'(z) < 0.01) on most samples; sigmoid and tanh only.
    pub saturated: Option<f64>,
    /// Share of ReLU units that are 0 on every sample.
    pub dead: Option<f64>,
    /// Output layer only: share of samples with an output stuck at the wrong end (|a − y| > ½
    /// and σ'(z) < 0.01), where the quadratic cost learns slowly.
    pub stuck_wrong: Option<f64>,
}

/// Every layer's health and what to do about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Samples measured.
    pub samples: usize,
    /// Layers 1..=L.
    pub layers: Vec<LayerHealth>,
    /// Plain-words warnings with their cure; empty when all looks well.
    pub warnings: Vec<String>,
}

/// Measures `net` on the training samples `indices` (up to [`SAMPLES`] of them), in
/// mini-batches of `batch_size`, for steps of size `learning_rate`.
pub fn measure<T: Real>(
    net: &Network<T>,
    data: &Dataset,
    indices: &[usize],
    batch_size: usize,
    learning_rate: f64,
) -> Health {
    let indices = &indices[..indices.len().min(SAMPLES)];
    let n = indices.len();
    let n_layers = net.layers.len();
    let n_out = net.n_outputs();
    // The whole sample as one batch: the mean gradient, and every unit's activations.
    let mut ws = Workspace::new(net, n.max(1));
    let mut mean = Gradient::zeros_like(net);
    let mut y = vec![T::ZERO; n * n_out];
    // The workspaces, targets and gradients below are made here for `net` and these batch
    // sizes, so the passes' checks cannot fail.
    const FITS: &str = "made for this network and batch";
    data.fill_inputs(indices, ws.input_mut(n).expect(FITS));
    data.fill_targets(indices, &mut y);
    if n > 0 {
        net.backprop_batch(&mut ws, &y, n, &mut mean).expect(FITS);
    }
    let mut saturated: Vec<Vec<usize>> = net.layers.iter().map(|l| vec![0; l.n_out]).collect();
    let mut alive: Vec<Vec<usize>> = saturated.clone();
    let mut stuck_wrong = 0usize;
    for (l, layer) in net.layers.iter().enumerate() {
        let a = ws.activations(l + 1, n).expect(FITS);
        for row in a.chunks_exact(layer.n_out) {
            for (j, &v) in row.iter().enumerate() {
                saturated[l][j] += usize::from(is_saturated(layer.activation, v));
                alive[l][j] += usize::from(v != T::ZERO);
            }
        }
        if l == n_layers - 1 {
            for (row, y) in a.chunks_exact(n_out).zip(y.chunks_exact(n_out)) {
                stuck_wrong += usize::from(row.iter().zip(y).any(|(&a, &y)| {
                    (a - y).to_f64().abs() > 0.5 && is_saturated(layer.activation, a)
                }));
            }
        }
    }
    // One step's size: the gradients of the first STEP_BATCHES mini-batches of the sample.
    let batch_size = batch_size.clamp(1, n.max(1));
    let mut small = Workspace::new(net, batch_size);
    let mut grad = Gradient::zeros_like(net);
    let mut step_sq = vec![0.0f64; n_layers];
    let mut batches = 0usize;
    for chunk in indices.chunks(batch_size).take(STEP_BATCHES) {
        let b = chunk.len();
        data.fill_inputs(chunk, small.input_mut(b).expect(FITS));
        let y = &mut y[..b * n_out];
        data.fill_targets(chunk, y);
        net.backprop_batch(&mut small, y, b, &mut grad).expect(FITS);
        for (l, g) in grad.layers.iter().enumerate() {
            step_sq[l] += norm_sq(&g.dc_dw);
        }
        batches += 1;
    }
    let n = n.max(1);
    let layers: Vec<LayerHealth> = net
        .layers
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            let sigmoidal = matches!(layer.activation, Activation::Sigmoid | Activation::Tanh);
            let share = |counts: &[usize], pick: &dyn Fn(usize) -> bool| {
                counts.iter().filter(|&&c| pick(c)).count() as f64 / counts.len() as f64
            };
            LayerHealth {
                layer: l + 1,
                gradient: norm_sq(&mean.layers[l].dc_dw).sqrt(),
                speed: norm_sq(&mean.layers[l].dc_db).sqrt(),
                update_ratio: learning_rate * (step_sq[l] / batches.max(1) as f64).sqrt()
                    / norm_sq(&layer.weights).sqrt().max(f64::MIN_POSITIVE),
                saturated: sigmoidal.then(|| share(&saturated[l], &|c| 2 * c > n)),
                dead: (layer.activation == Activation::Relu).then(|| share(&alive[l], &|c| c == 0)),
                stuck_wrong: (l == n_layers - 1 && sigmoidal)
                    .then(|| stuck_wrong as f64 / n as f64),
            }
        })
        .collect();
    let warnings = warnings(net, &layers);
    Health {
        samples: indices.len(),
        layers,
        warnings,
    }
}

fn is_saturated<T: Real>(activation: Activation, a: T) -> bool {
    matches!(activation, Activation::Sigmoid | Activation::Tanh)
        && activation.sigma_prime(a).to_f64() < SATURATED
}

fn norm_sq<T: Real>(v: &[T]) -> f64 {
    v.iter().map(|&x| x.to_f64() * x.to_f64()).sum()
}

/// The plain-words verdicts.
fn warnings<T: Real>(net: &Network<T>, layers: &[LayerHealth]) -> Vec<String> {
    let mut out = Vec::new();
    let last = layers.len() - 1;
    for h in layers {
        let l = h.layer;
        if let Some(s) = h.stuck_wrong.filter(|&s| s > 0.05) {
            if net.cost == crate::Cost::Quadratic {
                out.push(format!(
                    "layer {l}: {:.0}% of samples have an output saturated at the wrong end; with the quadratic cost σ'(z) ≈ 0 makes them learn slowly (Nielsen ch. 3): try the cross-entropy cost",
                    100.0 * s
                ));
            }
        }
        if let Some(s) = h.saturated.filter(|&s| s > 0.5 && h.layer - 1 != last) {
            out.push(format!(
                "layer {l}: {:.0}% of its units are saturated (σ'(z) < {SATURATED} on most samples) and barely learn: smaller initial weights (Nielsen's N(0, 1/n_in)) or a smaller η",
                100.0 * s
            ));
        }
        if let Some(d) = h.dead.filter(|&d| d > 0.5) {
            out.push(format!(
                "layer {l}: {:.0}% of its ReLU units are dead (0 on every sample) and will not recover: a smaller η",
                100.0 * d
            ));
        }
        if h.update_ratio > 0.1 {
            out.push(format!(
                "layer {l}: one step changes its weights by {:.0}% of their size: η is too large",
                100.0 * h.update_ratio
            ));
        }
    }
    // Speeds per neuron, so that layers of different widths compare.
    let rms = |h: &LayerHealth| h.speed / (net.layers[h.layer - 1].n_out as f64).sqrt();
    if layers.len() > 2 && rms(&layers[0]) * 10.0 < rms(&layers[last]) {
        out.push(format!(
            "layer 1 learns {:.0}× slower than layer {} (‖δ‖ per neuron): the vanishing gradient (Nielsen ch. 5); fewer layers, ReLU units or cross-entropy help",
            rms(&layers[last]) / rms(&layers[0]).max(f64::MIN_POSITIVE),
            last + 1
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Architecture, Cost, Init};

    fn data() -> Dataset {
        let x: Vec<f32> = (0..40).map(|i| ((i * 7) % 10) as f32 / 10.0).collect();
        let labels: Vec<u32> = (0..10).map(|i| i % 2).collect();
        Dataset::from_floats(x, labels, 4, 2).unwrap()
    }

    #[test]
    fn gradient_norms_are_those_of_the_mean_gradient() {
        let net =
            Network::<f64>::new(&Architecture::sigmoid(vec![4, 3, 2]), Init::Normal, 1).unwrap();
        let d = data();
        let idx: Vec<usize> = (0..10).collect();
        let h = measure(&net, &d, &idx, 3, 0.5);
        let mut mean = Gradient::zeros_like(&net);
        for &i in &idx {
            let mut y = vec![0.0; 2];
            d.fill_targets(&[i], &mut y);
            let (g, _) = net.backprop(&d.input(i).unwrap(), &y).unwrap();
            mean.add(&g).unwrap();
        }
        mean.scale(0.1);
        for (l, lh) in h.layers.iter().enumerate() {
            let want = norm_sq(&mean.layers[l].dc_dw).sqrt();
            assert!(
                (lh.gradient - want).abs() < 1e-12 * want.max(1.0),
                "layer {l}"
            );
            let speed = norm_sq(&mean.layers[l].dc_db).sqrt();
            assert!((lh.speed - speed).abs() < 1e-12 * speed.max(1.0));
            assert!(lh.update_ratio > 0.0 && lh.dead.is_none() && lh.saturated.is_some());
        }
        assert_eq!(h.samples, 10);
    }

    #[test]
    fn dead_relus_and_saturated_sigmoids_are_counted_and_named() {
        let arch = Architecture {
            sizes: vec![4, 3, 2],
            activations: vec![Activation::Relu, Activation::Sigmoid],
            cost: Cost::Quadratic,
        };
        let mut net = Network::<f64>::new(&arch, Init::Normal, 1).unwrap();
        // Unit 0 of layer 1 never fires; the outputs are pinned at 1 (wrong for one class).
        net.layers[0].weights[..4].fill(-1.0);
        net.layers[0].biases[0] = -1.0;
        net.layers[1].biases.fill(50.0);
        let idx: Vec<usize> = (0..10).collect();
        let h = measure(&net, &data(), &idx, 10, 1.0);
        assert!(h.layers[0].dead.unwrap() >= 1.0 / 3.0);
        assert_eq!(h.layers[1].saturated, Some(1.0));
        assert_eq!(h.layers[1].stuck_wrong, Some(1.0));
        assert!(
            h.warnings.iter().any(|w| w.contains("cross-entropy")),
            "{:?}",
            h.warnings
        );
    }
}
