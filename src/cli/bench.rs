//! `backprop bench`: how long a training epoch takes here, for any configuration.

use super::{network_args::NetworkArgs, optim_args::OptimArgs, recipe::Preset};
use backprop::{train, Kernels, Mnist, Network, TrainConfig};
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub network: NetworkArgs,

    #[command(flatten)]
    pub optim: OptimArgs,

    /// Samples per gradient step
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub batch_size: usize,

    /// Epochs to time; the best and the median are reported
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,

    /// Seed of the initial weights and the shuffling
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,

    /// Time answers instead of training: this model's evaluation of the 10,000 MNIST test
    /// images (best of 7) and one-sample predictions (median of 20,000)
    #[arg(long, value_name = "PATH")]
    pub model: Option<std::path::PathBuf>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(model) = &args.model {
        return super::bench_inference::run(model, args.json);
    }
    let mut recipe = Preset::Notes.recipe();
    args.network.apply(&mut recipe);
    args.optim.apply(&mut recipe)?;
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        ..TrainConfig::default()
    };
    config.validate()?;
    recipe.optimizer.validate()?;
    let mnist = Mnist::bundled()?;
    let arch = recipe.architecture(
        mnist.train.n_inputs(),
        mnist.train.n_classes(),
        "the bundled MNIST",
    )?;
    let mut net = Network::<f32>::new(&arch, recipe.init, args.seed)?;
    let mut optimizer = recipe.optimizer.build(&net, mnist.train.len())?;
    let reports = train(&mut net, &mut optimizer, &mnist.train, &config)?.epochs;
    let mut seconds: Vec<f64> = reports.iter().map(|r| r.seconds).collect();
    let per_epoch = seconds.clone();
    seconds.sort_by(f64::total_cmp);
    let (best, median) = (seconds[0], seconds[seconds.len() / 2]);
    let n = mnist.train.len() as f64;
    let mut out = std::io::stdout().lock();
    if args.json {
        let obj = json!({
            "sizes": arch.sizes,
            "activations": arch.activations,
            "cost": arch.cost,
            "optimizer": recipe.optimizer.rule.name(),
            "batch_size": args.batch_size,
            "kernels": Kernels::current().name(),
            "threads": backprop::threads(),
            "epoch_seconds": per_epoch,
            "best_seconds": best,
            "median_seconds": median,
            "samples_per_second": n / best,
        });
        writeln!(out, "{obj}")?;
    } else {
        writeln!(
            out,
            "{} ({}, {}), batch {}, {} kernels: best {:.4} s/epoch, median {:.4} s, {:.0} samples/s over {} epochs of {} images",
            arch.sizes_string(),
            arch.cost,
            recipe.optimizer.rule,
            args.batch_size,
            Kernels::current(),
            best,
            median,
            n / best,
            reports.len(),
            n
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
