//! How a network does on a dataset: mean cost, accuracy and confusion matrix.

use crate::{Dataset, Error, Network, Real, Result, Workspace};
use serde::{Deserialize, Serialize};

/// How a network does on a dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Number of samples.
    pub n: usize,
    /// Mean cost C = (1/n) Σ C₀ over the samples.
    pub cost: f64,
    /// Samples whose largest output is their class.
    pub correct: usize,
    /// `confusion[actual][predicted]`: how often a sample of one class was taken for another.
    pub confusion: Vec<Vec<usize>>,
}

impl Evaluation {
    /// Fraction classified correctly, 0 to 1.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.n.max(1) as f64
    }
}

/// Checks that a network's input and output layers fit a dataset.
///
/// # Errors
/// [`Error::Shape`] naming both sizes.
pub fn check_fits<T: Real>(net: &Network<T>, data: &Dataset) -> Result<()> {
    if net.n_inputs() != data.n_inputs() {
        return Err(Error::Shape(format!(
            "the network takes {} inputs but the data has {} per sample",
            net.n_inputs(),
            data.n_inputs()
        )));
    }
    if net.n_outputs() != data.n_classes() {
        return Err(Error::Shape(format!(
            "the network has {} outputs but the data has {} classes",
            net.n_outputs(),
            data.n_classes()
        )));
    }
    Ok(())
}

/// Samples per forward pass in [`evaluate`]: large enough for efficient matrix products,
/// small enough to stay in cache.
const EVAL_CHUNK: usize = 250;

/// Runs `net` over every sample of `data`: mean cost, accuracy and confusion matrix.
///
/// # Errors
/// [`Error::Shape`] if the network does not fit the data.
pub fn evaluate<T: Real>(net: &Network<T>, data: &Dataset) -> Result<Evaluation> {
    check_fits(net, data)?;
    let k = net.n_outputs();
    let chunk = EVAL_CHUNK.min(data.len().max(1));
    let mut ws = Workspace::new(net, chunk);
    let mut y = vec![T::ZERO; chunk * k];
    let mut indices = Vec::with_capacity(chunk);
    let mut eval = Evaluation {
        n: data.len(),
        cost: 0.0,
        correct: 0,
        confusion: vec![vec![0; k]; k],
    };
    let mut total_cost = 0.0;
    for start in (0..data.len()).step_by(chunk) {
        indices.clear();
        indices.extend(start..(start + chunk).min(data.len()));
        data.fill_inputs(&indices, ws.input_mut(indices.len()));
        data.fill_targets(&indices, &mut y);
        let output = net.forward_batch(&mut ws, indices.len());
        for ((a, y), &i) in output.chunks_exact(k).zip(y.chunks_exact(k)).zip(&indices) {
            total_cost += net.cost.value(a, y).to_f64();
            let predicted = crate::argmax(a);
            let actual = data.label(i);
            eval.confusion[actual][predicted] += 1;
            eval.correct += usize::from(predicted == actual);
        }
    }
    eval.cost = total_cost / data.len().max(1) as f64;
    Ok(eval)
}
