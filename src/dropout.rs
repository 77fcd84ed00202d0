//! Dropout (Srivastava et al., 2014): during training, each activation fed to the next layer is
//! dropped (set to 0) with probability p and otherwise scaled by 1/(1 − p), a fresh random mask
//! every mini-batch. The network then cannot rely on any single neuron; at evaluation time
//! nothing is dropped and, thanks to the scaling, nothing needs to change.
//!
//! ```text
//! training:   ã^(l) = a^(l) ⊙ m^(l),   m_k = 1/(1 − p) with probability 1 − p, else 0
//! backwards:  ∂C/∂z_k^(l) = σ'(z_k^(l)) · m_k · Σ_j w_jk ∂C/∂z_j^(l+1)
//! ```
//!
//! The masks live in the [`crate::Workspace`]; [`crate::Dense::backward_batch`] applies them.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Dropout rates: the probability of dropping each input pixel and each hidden activation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dropout {
    /// p for the input layer a^(0); 0 for none (the default). Srivastava et al. use 0.2.
    pub input: f64,
    /// p for every hidden layer; 0 for none (the default). Srivastava et al. use 0.5.
    pub hidden: f64,
}

impl Dropout {
    /// Whether any rate is non-zero.
    pub fn is_on(&self) -> bool {
        self.input > 0.0 || self.hidden > 0.0
    }

    /// # Errors
    /// [`Error::Config`] unless both rates are in [0, 1).
    pub fn validate(&self) -> Result<()> {
        for (name, p) in [("input", self.input), ("hidden", self.hidden)] {
            if !(0.0..1.0).contains(&p) {
                return Err(Error::Config(format!(
                    "the {name} dropout rate must be in [0, 1), got {p}"
                )));
            }
        }
        Ok(())
    }
}
