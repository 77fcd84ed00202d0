//! Learning-rate schedules: how η changes from epoch to epoch.
//!
//! ```text
//! constant   η_e = η₀
//! step       η_e = η₀ · γ^⌊(e − 1)/k⌋                 γ every k epochs
//! cosine     η_e = η₀ · ½(1 + cos(π(e − 1)/E))         from η₀ down towards 0 over E epochs
//! plateau    η ← η/2 when the validation accuracy has not improved for p epochs;
//!            training stops once η < η₀/128            (Nielsen's chapter 3)
//! ```

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How the learning rate changes over the epochs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "name")]
pub enum Schedule {
    /// η stays η₀.
    #[default]
    Constant,
    /// η is multiplied by `factor` every `every` epochs.
    Step {
        /// Epochs between changes.
        every: usize,
        /// γ, in (0, 1).
        factor: f64,
    },
    /// Cosine annealing over the whole run, one value per epoch.
    Cosine,
    /// Nielsen's "halve on plateau": η is halved whenever the validation accuracy has not improved
    /// for `patience` epochs, and training ends when η falls below η₀/128. Needs a validation set.
    Plateau {
        /// Epochs without improvement before η is halved.
        patience: usize,
    },
}

/// Plateau schedule: η is multiplied by this when the validation accuracy stalls…
pub const PLATEAU_FACTOR: f64 = 0.5;
/// …and training stops once η < η₀ · this.
pub const PLATEAU_STOP: f64 = 1.0 / 128.0;

impl Schedule {
    /// Parses the command line's form: `constant`, `cosine`, `step:K:GAMMA` (e.g. `step:10:0.5`)
    /// or `plateau:P` (e.g. `plateau:10`).
    ///
    /// # Errors
    /// A message saying what was expected.
    pub fn parse(s: &str) -> std::result::Result<Schedule, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let schedule = match parts.as_slice() {
            ["constant"] => Schedule::Constant,
            ["cosine"] => Schedule::Cosine,
            ["step", every, factor] => Schedule::Step {
                every: every
                    .parse()
                    .map_err(|_| format!("step schedule {s:?}: {every:?} is not a number of epochs"))?,
                factor: factor
                    .parse()
                    .map_err(|_| format!("step schedule {s:?}: {factor:?} is not a number"))?,
            },
            ["plateau", patience] => Schedule::Plateau {
                patience: patience
                    .parse()
                    .map_err(|_| format!("plateau schedule {s:?}: {patience:?} is not a number of epochs"))?,
            },
            _ => {
                return Err(format!(
                    "unknown schedule {s:?}, expected constant, cosine, step:EPOCHS:FACTOR (e.g. step:10:0.5) or plateau:PATIENCE (e.g. plateau:10)"
                ))
            }
        };
        schedule.validate().map_err(|e| e.to_string())?;
        Ok(schedule)
    }

    /// # Errors
    /// [`Error::Config`] for a step schedule with k = 0 or γ outside (0, 1], or a plateau
    /// schedule with patience 0.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Schedule::Step { every, factor } => {
                if every == 0 {
                    return Err(Error::Config(
                        "a step schedule needs at least 1 epoch between steps".into(),
                    ));
                }
                if !(factor > 0.0 && factor <= 1.0) {
                    return Err(Error::Config(format!(
                        "a step schedule's factor must be in (0, 1], got {factor}"
                    )));
                }
                Ok(())
            }
            Schedule::Plateau { patience: 0 } => Err(Error::Config(
                "a plateau schedule needs a patience of at least 1 epoch".into(),
            )),
            _ => Ok(()),
        }
    }

    /// η for epoch `epoch` (1-based) of `epochs`, starting from `eta0`. The plateau schedule
    /// is driven by the trainer and returns `eta0` here.
    pub fn rate(&self, eta0: f64, epoch: usize, epochs: usize) -> f64 {
        let e = epoch.saturating_sub(1);
        match *self {
            Schedule::Constant | Schedule::Plateau { .. } => eta0,
            Schedule::Step { every, factor } => {
                eta0 * factor.powi((e / every.max(1)).min(i32::MAX as usize) as i32)
            }
            Schedule::Cosine => {
                let progress = e as f64 / epochs.max(1) as f64;
                eta0 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }

    /// The command line's form of this schedule.
    pub fn to_arg(&self) -> String {
        match *self {
            Schedule::Constant => "constant".into(),
            Schedule::Cosine => "cosine".into(),
            Schedule::Step { every, factor } => format!("step:{every}:{factor}"),
            Schedule::Plateau { patience } => format!("plateau:{patience}"),
        }
    }
}

impl std::str::FromStr for Schedule {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Schedule::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_by_hand() {
        let step = Schedule::Step {
            every: 2,
            factor: 0.5,
        };
        let rates: Vec<f64> = (1..=5).map(|e| step.rate(1.0, e, 5)).collect();
        assert_eq!(rates, [1.0, 1.0, 0.5, 0.5, 0.25]);
        // Cosine over 4 epochs: ½(1 + cos(0, π/4, π/2, 3π/4)) = 1, 0.8536, 0.5, 0.1464.
        let cos: Vec<f64> = (1..=4).map(|e| Schedule::Cosine.rate(2.0, e, 4)).collect();
        for (got, want) in cos.iter().zip([2.0, 1.70711, 1.0, 0.29289]) {
            assert!((got - want).abs() < 1e-5, "{cos:?}");
        }
        assert_eq!(Schedule::Constant.rate(0.3, 7, 10), 0.3);
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!(Schedule::parse("cosine"), Ok(Schedule::Cosine));
        assert_eq!(
            Schedule::parse("step:10:0.5"),
            Ok(Schedule::Step {
                every: 10,
                factor: 0.5
            })
        );
        assert_eq!(
            Schedule::parse("plateau:10"),
            Ok(Schedule::Plateau { patience: 10 })
        );
        for bad in [
            "",
            "linear",
            "step:0:0.5",
            "step:3:2",
            "step:x:0.5",
            "plateau:0",
            "plateau",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
        for s in ["constant", "cosine", "step:3:0.1", "plateau:5"] {
            assert_eq!(Schedule::parse(s).unwrap().to_arg(), s);
        }
    }
}
