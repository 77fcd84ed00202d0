//! How training talks to whoever runs it: the library never prints.

use super::EpochReport;
use crate::Dataset;

/// Hears about training as it goes. Every method has a default that does nothing.
pub trait Progress {
    /// An epoch of `batches` mini-batches begins.
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _batches: usize) {}
    /// Mini-batch `batch` (1-based) of the current epoch is done.
    fn batch_end(&mut self, _batch: usize) {}
    /// The mean cost C₀ of the mini-batch just done, measured before its step; called right
    /// before [`Progress::batch_end`] (live curves).
    fn batch_cost(&mut self, _cost: f64) {}
    /// Training is done with this epoch's steps; evaluation starts.
    fn evaluating(&mut self) {}
    /// The epoch is over.
    fn epoch_end(&mut self, _report: &EpochReport) {}
    /// Asked after every step: return true to stop training there (after a Ctrl-C, say); see
    /// [`Training::resume`](super::Training::resume) for continuing later.
    fn should_stop(&mut self) -> bool {
        false
    }
    /// Whether each epoch's report should carry the layers' health, measured at its end on the
    /// epoch's last 1000 samples (a few percent of an epoch): [`super::Health`].
    fn wants_health(&self) -> bool {
        false
    }
}

/// A [`Progress`] that ignores everything.
impl Progress for () {}

/// Datasets evaluated after every epoch ([`Training::validation`](super::Training::validation),
/// [`Training::test`](super::Training::test)).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Monitor<'a> {
    /// Held-out training data, for choosing hyper-parameters, early stopping and the plateau
    /// schedule.
    pub(crate) validation: Option<&'a Dataset>,
    /// The test set.
    pub(crate) test: Option<&'a Dataset>,
}
