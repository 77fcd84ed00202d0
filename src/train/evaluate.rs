//! How a network does on a dataset: mean cost, and accuracy and confusion matrix for classes or
//! RMSE, MAE and R² for real targets.

use crate::metrics::{Regression, RegressionSums};
use crate::train::sparse::SparseFirstLayer;
use crate::Kernels;
use crate::{Dataset, Error, Network, Real, Result, Workspace};
use serde::{Deserialize, Serialize};

/// How a network does on a dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Number of samples.
    pub n: usize,
    /// Mean cost C = (1/n) Σ C₀ over the samples.
    pub cost: f64,
    /// Samples whose largest output is their class (0 for regression).
    pub correct: usize,
    /// `confusion[actual][predicted]`: how often a sample of one class was taken for another
    /// (empty for regression).
    pub confusion: Vec<Vec<usize>>,
    /// RMSE, MAE and R² of a regression dataset, in the dataset's units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<Regression>,
}

impl Evaluation {
    /// Fraction classified correctly, 0 to 1.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.n.max(1) as f64
    }

    /// What early stopping and the plateau schedule try to raise: the accuracy, or R² for
    /// regression.
    pub fn score(&self) -> f64 {
        match &self.regression {
            Some(r) => r.r2,
            None => self.accuracy(),
        }
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
    if net.n_outputs() != data.n_outputs() {
        let what = if data.is_regression() {
            "targets"
        } else {
            "classes"
        };
        return Err(Error::Shape(format!(
            "the network has {} outputs but the data has {} {what}",
            net.n_outputs(),
            data.n_outputs()
        )));
    }
    Ok(())
}

/// Samples per forward pass in [`evaluate`]: large enough for efficient matrix products,
/// small enough to stay in cache.
const EVAL_CHUNK: usize = 250;

/// Runs `net` over every sample of `data`: mean cost, and accuracy and confusion matrix for
/// classes, or RMSE, MAE and R² for real targets.
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
    let regression = data.is_regression();
    let mut eval = Evaluation {
        n: data.len(),
        cost: 0.0,
        correct: 0,
        confusion: if regression {
            Vec::new()
        } else {
            vec![vec![0; k]; k]
        },
        regression: None,
    };
    let mut errors = RegressionSums::new(data.values().unwrap_or_default(), k);
    let mut total_cost = 0.0;
    // Where the data's index of non-zero pixels is built already (training builds it for its
    // monitor sets when it trains on the sparse path), the first layer reads only those pixels:
    // the same outputs, bit for bit (`kernels::sparse`), for a fifth of the reading.
    let mut sparse = data.sparse_images_if_built().and_then(|index| {
        let first = SparseFirstLayer::for_forward(&net.layers[0], Kernels::current())?;
        Some((index, first, Vec::with_capacity(chunk)))
    });
    for start in (0..data.len()).step_by(chunk) {
        indices.clear();
        indices.extend(start..(start + chunk).min(data.len()));
        data.fill_targets(&indices, &mut y);
        let output = match &mut sparse {
            Some((index, first, images)) => {
                images.clear();
                images.extend(indices.iter().map(|&i| index.image(i)));
                first.forward(&net.layers[0], images, &mut ws.activations[1]);
                net.forward_impl(&mut ws, indices.len(), false, 1)
            }
            None => {
                data.fill_inputs(&indices, ws.input_mut(indices.len())?);
                net.forward_batch(&mut ws, indices.len())?
            }
        };
        for ((a, y), &i) in output.chunks_exact(k).zip(y.chunks_exact(k)).zip(&indices) {
            total_cost += net.cost.value(a, y).to_f64();
            if let Some(actual) = data.label(i) {
                let predicted = crate::argmax(a);
                eval.confusion[actual][predicted] += 1;
                eval.correct += usize::from(predicted == actual);
            } else {
                errors.add(a, y);
            }
        }
    }
    eval.cost = total_cost / data.len().max(1) as f64;
    if regression {
        eval.regression = Some(errors.finish());
    }
    Ok(eval)
}
