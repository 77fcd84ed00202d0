//! How a network's weights and biases are first drawn.

use crate::{Real, Rng};
use serde::{Deserialize, Serialize};

/// A weight initialisation scheme. `n_in` and `n_out` are the sizes of the layers a weight
/// connects.
///
/// ```text
/// normal    w ~ N(0, 1),              b ~ N(0, 1)    the notes' network; Nielsen ch. 1
/// scaled    w ~ N(0, 1/n_in),         b ~ N(0, 1)    Nielsen ch. 3
/// xavier    w ~ N(0, 2/(n_in+n_out)), b = 0          Glorot & Bengio 2010
/// he        w ~ N(0, 2/n_in),         b = 0          He et al. 2015, for ReLU
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// Every weight and bias from N(0, 1).
    #[default]
    Normal,
    /// Weights from N(0, 1/n_in), biases from N(0, 1).
    Scaled,
    /// Weights from N(0, 2/(n_in + n_out)), biases 0.
    Xavier,
    /// Weights from N(0, 2/n_in), biases 0.
    He,
}

impl Init {
    /// Every scheme, in a fixed order.
    pub const ALL: [Init; 4] = [Init::Normal, Init::Scaled, Init::Xavier, Init::He];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Init::Normal => "normal",
            Init::Scaled => "scaled",
            Init::Xavier => "xavier",
            Init::He => "he",
        }
    }

    /// Fills one layer's `weights` (n_out × n_in, row by row) and then its `biases`, drawing from
    /// `rng` in that order.
    pub fn fill<T: Real>(
        self,
        n_in: usize,
        n_out: usize,
        weights: &mut [T],
        biases: &mut [T],
        rng: &mut Rng,
    ) {
        let std = match self {
            Init::Normal => 1.0,
            Init::Scaled => (1.0 / n_in as f64).sqrt(),
            Init::Xavier => (2.0 / (n_in + n_out) as f64).sqrt(),
            Init::He => (2.0 / n_in as f64).sqrt(),
        };
        for w in weights.iter_mut() {
            *w = T::from_f64(std * rng.normal());
        }
        for b in biases.iter_mut() {
            *b = match self {
                Init::Normal | Init::Scaled => T::from_f64(rng.normal()),
                Init::Xavier | Init::He => T::ZERO,
            };
        }
    }
}

impl std::fmt::Display for Init {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Init {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Init::ALL
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| {
                format!("unknown initialisation {s:?}, expected one of normal, scaled, xavier, he")
            })
    }
}
