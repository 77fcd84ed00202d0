//! Activation functions σ and their derivatives σ', side by side (the notes' equation (3)).
//!
//! ```text
//! a_j = σ(z_j)                                            (3)
//! ```
//!
//! Every derivative here is written in terms of the layer's *output* `a`, so the forward pass
//! need not keep `z`:
//!
//! ```text
//! sigmoid   σ(z) = 1 / (1 + e^−z)        σ'(z) = σ(z)(1 − σ(z)) = a(1 − a)
//! tanh      σ(z) = tanh z                σ'(z) = 1 − tanh² z    = 1 − a²
//! relu      σ(z) = max(0, z)             σ'(z) = 1 if z > 0     = 1 if a > 0, else 0
//! leaky     σ(z) = max(αz, z), α = 0.01  σ'(z) = 1 if z > 0     = 1 if a > 0, else α
//! identity  σ(z) = z                     σ'(z) = 1
//! softmax   a_j = e^{z_j} / Σ_i e^{z_i}  ∂a_i/∂z_j = a_i(δ_ij − a_j)
//! ```
//!
//! Softmax is the one activation that mixes a layer's neurons, so the backward step works on a
//! whole row: `∂C/∂z_j = a_j (∂C/∂a_j − Σ_i a_i ∂C/∂a_i)`.

use crate::kernels::{with_kernels, Kernels};
use crate::Real;
use serde::{Deserialize, Serialize};

/// α of the leaky ReLU: its slope for negative inputs.
pub const LEAKY_SLOPE: f64 = 0.01;

/// The activation function of a layer. Its lowercase name is used on the command line and in
/// model files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// The logistic sigmoid, the notes' σ.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Rectified linear unit, max(0, z).
    Relu,
    /// Leaky ReLU, max(αz, z) with α = 0.01: a ReLU that never stops learning.
    #[serde(rename = "leaky-relu")]
    LeakyRelu,
    /// σ(z) = z.
    Identity,
    /// Normalised exponentials; output layer only.
    Softmax,
}

impl Activation {
    /// Every activation, in a fixed order.
    pub const ALL: [Activation; 6] = [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Identity,
        Activation::Softmax,
    ];

