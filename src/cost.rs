//! Cost functions C₀ of one sample and their gradients ∂C₀/∂a (the notes' equation (1)).
//!
//! ```text
//! quadratic       C₀ = Σ_j (a_j − y_j)²                      ∂C₀/∂a_j = 2(a_j − y_j)     (1)
//! cross-entropy   C₀ = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]
//!                                                            ∂C₀/∂a_j = (a_j − y_j) / (a_j(1 − a_j))
//! log-likelihood  C₀ = −Σ_j y_j ln a_j   (= −ln a_y for a one-hot y)
//!                                                            ∂C₀/∂a_j = −y_j / a_j
//! ```
//!
//! The quadratic cost is the notes' one, with no ½ in front. The cost of a mini-batch is the
//! mean of C₀ over its samples.
//!
//! Backpropagation starts from `∂C₀/∂z^(L) = σ'(z^(L)) ⊙ ∂C₀/∂a^(L)` (see [`Cost::delta`]).
//! For cross-entropy after a sigmoid and log-likelihood after a softmax, the σ' cancels and
//! the product is simply `a − y`: those pairs learn fast even when the output saturates.

use crate::{Activation, Real};
use serde::{Deserialize, Serialize};

/// The cost of one training sample. Its hyphenated lowercase name is used on the command line
/// and in model files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cost {
    /// Σ (a − y)², the notes' cost. Works after any output activation.
    Quadratic,
    /// Binary cross-entropy, for sigmoid outputs (Nielsen, chapter 3).
    CrossEntropy,
    /// Negative log-likelihood −ln a_y, for softmax outputs.
    LogLikelihood,
}

impl Cost {
    /// Every cost, in a fixed order.
    pub const ALL: [Cost; 3] = [Cost::Quadratic, Cost::CrossEntropy, Cost::LogLikelihood];

    /// The name used on the command line and in model files.
    pub fn name(self) -> &'static str {
        match self {
            Cost::Quadratic => "quadratic",
            Cost::CrossEntropy => "cross-entropy",
            Cost::LogLikelihood => "log-likelihood",
        }
    }

    /// Whether this cost is defined after `output` (cross-entropy needs outputs in (0, 1) from a
    /// sigmoid; log-likelihood needs a probability distribution from a softmax).
    pub fn fits(self, output: Activation) -> bool {
        match self {
            Cost::Quadratic => true,
            Cost::CrossEntropy => output == Activation::Sigmoid,
            Cost::LogLikelihood => output == Activation::Softmax,
        }
    }

    /// The output activation this cost goes with by default: softmax for log-likelihood,
    /// sigmoid otherwise.
    pub fn default_output(self) -> Activation {
        match self {
            Cost::LogLikelihood => Activation::Softmax,
            _ => Activation::Sigmoid,
        }
    }

    /// C₀ of one sample, with output activations `a` and expected output `y`.
    pub fn value<T: Real>(self, a: &[T], y: &[T]) -> T {
        match self {
            Cost::Quadratic => a.iter().zip(y).map(|(&a, &y)| (a - y) * (a - y)).sum(),
            Cost::CrossEntropy => a
                .iter()
                .zip(y)
                .map(|(&a, &y)| {
                    // ln 0 is −∞: clamp a into [ε, 1 − ε], which only matters once a neuron has
                    // saturated in floating point.
                    let a = a.max(T::EPSILON).min(T::ONE - T::EPSILON);
                    -(y * a.ln() + (T::ONE - y) * (T::ONE - a).ln())
                })
                .sum(),
            Cost::LogLikelihood => a
                .iter()
                .zip(y)
                .filter(|(_, &y)| y != T::ZERO)
                .map(|(&a, &y)| -(y * a.max(T::EPSILON).ln()))
                .sum(),
        }
    }

    /// ∂C₀/∂a_j for one output neuron: for the quadratic cost the notes' `2(a − y)`.
    #[inline(always)]
    pub fn dc_da<T: Real>(self, a: T, y: T) -> T {
        match self {
            Cost::Quadratic => (a - y) + (a - y),
            Cost::CrossEntropy => (a - y) / (a * (T::ONE - a)),
            Cost::LogLikelihood => -y / a,
        }
    }

    /// The output layer's error `∂C₀/∂z^(L)` for one sample, written to `delta`.
    ///
    /// ```text
    /// δ_j = σ'(z_j) · ∂C₀/∂a_j           in general: σ'(z_j) · 2(a_j − y_j) for the notes
    /// δ_j = a_j − y_j                    sigmoid + cross-entropy, softmax + log-likelihood
    /// ```
    ///
    /// The general case is fused into one pass over the layer; softmax with the quadratic cost
    /// goes through the softmax Jacobian.
    pub fn delta<T: Real>(self, output: Activation, a: &[T], y: &[T], delta: &mut [T]) {
        match (output, self) {
            (Activation::Sigmoid, Cost::CrossEntropy)
            | (Activation::Softmax, Cost::LogLikelihood) => {
                for ((d, &a), &y) in delta.iter_mut().zip(a).zip(y) {
                    *d = a - y;
                }
            }
            (Activation::Softmax, _) => {
                // The softmax Jacobian product a_j (∂C₀/∂a_j − Σ_i a_i ∂C₀/∂a_i), without a
                // temporary row.
                let dot: T = a.iter().zip(y).map(|(&a, &y)| a * self.dc_da(a, y)).sum();
                for ((d, &a), &y) in delta.iter_mut().zip(a).zip(y) {
                    *d = a * (self.dc_da(a, y) - dot);
                }
            }
            _ => {
                for ((d, &a), &y) in delta.iter_mut().zip(a).zip(y) {
                    *d = output.sigma_prime(a) * self.dc_da(a, y);
                }
            }
        }
    }
}

