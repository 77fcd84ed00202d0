//! `backprop eval`: how a saved model does on a test set.

use super::{data, percent};
use anyhow::Context;
use backprop::{check_fits, evaluate, model_io};
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The model file written by `backprop train`
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,

    /// Directory of an MNIST-style dataset whose test files (t10k-*) are used
    /// [default: the MNIST bundled with backprop]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Print one JSON object (accuracy, cost, n, correct, confusion) instead of tables
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let net = model_io::load(&args.model)?;
    let (mnist, source) = data::load(args.data.as_deref())?;
    check_fits(&net, &mnist.test)
        .with_context(|| format!("{} does not fit {source}", args.model.display()))?;
    let e = evaluate(&net, &mnist.test)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let obj = json!({
            "accuracy": e.accuracy(),
            "cost": e.cost,
            "n": e.n,
            "correct": e.correct,
            "confusion": e.confusion,
        });
        writeln!(out, "{obj}")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "model     {}", args.model.display())?;
    writeln!(out, "data      {source}, {} test samples", e.n)?;
    writeln!(
        out,
        "accuracy  {} ({} of {})",
        percent(e.accuracy()),
        e.correct,
        e.n
    )?;
    writeln!(out, "cost      {:.4} (mean {} cost)", e.cost, net.cost)?;
    writeln!(out)?;
    writeln!(
        out,
        "confusion matrix: rows are the true class, columns the predicted one"
    )?;
    let k = e.confusion.len();
    let width = e
        .confusion
        .iter()
        .flatten()
        .max()
        .map_or(1, |m| m.to_string().len())
        .max(k.to_string().len());
    write!(out, "{:>5} |", "")?;
    for j in 0..k {
        write!(out, " {j:>width$}")?;
    }
    writeln!(out)?;
    writeln!(out, "{}", "-".repeat(7 + k * (width + 1)))?;
    for (i, row) in e.confusion.iter().enumerate() {
        write!(out, "{i:>5} |")?;
        for v in row {
            write!(out, " {v:>width$}")?;
        }
        writeln!(out)?;
    }
    Ok(ExitCode::SUCCESS)
}
