//! `backprop bench`: how long a training epoch takes here, for any configuration.

use super::network_args::NetworkArgs;
use backprop::{train, Mnist, Monitor, Network, SgdConfig, TrainConfig};
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub network: NetworkArgs,

    /// Samples per gradient step
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub batch_size: usize,

    /// η of plain SGD
    #[arg(long, default_value_t = 1.5, value_name = "ETA")]
    pub learning_rate: f64,

    /// Epochs to time; the best and the median are reported
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,

    /// Seed of the initial weights and the shuffling
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
    };
    config.validate()?;
    let mut sgd = SgdConfig {
        learning_rate: args.learning_rate,
    }
    .build()?;
    let mnist = Mnist::bundled()?;
    let arch = args.network.architecture(
        mnist.train.n_inputs(),
        mnist.train.n_classes(),
        "the bundled MNIST",
    )?;
    let mut net = Network::<f32>::new(&arch, args.network.init, args.seed)?;
    let reports = train(
        &mut net,
        &mut sgd,
        &mnist.train,
        Monitor::default(),
        &config,
        &mut (),
    )?;
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
            "batch_size": args.batch_size,
            "epoch_seconds": per_epoch,
            "best_seconds": best,
            "median_seconds": median,
            "samples_per_second": n / best,
        });
        writeln!(out, "{obj}")?;
    } else {
        writeln!(
            out,
            "{} ({}), batch {}: best {:.4} s/epoch, median {:.4} s, {:.0} samples/s over {} epochs of {} images",
            arch.sizes_string(),
            arch.cost,
            args.batch_size,
            best,
            median,
            n / best,
            reports.len(),
            n
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