impl std::fmt::Display for Cost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Cost {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Cost::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown cost {s:?}, expected one of quadratic, cross-entropy, log-likelihood"
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notes_example_cost() {
        // The notes: a^(L) = 0.66, y = 1, so C₀ = (0.66 − 1)² = 0.1156 and ∂C₀/∂a = −0.68.
        let c = Cost::Quadratic.value(&[0.66f64], &[1.0]);
        assert!((c - 0.1156).abs() < 1e-12, "{c}");
        assert!((Cost::Quadratic.dc_da(0.66f64, 1.0) + 0.68).abs() < 1e-12);
    }

    #[test]
    fn fused_deltas_equal_the_chain_rule() {
        let a = [0.2f64, 0.7, 0.1];
        let y = [0.0f64, 1.0, 0.0];
        for (act, cost) in [
            (Activation::Sigmoid, Cost::CrossEntropy),
            (Activation::Softmax, Cost::LogLikelihood),
        ] {
            let mut fused = [0.0; 3];
            cost.delta(act, &a, &y, &mut fused);
            let dc_da: Vec<f64> = a.iter().zip(&y).map(|(&a, &y)| cost.dc_da(a, y)).collect();
            let mut chain = [0.0; 3];
            act.backward(&a, &dc_da, &mut chain);
            for (f, c) in fused.iter().zip(&chain) {
                assert!(
                    (f - c).abs() < 1e-12,
                    "{act}+{cost}: {fused:?} vs {chain:?}"
                );
            }
        }
    }

    #[test]
    fn cross_entropy_stays_finite_when_saturated() {
        let c = Cost::CrossEntropy.value(&[1.0f32, 0.0], &[0.0, 1.0]);
        assert!(c.is_finite() && c > 10.0, "{c}");
    }

    #[test]
    fn names_round_trip() {
        for cost in Cost::ALL {
            assert_eq!(cost.name().parse::<Cost>().unwrap(), cost);
            assert_eq!(
                serde_json::to_string(&cost).unwrap(),
                format!("\"{}\"", cost.name())
            );
        }
    }
}
