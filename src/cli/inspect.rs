//! `backprop inspect`: what is inside a model file.

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
}

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
    Ok(ExitCode::SUCCESS)
}
