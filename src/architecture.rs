//! The shape of a network: layer sizes, one activation per layer, and the cost. This is what a
//! model file's metadata records.

use crate::{Activation, Cost, Error, Result};
use serde::{Deserialize, Serialize};

/// Refuse networks whose parameters alone would need more than 4 GiB of `f32`s.
pub const MAX_PARAMETERS: usize = 1 << 30;

/// Layer sizes, activations and cost.
///
/// # Examples
/// ```
/// use backprop::Architecture;
/// let notes = Architecture::notes();
/// assert_eq!(notes.sizes, vec![784, 16, 16, 10]);
/// assert_eq!(notes.n_parameters(), 13_002);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Architecture {
    /// Neurons per layer, input first: `[784, 16, 16, 10]` for the notes' network.
    pub sizes: Vec<usize>,
    /// σ of each layer after the input: `sizes.len() − 1` of them.
    pub activations: Vec<Activation>,
    /// The cost the network is trained on.
    pub cost: Cost,
}

impl Architecture {
    /// The notes' network: 784-16-16-10, sigmoid everywhere, quadratic cost.
    pub fn notes() -> Self {
        Architecture::sigmoid(vec![784, 16, 16, 10])
    }

    /// The notes' kind of network with any layer sizes: sigmoid everywhere, quadratic cost.
    pub fn sigmoid(sizes: Vec<usize>) -> Self {
        Architecture::uniform(
            sizes,
            Activation::Sigmoid,
            Activation::Sigmoid,
            Cost::Quadratic,
        )
    }

    /// `hidden` on every hidden layer and `output` on the last one.
    pub fn uniform(sizes: Vec<usize>, hidden: Activation, output: Activation, cost: Cost) -> Self {
        let n = sizes.len().saturating_sub(1);
        let activations = (0..n)
            .map(|i| if i + 1 == n { output } else { hidden })
            .collect();
        Architecture {
            sizes,
            activations,
            cost,
        }
    }

    /// Number of weights and biases: Σ_L n_L · n_(L−1) + n_L. Saturates instead of overflowing.
    pub fn n_parameters(&self) -> usize {
        self.sizes
            .windows(2)
            .map(|w| w[1].saturating_mul(w[0]).saturating_add(w[1]))
            .fold(0usize, |acc, n| acc.saturating_add(n))
    }

    /// Checks that this is a network the crate can build and train.
    ///
    /// # Errors
    /// [`Error::Config`] when there are fewer than two layers, a layer of size zero, the wrong
    /// number of activations, softmax before the last layer, a cost that does not fit the output
    /// activation, or more than [`MAX_PARAMETERS`] parameters.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Config(msg));
        if self.sizes.len() < 2 {
            return bad(format!(
                "a network needs at least an input and an output layer, got sizes {:?}",
                self.sizes
            ));
        }
        if let Some(i) = self.sizes.iter().position(|&n| n == 0) {
            return bad(format!("layer {i} has no neurons (sizes {:?})", self.sizes));
        }
        if self.activations.len() != self.sizes.len() - 1 {
            return bad(format!(
                "{} layers after the input need {} activations, got {}",
                self.sizes.len() - 1,
                self.sizes.len() - 1,
                self.activations.len()
            ));
        }
        let last = self.activations.len() - 1;
        if let Some(i) = self.activations[..last]
            .iter()
            .position(|&a| a == Activation::Softmax)
        {
            return bad(format!(
                "softmax is only allowed on the output layer, found it on layer {}",
                i + 1
            ));
        }
        let output = self.activations[last];
        if !self.cost.fits(output) {
            let needs = match self.cost {
                Cost::CrossEntropy => "a sigmoid",
                _ => "a softmax",
            };
            return bad(format!(
                "the {} cost needs {needs} output layer, got {output}",
                self.cost
            ));
        }
        if self.n_parameters() > MAX_PARAMETERS {
            return bad(format!(
                "sizes {:?} need {} parameters, more than the limit of {MAX_PARAMETERS}",
                self.sizes,
                self.n_parameters()
            ));
        }
        Ok(())
    }

    /// Sizes as the command line writes them: `784-16-16-10`.
    pub fn sizes_string(&self) -> String {
        self.sizes
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notes_network_has_13002_parameters() {
        // 784·16 + 16 + 16·16 + 16 + 16·10 + 10 = 12544 + 16 + 256 + 16 + 160 + 10.
        assert_eq!(Architecture::notes().n_parameters(), 13_002);
        Architecture::notes().validate().unwrap();
    }

    #[test]
    fn impossible_architectures_are_rejected() {
        let s = Activation::Sigmoid;
        let cases = [
            (
                Architecture::uniform(vec![784], s, s, Cost::Quadratic),
                "at least an input",
            ),
            (
                Architecture::uniform(vec![784, 0, 10], s, s, Cost::Quadratic),
                "layer 1 has no neurons",
            ),
            (
                Architecture::uniform(
                    vec![4, 3, 2],
                    Activation::Softmax,
                    Activation::Softmax,
                    Cost::LogLikelihood,
                ),
                "only allowed on the output layer",
            ),
            (
                Architecture::uniform(vec![4, 2], s, Activation::Relu, Cost::CrossEntropy),
                "needs a sigmoid",
            ),
            (
                Architecture::uniform(vec![4, 2], s, s, Cost::LogLikelihood),
                "needs a softmax",
            ),
            (
                Architecture::uniform(vec![100_000, 100_000, 10], s, s, Cost::Quadratic),
                "more than the limit",
            ),
        ];
        for (arch, expected) in cases {
            let err = arch.validate().unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
    }
}
