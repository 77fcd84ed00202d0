//! How long, in what portions and with what extras to train: [`TrainConfig`], its textbook
//! defaults and its checks.

use super::{Augment, Schedule};
use crate::{Dropout, Error, Result};
use serde::{Deserialize, Serialize};

/// How long, in what portions and with what extras to train.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training data. Default 30.
    pub epochs: usize,
    /// Samples per gradient step. Default 10.
    pub batch_size: usize,
    /// Seeds the shuffling of the training data (reshuffled every epoch), the dropout masks and
    /// the augmentation. The same seed, network and data give the same trained network, bit for
    /// bit. Default 3 (see the README for how the notes' network does over seeds 1 to 20).
    pub seed: u64,
    /// How η changes from epoch to epoch. Default constant.
    pub schedule: Schedule,
    /// Stop when the validation accuracy has not improved for this many epochs, and end with
    /// the network of the best epoch. Needs a validation set. Default none.
    pub early_stopping: Option<usize>,
    /// Dropout rates. Default none.
    pub dropout: Dropout,
    /// Random moves of the training images. Default none.
    pub augment: Augment,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 30,
            batch_size: 10,
            seed: 3,
            schedule: Schedule::Constant,
            early_stopping: None,
            dropout: Dropout::default(),
            augment: Augment::default(),
        }
    }
}

/// The most epochs a run may have: every epoch's report is kept (and logged), and beyond this a
/// run is a mistake (or `u64::MAX`), not a plan.
pub const MAX_EPOCHS: usize = 100_000;

impl TrainConfig {
    /// # Errors
    /// [`Error::Config`] for zero epochs or more than [`MAX_EPOCHS`], a zero batch size, an
    /// early-stopping patience of 0, a bad schedule, dropout rate or augmentation.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 || self.epochs > MAX_EPOCHS {
            return Err(Error::Config(format!(
                "the number of epochs must be from 1 to {MAX_EPOCHS}, got {}",
                self.epochs
            )));
        }
        if self.batch_size == 0 {
            return Err(Error::Config("the batch size must be at least 1".into()));
        }
        if self.early_stopping == Some(0) {
            return Err(Error::Config(
                "early stopping needs a patience of at least 1 epoch".into(),
            ));
        }
        self.schedule.validate()?;
        self.dropout.validate()?;
        self.augment.validate()
    }

    /// Whether training watches a validation set (early stopping, plateau schedule).
    pub fn needs_validation(&self) -> bool {
        self.early_stopping.is_some() || matches!(self.schedule, Schedule::Plateau { .. })
    }
}