    /// The name used on the command line and in model files.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky-relu",
            Activation::Identity => "identity",
            Activation::Softmax => "softmax",
        }
    }

    /// σ(z) for one neuron. Not defined for softmax, which needs the whole layer: use
    /// [`Activation::apply`].
    #[inline(always)]
    pub fn sigma<T: Real>(self, z: T) -> T {
        match self {
            Activation::Sigmoid => T::ONE / (T::ONE + (-z).exp()),
            Activation::Tanh => z.tanh(),
            Activation::Relu => z.max(T::ZERO),
            Activation::LeakyRelu => {
                if z > T::ZERO {
                    z
                } else {
                    T::from_f64(LEAKY_SLOPE) * z
                }
            }
            Activation::Identity => z,
            Activation::Softmax => panic!("softmax needs the whole layer: use Activation::apply"),
        }
    }

    /// σ'(z), computed from the neuron's output a = σ(z). Not defined for softmax.
    #[inline(always)]
    pub fn sigma_prime<T: Real>(self, a: T) -> T {
        match self {
            Activation::Sigmoid => a * (T::ONE - a),
            Activation::Tanh => T::ONE - a * a,
            Activation::Relu => {
                if a > T::ZERO {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            Activation::LeakyRelu => {
                if a > T::ZERO {
                    T::ONE
                } else {
                    T::from_f64(LEAKY_SLOPE)
                }
            }
            Activation::Identity => T::ONE,
            Activation::Softmax => {
                panic!("softmax has no elementwise derivative: use Activation::backward")
            }
        }
    }

    /// Turns one layer's weighted inputs `z` into its activations `a`, in place.
    pub fn apply<T: Real>(self, z: &mut [T]) {
        match self {
            Activation::Softmax => {
                // Subtracting the maximum leaves softmax unchanged and keeps e^z finite.
                let max = z.iter().fold(z[0], |m, &v| m.max(v));
                let mut sum = T::ZERO;
                for v in z.iter_mut() {
                    *v = (*v - max).exp();
                    sum += *v;
                }
                let inv = T::ONE / sum;
                for v in z.iter_mut() {
                    *v *= inv;
                }
            }
            _ => {
                for v in z.iter_mut() {
                    *v = self.sigma(*v);
                }
            }
        }
    }

    /// [`Activation::apply`] for a mini-batch: `z` holds rows of `n` neurons, turned into
    /// activations in place (softmax row by row). The same functions in a form the compiler
    /// vectorises: one loop per activation, and e^x by [`Real::fast_exp`] (for f32 within 2 ulp
    /// of the C library's).
    pub fn apply_rows<T: Real>(self, n: usize, z: &mut [T]) {
        let act = self;
        with_kernels!(
            Kernels::current(),
            fn apply_rows<T>(act: Activation, n: usize, z: &mut [T]) {
                match act {
                    Activation::Sigmoid => z
                        .iter_mut()
                        .for_each(|v| *v = T::ONE / (T::ONE + (-*v).fast_exp())),
                    Activation::Softmax => {
                        for row in z.chunks_exact_mut(n) {
                            let max = row.iter().fold(row[0], |m, &v| m.max(v));
                            row.iter_mut().for_each(|v| *v = (*v - max).fast_exp());
                            let inv = T::ONE / row.iter().fold(T::ZERO, |s, &v| s + v);
                            row.iter_mut().for_each(|v| *v *= inv);
                        }
                    }
                    Activation::Relu => each(Activation::Relu, z),
                    Activation::LeakyRelu => each(Activation::LeakyRelu, z),
                    Activation::Tanh => each(Activation::Tanh, z),
                    Activation::Identity => {}
                }
                /// σ of a constant `act` to every element: inlined, one branch-free loop.
                #[inline(always)]
                fn each<T: Real>(act: Activation, z: &mut [T]) {
                    z.iter_mut().for_each(|v| *v = act.sigma(*v));
                }
            }
        )
    }

    /// `d ← d ⊙ σ'(z) (⊙ m)` for a mini-batch of this activation's outputs `a`, with an
    /// optional dropout mask m: the last step of the chain rule into a hidden layer. Not
    /// defined for softmax.
    pub fn times_derivative<T: Real>(self, a: &[T], mask: Option<&[T]>, d: &mut [T]) {
        let act = self;
        with_kernels!(
            Kernels::current(),
            fn times_derivative<T>(act: Activation, a: &[T], mask: Option<&[T]>, d: &mut [T]) {
                match act {
                    Activation::Sigmoid => each(Activation::Sigmoid, a, mask, d),
                    Activation::Tanh => each(Activation::Tanh, a, mask, d),
                    Activation::Relu => each(Activation::Relu, a, mask, d),
                    Activation::LeakyRelu => each(Activation::LeakyRelu, a, mask, d),
                    Activation::Identity => each(Activation::Identity, a, mask, d),
                    Activation::Softmax => {
                        panic!("softmax has no elementwise derivative: use Activation::backward")
                    }
                }
                /// One branch-free loop for a constant `act`.
                #[inline(always)]
                fn each<T: Real>(act: Activation, a: &[T], mask: Option<&[T]>, d: &mut [T]) {
                    match mask {
                        None => {
                            for (d, &a) in d.iter_mut().zip(a) {
                                *d *= act.sigma_prime(a);
                            }
                        }
                        Some(mask) => {
                            for ((d, &a), &m) in d.iter_mut().zip(a).zip(mask) {
                                *d *= m * act.sigma_prime(a);
                            }
                        }
                    }
                }
            }
        )
    }

    /// The chain rule through σ for one layer: `dc_dz = σ'(z) ⊙ dc_da` (or the softmax
    /// Jacobian product), given the layer's activations `a`.
    pub fn backward<T: Real>(self, a: &[T], dc_da: &[T], dc_dz: &mut [T]) {
        debug_assert!(a.len() == dc_da.len() && a.len() == dc_dz.len());
        match self {
            Activation::Softmax => {
                let dot: T = a.iter().zip(dc_da).map(|(&a, &g)| a * g).sum();
                for ((out, &a), &g) in dc_dz.iter_mut().zip(a).zip(dc_da) {
                    *out = a * (g - dot);
                }
            }
            _ => {
                for ((out, &a), &g) in dc_dz.iter_mut().zip(a).zip(dc_da) {
                    *out = self.sigma_prime(a) * g;
                }
            }
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Activation::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                format!("unknown activation {s:?}, expected one of sigmoid, tanh, relu, leaky-relu, identity, softmax")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_values_by_hand() {
        // σ(0) = 1/2, σ(ln 3) = 1/(1 + 1/3) = 3/4; σ'(z) = 3/4 · 1/4 = 3/16.
        let s = Activation::Sigmoid;
        assert_eq!(s.sigma(0.0f64), 0.5);
        let a = s.sigma(3.0f64.ln());
        assert!((a - 0.75).abs() < 1e-15);
        assert!((s.sigma_prime(a) - 3.0 / 16.0).abs() < 1e-15);
    }

    #[test]
    fn derivatives_match_finite_differences() {
        for act in [
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Relu,
            Activation::LeakyRelu,
            Activation::Identity,
        ] {
            for &z in &[-2.3f64, -0.4, 0.3, 1.7] {
                let h = 1e-6;
                let numeric = (act.sigma(z + h) - act.sigma(z - h)) / (2.0 * h);
                let analytic = act.sigma_prime(act.sigma(z));
                assert!(
                    (numeric - analytic).abs() < 1e-8,
                    "{act} at {z}: {numeric} vs {analytic}"
                );
            }
        }
    }

    #[test]
    fn softmax_sums_to_one_and_survives_large_inputs() {
        let mut z = [1000.0f32, 1001.0, 999.0];
        Activation::Softmax.apply(&mut z);
        let sum: f32 = z.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6);
        assert!(z[1] > z[0] && z[0] > z[2]);
    }

    #[test]
    fn names_round_trip() {
        for act in Activation::ALL {
            assert_eq!(act.name().parse::<Activation>().unwrap(), act);
            assert_eq!(
                serde_json::to_string(&act).unwrap(),
                format!("\"{}\"", act.name())
            );
        }
        assert!("swish".parse::<Activation>().is_err());
    }
}
