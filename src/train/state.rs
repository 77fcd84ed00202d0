//! Where a run is: its position, random streams and sample order ([`TrainState`], saved in
//! checkpoints), the per-epoch reports ([`History`]) and why it ended ([`Stop`]).

use super::{schedule, Evaluation, Schedule, TrainConfig};
use crate::{Network, Real, Rng};
use serde::{Deserialize, Serialize};

/// What happened in one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// η during this epoch.
    pub learning_rate: f64,
    /// Mean cost of the training samples, measured on each mini-batch just before its step
    /// (with dropout and augmentation, if any).
    pub train_cost: f64,
    /// Fraction of the training samples classified correctly, measured the same way.
    pub train_accuracy: f64,
    /// On the validation set, if one was given.
    pub validation: Option<Evaluation>,
    /// On the test set, if one was given.
    pub test: Option<Evaluation>,
    /// Seconds spent training (shuffling and every step), evaluation excluded.
    pub seconds: f64,
    /// Each layer's health at the end of the epoch, if [`crate::Progress::wants_health`] asked
    /// for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<super::Health>,
}

/// Why training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// All epochs ran.
    Finished,
    /// The validation accuracy stopped improving (early stopping).
    NoImprovement,
    /// The plateau schedule took η below η₀/128.
    LearningRateExhausted,
    /// [`Progress::should_stop`](super::Progress::should_stop) asked for it.
    Interrupted,
}

/// The outcome of [`train()`](super::train()).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One report per epoch that ran.
    pub epochs: Vec<EpochReport>,
    /// With early stopping: the epoch whose network training returned (the best on validation).
    pub best_epoch: Option<usize>,
    /// Why training ended.
    pub stop: Stop,
}

impl History {
    /// The report of the epoch whose network training ended with: the best epoch with early
    /// stopping, the last otherwise.
    pub fn kept(&self) -> Option<&EpochReport> {
        match self.best_epoch {
            Some(e) => self.epochs.iter().find(|r| r.epoch == e),
            None => self.epochs.last(),
        }
    }
}

/// Offsets that give the dropout masks and the augmentation their own random streams, so that
/// turning either on does not change the shuffling.
const DROPOUT_STREAM: u64 = 0xD5A6_1266_F0C9_392C;
const AUGMENT_STREAM: u64 = 0xA3B1_9535_4A39_B70D;

/// Everything a training run carries from one step to the next besides the network and the
/// optimiser: where it is, its random streams, the sample order, and what it has seen. Saved in
/// checkpoints, so that a run resumed from one ends with exactly the model an uninterrupted run
/// would have produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState<T> {
    /// The epoch in progress, or the next to start (1-based).
    pub epoch: usize,
    /// Mini-batches of `epoch` already done; 0 before the epoch's shuffle.
    pub batches_done: usize,
    /// The current order of the training samples (reshuffled in place every epoch).
    #[serde(skip)]
    pub order: Vec<usize>,
    /// Shuffling, dropout masks, augmentation.
    pub rngs: [Rng; 3],
    /// The current epoch's running totals: cost, correct samples, seconds.
    pub epoch_cost: f64,
    /// See `epoch_cost`.
    pub epoch_correct: usize,
    /// See `epoch_cost`.
    pub epoch_seconds: f64,
    /// η₀, the optimiser's learning rate when training began.
    pub eta0: Option<f64>,
    /// η of the plateau schedule.
    pub plateau_eta: Option<f64>,
    /// Best validation accuracy so far and its epoch.
    pub best: Option<(f64, usize)>,
    /// Epochs since the best.
    pub since_best: usize,
    /// Epochs without improvement since η last changed (plateau schedule).
    pub since_change: usize,
    /// With early stopping: the network of the best epoch.
    #[serde(skip)]
    pub best_net: Option<Network<T>>,
    /// The epochs so far, and why training ended.
    pub history: History,
}

impl<T: Real> TrainState<T> {
    /// The state before the first step of a run with `config` on `n` samples.
    pub fn new(config: &TrainConfig, n: usize) -> Self {
        TrainState {
            epoch: 1,
            batches_done: 0,
            order: (0..n).collect(),
            rngs: [
                Rng::new(config.seed),
                Rng::new(config.seed ^ DROPOUT_STREAM),
                Rng::new(config.seed ^ AUGMENT_STREAM),
            ],
            epoch_cost: 0.0,
            epoch_correct: 0,
            epoch_seconds: 0.0,
            eta0: None,
            plateau_eta: None,
            best: None,
            since_best: 0,
            since_change: 0,
            best_net: None,
            history: History {
                epochs: Vec::new(),
                best_epoch: None,
                stop: Stop::Finished,
            },
        }
    }

    /// Whether training has ended (rather than been interrupted).
    pub fn is_done(&self, config: &TrainConfig) -> bool {
        self.epoch > config.epochs
            || matches!(
                self.history.stop,
                Stop::NoImprovement | Stop::LearningRateExhausted
            )
    }

    /// η for the current epoch.
    pub(super) fn eta(&self, config: &TrainConfig, eta0: f64) -> f64 {
        match config.schedule {
            Schedule::Plateau { .. } => self.plateau_eta.unwrap_or(eta0),
            s => s.rate(eta0, self.epoch, config.epochs),
        }
    }
}

impl<T: Real> TrainState<T> {
    /// Early stopping and the plateau schedule look at the validation accuracy of the epoch
    /// that just ended.
    pub(super) fn end_of_epoch(
        &mut self,
        config: &TrainConfig,
        eta0: f64,
        epoch: usize,
        validation_accuracy: Option<f64>,
        net: &Network<T>,
    ) {
        if let Some(accuracy) = validation_accuracy {
            if self.best.is_none_or(|(b, _)| accuracy > b) {
                self.best = Some((accuracy, epoch));
                self.since_best = 0;
                self.since_change = 0;
                if config.early_stopping.is_some() {
                    self.best_net = Some(net.clone());
                }
            } else {
                self.since_best += 1;
                self.since_change += 1;
            }
        }
        if let Schedule::Plateau { patience } = config.schedule {
            if self.since_change >= patience {
                let eta = self.plateau_eta.unwrap_or(eta0) * schedule::PLATEAU_FACTOR;
                self.plateau_eta = Some(eta);
                self.since_change = 0;
                if eta < eta0 * schedule::PLATEAU_STOP {
                    self.history.stop = Stop::LearningRateExhausted;
                }
            }
        }
        if config.early_stopping.is_some_and(|p| self.since_best >= p) {
            self.history.stop = Stop::NoImprovement;
        }
    }
}
