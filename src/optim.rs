//! Optimisers: how a gradient becomes a change of the parameters.
//!
//! Plain gradient descent, the notes' update rule:
//!
//! ```text
//! θ^(t+1) = θ^t − η ∇C(θ^t)
//! ```

use crate::linalg::axpy;
use crate::{Error, Gradient, Network, Real, Result};
use serde::{Deserialize, Serialize};

/// Anything that updates a network's parameters from a gradient of its cost.
pub trait Optimizer<T: Real> {
    /// Applies one update to `net`, given the gradient of the current mini-batch's mean cost.
    fn step(&mut self, net: &mut Network<T>, grad: &Gradient<T>);
}

/// Hyper-parameters of stochastic gradient descent.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// η, the step size. The default 1.5 with the notes' cost Σ(a − y)² makes exactly the
    /// updates of Nielsen's network.py with η = 3.0 and his cost ½Σ(a − y)².
    pub learning_rate: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig { learning_rate: 1.5 }
    }
}

impl SgdConfig {
    /// Checks the hyper-parameters and builds the optimiser.
    ///
    /// # Errors
    /// [`Error::Config`] unless the learning rate is finite and positive.
    pub fn build<T: Real>(&self) -> Result<Sgd<T>> {
        let eta = self.learning_rate;
        if !(eta.is_finite() && eta > 0.0) {
            return Err(Error::Config(format!(
                "the learning rate must be a positive number, got {eta}"
            )));
        }
        Ok(Sgd {
            learning_rate: T::from_f64(eta),
        })
    }
}

/// Stochastic gradient descent: θ ← θ − η ∇C, one mini-batch at a time.
#[derive(Clone, Debug)]
pub struct Sgd<T> {
    learning_rate: T,
}

impl<T: Real> Optimizer<T> for Sgd<T> {
    fn step(&mut self, net: &mut Network<T>, grad: &Gradient<T>) {
        // w ← w + (−η)·∂C/∂w, which is exactly w − η·∂C/∂w.
        let minus_eta = -self.learning_rate;
        for (layer, g) in net.layers.iter_mut().zip(&grad.layers) {
            axpy(minus_eta, &g.dc_dw, &mut layer.weights);
            axpy(minus_eta, &g.dc_db, &mut layer.biases);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Architecture, Init};

    #[test]
    fn one_sgd_step_by_hand() {
        // w = 0.5, b = −1, ∂C/∂w = 0.2, ∂C/∂b = −0.4, η = 1.5:
        // w ← 0.5 − 1.5·0.2 = 0.2;  b ← −1 − 1.5·(−0.4) = −0.4.
        let arch = Architecture::sigmoid(vec![1, 1]);
        let mut net = Network::<f64>::new(&arch, Init::Normal, 0).unwrap();
        net.layers[0].weights[0] = 0.5;
        net.layers[0].biases[0] = -1.0;
        let mut grad = Gradient::zeros_like(&net);
        grad.layers[0].dc_dw[0] = 0.2;
        grad.layers[0].dc_db[0] = -0.4;
        SgdConfig::default().build().unwrap().step(&mut net, &grad);
        assert!((net.layers[0].weights[0] - 0.2).abs() < 1e-15);
        assert!((net.layers[0].biases[0] + 0.4).abs() < 1e-15);
    }

    #[test]
    fn bad_learning_rates_are_rejected() {
        for eta in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = SgdConfig { learning_rate: eta }.build::<f32>().unwrap_err();
            assert!(err.to_string().contains("learning rate"), "{err}");
        }
    }
}
