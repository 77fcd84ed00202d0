//! `backprop train`: train a network and save it.

use super::{data, network_args::NetworkArgs, percent, progress::Bar};
use anyhow::{bail, Context};
use backprop::{model_io, train, EpochReport, Monitor, Network, SgdConfig, TrainConfig};
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Directory of an MNIST-style dataset (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
    /// t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]; "train-images.idx3-ubyte" spellings too)
    /// [default: the MNIST bundled with backprop]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    #[command(flatten)]
    pub network: NetworkArgs,

    /// Passes over the training data
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,

    /// Samples per gradient step
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub batch_size: usize,

    /// η in θ ← θ − η∇C; 1.5 with the notes' cost equals Nielsen's η = 3.0 with his ½Σ(a − y)²
    #[arg(
        long,
        default_value_t = 1.5,
        value_name = "ETA",
        allow_negative_numbers = true
    )]
    pub learning_rate: f64,

    /// Seed of the initial weights and of the shuffling; the same seed gives the same model, bit for bit
    #[arg(long, default_value_t = 3)]
    pub seed: u64,

    /// Hold out the last N training images for validation (Nielsen's split: 10000); 0 for none
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub validation: usize,

    /// Train on only the first N training images (after the validation split) [default: all]
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Where to save the trained model (safetensors)
    #[arg(long, default_value = "model.safetensors", value_name = "PATH")]
    pub out: PathBuf,

    /// Print one JSON object per epoch on stdout instead of a table
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
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

    let (mnist, source) = data::load(args.data.as_deref())?;
    let (mut train_set, test_set) = (mnist.train, mnist.test);
    let mut validation = None;
    if args.validation > 0 {
        let (t, v) = train_set.split_last(args.validation)?;
        train_set = t;
        validation = Some(v);
    }
    if let Some(limit) = args.limit {
        if limit == 0 {
            bail!("--limit must be at least 1");
        }
        train_set = train_set.head(limit);
    }

    let arch = args
        .network
        .architecture(train_set.n_inputs(), train_set.n_classes(), &source)?;
    let mut net = Network::<f32>::new(&arch, args.network.init, args.seed)?;

    eprintln!(
        "training {} ({} parameters, {} hidden, {} output, {} cost) on {} training images of {source}, \
         {} epochs, batches of {}, η = {}",
        arch.sizes_string(),
        arch.n_parameters(),
        arch.activations[0],
        arch.activations[arch.activations.len() - 1],
        arch.cost,
        train_set.len(),
        config.epochs,
        config.batch_size,
        args.learning_rate
    );
    let mut stdout = std::io::stdout().lock();
    if !args.json {
        let val = if validation.is_some() {
            "  val cost   val acc"
        } else {
            ""
        };
        writeln!(
            stdout,
            "epoch  train cost{val}  test cost  test acc  seconds"
        )?;
    }
    let mut progress = Printer {
        bar: Bar::new(),
        json: args.json,
        out: &mut stdout,
        error: None,
    };
    let monitor = Monitor {
        validation: validation.as_ref(),
        test: Some(&test_set),
    };
    let reports = train(
        &mut net,
        &mut sgd,
        &train_set,
        monitor,
        &config,
        &mut progress,
    )
    .context("training failed; no model was saved")?;
    if let Some(e) = progress.error {
        return Err(e.into());
    }
    model_io::save(&net, &args.out)?;
    let last = reports
        .last()
        .and_then(|r| r.test.as_ref())
        .expect("test set evaluated");
    let total: f64 = reports.iter().map(|r| r.seconds).sum();
    eprintln!(
        "saved {} — test accuracy {} after {} epochs, {:.1} s of training",
        args.out.display(),
        percent(last.accuracy()),
        reports.len(),
        total
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints each epoch's line as it ends, and draws the progress bar meanwhile.
struct Printer<'a, W: Write> {
    bar: Bar,
    json: bool,
    out: &'a mut W,
    error: Option<std::io::Error>,
}

impl<W: Write> backprop::Progress for Printer<'_, W> {
    fn epoch_start(&mut self, epoch: usize, epochs: usize, batches: usize) {
        self.bar.epoch_start(epoch, epochs, batches);
    }
    fn batch_end(&mut self, batch: usize) {
        self.bar.batch_end(batch);
    }
    fn evaluating(&mut self) {
        self.bar.evaluating();
    }
    fn epoch_end(&mut self, r: &EpochReport) {
        self.bar.epoch_end(r);
        let test = r.test.as_ref().expect("test set evaluated");
        let line = if self.json {
            let mut obj = json!({
                "epoch": r.epoch,
                "train_cost": r.train_cost,
                "test_cost": test.cost,
                "test_accuracy": test.accuracy(),
                "seconds": r.seconds,
            });
            if let Some(v) = &r.validation {
                obj["validation_cost"] = json!(v.cost);
                obj["validation_accuracy"] = json!(v.accuracy());
            }
            obj.to_string()
        } else {
            let val = r
                .validation
                .as_ref()
                .map(|v| format!("  {:>8.4}  {:>8}", v.cost, percent(v.accuracy())))
                .unwrap_or_default();
            format!(
                "{:>5}  {:>10.4}{val}  {:>9.4}  {:>8}  {:>7.2}",
                r.epoch,
                r.train_cost,
                test.cost,
                percent(test.accuracy()),
                r.seconds
            )
        };
        if let Err(e) = writeln!(self.out, "{line}").and_then(|_| self.out.flush()) {
            self.error.get_or_insert(e);
        }
    }
}
