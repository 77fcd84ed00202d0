//! `backprop eval`: how a saved model does on a test set.

use super::{data, percent};
use anyhow::Context;
use backprop::inspect::report::eval::{confusion_svg, mistakes_svg, weights_svg};
use backprop::inspect::stats::{per_class, worst_mistakes};
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

    /// With a CSV --data: the column to compare with [default: the model's target]
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,

    /// Print one JSON object (accuracy, cost, n, correct, confusion, classes) instead of tables
    #[arg(long)]
    pub json: bool,

    /// Also draw pictures into DIR (SVG): confusion.svg (the confusion matrix as a heat map),
    /// mistakes.svg (the worst misclassified samples) and weights.svg (each first-layer neuron's
    /// weights as an image)
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,

    /// How many mistakes the report's gallery shows
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub mistakes: usize,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    if let Some(data) = args.data.as_deref().filter(|d| super::table::is_csv(d)) {
        return super::table::eval(&args.model, data, args.target.as_deref(), args.json);
    }
    let net = model_io::load(&args.model)?;
    let (test, source) = data::load_test(args.data.as_deref())?;
    check_fits(&net, &test)
        .with_context(|| format!("{} does not fit {source}", args.model.display()))?;
    let e = evaluate(&net, &test)?;
    let classes = per_class(&e.confusion);
    let written = match &args.report {
        Some(dir) => write_report(dir, &net, &test, &e.confusion, args.mistakes)?,
        None => Vec::new(),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let obj = json!({
            "accuracy": e.accuracy(),
            "cost": e.cost,
            "n": e.n,
            "correct": e.correct,
            "confusion": e.confusion,
            "classes": classes,
            "report": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
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
    writeln!(out)?;
    writeln!(out, "class  samples  precision  recall")?;
    let pct = |v: Option<f64>| v.map_or("–".to_string(), percent);
    for c in &classes {
        writeln!(
            out,
            "{:>5}  {:>7}  {:>9}  {:>6}",
            c.class,
            c.support,
            pct(c.precision),
            pct(c.recall)
        )?;
    }
    if !written.is_empty() {
        writeln!(out)?;
        for p in &written {
            writeln!(out, "wrote {}", p.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the pictures of `--report DIR`; returns their paths.
fn write_report(
    dir: &std::path::Path,
    net: &backprop::Network<f32>,
    test: &backprop::Dataset,
    confusion: &[Vec<usize>],
    n_mistakes: usize,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the report directory {}", dir.display()))?;
    let mut pictures = vec![("confusion.svg", confusion_svg(confusion))];
    if let Some((rows, cols)) = test.image_shape() {
        let mistakes = worst_mistakes(net, test, n_mistakes)?;
        pictures.push(("mistakes.svg", mistakes_svg(test, &mistakes, 8)));
        pictures.push(("weights.svg", weights_svg(&net.layers[0], rows, cols, 100)));
    }
    let mut written = Vec::new();
    for (name, svg) in pictures {
        let path = dir.join(name);
        backprop::model_io::write_atomically(&path, svg.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}
