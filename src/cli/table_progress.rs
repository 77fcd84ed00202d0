//! What `backprop train --data FILE.csv` shows while it trains: a line per epoch (training
//! cost; test accuracy, or RMSE, MAE and R² in the target's units), or with --json the epoch's
//! object, and every epoch in the log beside the model, as the MNIST run writes it.

use super::percent;
use backprop::inspect::report::curves::epoch_json;
use backprop::{EpochReport, Evaluation, Progress};
use std::io::Write;
use std::path::Path;

/// Renders the estimator's [`Progress`] for a table.
pub struct EpochLines<'a> {
    pub json: bool,
    pub regression: bool,
    pub validation: bool,
    /// The log so far, rewritten whole (atomically) to `log_path` after every epoch.
    pub log: String,
    pub log_path: &'a Path,
    pub error: Option<anyhow::Error>,
    stdout_closed: bool,
}

impl<'a> EpochLines<'a> {
    pub fn new(json: bool, regression: bool, validation: bool, log_path: &'a Path) -> Self {
        EpochLines {
            json,
            regression,
            validation,
            log: String::new(),
            log_path,
            error: None,
            stdout_closed: false,
        }
    }

    /// The table's heading (nothing with --json).
    pub fn heading(&self) -> String {
        let scores = if self.regression {
            ["test RMSE", "test MAE", "test R²"]
                .map(|h| format!("{h:>10}"))
                .join("")
        } else {
            format!("{:>9}", "test acc")
        };
        let val = match (self.validation, self.regression) {
            (false, _) => "",
            (true, true) => "    val R²",
            (true, false) => "   val acc",
        };
        format!("epoch  train cost{val}{scores}  seconds")
    }

    /// Prints a line on stdout, unless it has been closed (training goes on then).
    pub fn print(&mut self, line: &str) {
        if self.stdout_closed {
            return;
        }
        let mut out = std::io::stdout().lock();
        match writeln!(out, "{line}").and_then(|_| out.flush()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => self.stdout_closed = true,
            Err(e) => {
                self.error
                    .get_or_insert(anyhow::Error::new(e).context("cannot write to stdout"));
            }
        }
    }

    fn line(&self, r: &EpochReport) -> String {
        let score = |e: &Evaluation| match &e.regression {
            Some(m) => format!("{:>10.4}", m.r2),
            None => format!("{:>10}", percent(e.accuracy())),
        };
        let val = r.validation.as_ref().map(score).unwrap_or_default();
        let test = match r.test.as_ref() {
            Some(e) => match &e.regression {
                Some(m) => format!("{:>10.4}{:>10.4}{:>10.4}", m.rmse, m.mae, m.r2),
                None => format!("{:>9}", percent(e.accuracy())),
            },
            None => String::new(),
        };
        format!(
            "{:>5}  {:>10.4}{val}{test}  {:>7.3}",
            r.epoch, r.train_cost, r.seconds
        )
    }
}

impl Progress for EpochLines<'_> {
    fn epoch_end(&mut self, r: &EpochReport) {
        let obj = epoch_json(r);
        self.log.push_str(&obj.to_string());
        self.log.push('\n');
        if let Err(e) = backprop::model_io::write_atomically(self.log_path, self.log.as_bytes()) {
            self.error.get_or_insert(e.into());
        }
        let line = if self.json {
            obj.to_string()
        } else {
            self.line(r)
        };
        self.print(&line);
    }

    fn should_stop(&mut self) -> bool {
        self.error.is_some()
    }
}
