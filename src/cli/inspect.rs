//! `backprop inspect`: what is inside a model file.

use backprop::inspect::stats::{histogram, Summary};
use backprop::model_io;
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model file written by `backprop train`
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,

    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,

    /// Also show a histogram of each layer's weights (20 bins)
    #[arg(long)]
    pub histogram: bool,
}

const BINS: usize = 20;

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let net = model_io::load(&args.model)?;
    let arch = net.architecture();
    let mut out = std::io::stdout().lock();
    if args.json {
        let obj = json!({
            "sizes": arch.sizes,
            "activations": arch.activations,
            "cost": arch.cost,
            "parameters": net.n_parameters(),
            "layers": net.layers.iter().map(|l| {
                let mut obj = json!({
                    "weights": Summary::of(&l.weights),
                    "biases": Summary::of(&l.biases),
                });
                if args.histogram {
                    let (edges, counts) = histogram(&l.weights, BINS);
                    obj["weight_histogram"] = json!({"edges": edges, "counts": counts});
                }
                obj
            }).collect::<Vec<_>>(),
        });
        writeln!(out, "{obj}")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "model       {}", args.model.display())?;
    writeln!(out, "layers      {}", arch.sizes_string())?;
    writeln!(out, "cost        {}", arch.cost)?;
    writeln!(out, "parameters  {}", net.n_parameters())?;
    writeln!(out)?;
    writeln!(out, "layer  neurons  inputs  activation  weights  biases")?;
    for (i, l) in net.layers.iter().enumerate() {
        writeln!(
            out,
            "{:>5}  {:>7}  {:>6}  {:>10}  {:>7}  {:>6}",
            i + 1,
            l.n_out,
            l.n_in,
            l.activation.name(),
            l.weights.len(),
            l.biases.len()
        )?;
    }
    writeln!(out)?;
    writeln!(out, "layer  parameters     mean      std      min      max")?;
    for (i, l) in net.layers.iter().enumerate() {
        for (what, values) in [("weights", &l.weights), ("biases", &l.biases)] {
            let s = Summary::of(values);
            writeln!(
                out,
                "{:>5}  {what:>10}  {:>7.3}  {:>7.3}  {:>7.3}  {:>7.3}",
                i + 1,
                s.mean,
                s.std,
                s.min,
                s.max
            )?;
        }
    }
    if args.histogram {
        for (i, l) in net.layers.iter().enumerate() {
            writeln!(out)?;
            writeln!(
                out,
                "layer {} weights ({} of them):",
                i + 1,
                l.weights.len()
            )?;
            let (edges, counts) = histogram(&l.weights, BINS);
            let most = counts.iter().copied().max().unwrap_or(1).max(1);
            for (b, &count) in counts.iter().enumerate() {
                let bar = "█".repeat((count * 40).div_ceil(most));
                writeln!(
                    out,
                    "  {:>7.3} … {:>7.3}  {count:>6}  {bar}",
                    edges[b],
                    edges[b + 1]
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
