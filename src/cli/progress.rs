//! Progress bars on stderr, one per epoch. Hidden when stderr is not a terminal.

use backprop::{EpochReport, Progress};
use indicatif::{ProgressBar, ProgressStyle};

/// Renders [`Progress`] events as an indicatif bar.
pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    pub fn new() -> Self {
        Bar { bar: None }
    }

    /// Removes the bar, if one is showing.
    pub fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn epoch_start(&mut self, epoch: usize, epochs: usize, batches: usize) {
        let bar = ProgressBar::new(batches as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} batches, {eta} left",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{epoch}/{epochs}"));
        self.bar = Some(bar);
    }

    fn batch_end(&mut self, batch: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(batch as u64);
        }
    }

    fn evaluating(&mut self) {
        if let Some(bar) = &self.bar {
            bar.set_message("evaluating");
        }
    }

    fn epoch_end(&mut self, _report: &EpochReport) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
