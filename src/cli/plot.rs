//! `backprop plot`: training curves from a training log.

use anyhow::Context;
use backprop::inspect::report::curves::{curves_svg, parse_log};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A training log: JSON lines, one object per epoch (epoch, train_cost, test_cost,
    /// test_accuracy, validation_*, ... ; what `backprop train --json` prints works too)
    #[arg(value_name = "LOG")]
    pub log: PathBuf,

    /// Where to write the picture (SVG)
    #[arg(long, default_value = "curves.svg", value_name = "PATH")]
    pub out: PathBuf,

    /// Title above the curves [default: "Training curves: <LOG>"]
    #[arg(long)]
    pub title: Option<String>,
}

/// The largest training log read: a line is about 300 bytes, so the longest run `train` allows
/// (`backprop::train::MAX_EPOCHS`, 100,000 epochs) logs about 30 MiB.
const MAX_LOG_BYTES: u64 = 64 << 20;

pub fn run(args: PlotArgs) -> anyhow::Result<ExitCode> {
    let bytes = backprop::model_io::read_at_most(&args.log, MAX_LOG_BYTES, "a training log")
        .context("cannot read the training log")?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", args.log.display()))?;
    let log = parse_log(&text).map_err(|e| anyhow::anyhow!("{}: {e}", args.log.display()))?;
    let title = args
        .title
        .unwrap_or_else(|| format!("Training curves: {}", args.log.display()));
    backprop::model_io::write_atomically(&args.out, curves_svg(&log, &title).as_bytes())?;
    eprintln!("wrote {} ({} epochs)", args.out.display(), log.len());
    Ok(ExitCode::SUCCESS)
}
