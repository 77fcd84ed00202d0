//! `backprop train`: train a network and save it, with a log of every epoch beside it.

use super::recipe::{Preset, Recipe};
use super::{data, network_args::NetworkArgs, optim_args::OptimArgs, percent, progress::Bar};
use anyhow::{bail, Context};
use backprop::inspect::report::curves::epoch_json;
use backprop::{model_io, Checkpoint, EpochReport, Network, Schedule, Stop, TrainState, Training};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Directory of an MNIST-style dataset (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
    /// t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]; "train-images.idx3-ubyte" spellings too)
    /// [default: the MNIST bundled with backprop]. Or a CSV file (with --target), or a built-in
    /// 2-D toy set: spiral, circles, xor, gauss, moons (with --samples, --noise)
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// With a CSV --data: the column to predict (found by name in the header)
    #[arg(long, value_name = "NAME", help_heading = "Tables (--data FILE.csv)")]
    pub target: Option<String>,

    /// With a CSV --data: classify or regress [default: classify for words or at most 20
    /// distinct integers, regress otherwise]
    #[arg(long, value_name = "TASK", value_parser = parse_task, help_heading = "Tables (--data FILE.csv)")]
    pub task: Option<backprop::model_io::Task>,

    /// With --data spiral|circles|xor|gauss|moons: the number of points [default: 500]
    #[arg(long, value_name = "N", help_heading = "Tables (--data FILE.csv)")]
    pub samples: Option<usize>,

    /// With --data spiral|circles|xor|gauss|moons: σ of the Gaussian noise [default: 0.1]
    #[arg(
        long,
        value_name = "SIGMA",
        help_heading = "Tables (--data FILE.csv)",
        allow_negative_numbers = true
    )]
    pub noise: Option<f64>,

    /// With a CSV --data: a CSV test file with the same columns [default: --test-split 0.2]
    #[arg(long, value_name = "FILE", help_heading = "Tables (--data FILE.csv)")]
    pub test: Option<PathBuf>,

    /// With a CSV --data: hold out this fraction of the rows (stratified for classes) as the
    /// test set [default: 0.2]
    #[arg(long, value_name = "F", help_heading = "Tables (--data FILE.csv)")]
    pub test_split: Option<f64>,

    /// A complete recipe; any flag given as well overrides the preset's value
    #[arg(long, value_enum, default_value_t = Preset::Notes)]
    pub preset: Preset,

    #[command(flatten)]
    pub network: NetworkArgs,

    #[command(flatten)]
    pub optim: OptimArgs,

    /// Passes over the training data, at most 100000 [default: 30, or the preset's]
    #[arg(long, help_heading = "Training")]
    pub epochs: Option<usize>,

    /// Samples per gradient step, at most the number of training images
    /// [default: 10, or the preset's]
    #[arg(long, value_name = "N", help_heading = "Training")]
    pub batch_size: Option<usize>,

    /// Seed of the initial weights, the shuffling, the dropout masks and the augmentation; the
    /// same seed gives the same model, bit for bit [default: 3]
    #[arg(long, help_heading = "Training")]
    pub seed: Option<u64>,

    /// Learning-rate schedule: constant, cosine (from η down to 0 over the run), step:K:G
    /// (η·G every K epochs), plateau:P (halve η after P epochs without validation improvement,
    /// stop below η/128; needs --validation) [default: constant, or the preset's]
    #[arg(long, value_name = "SCHEDULE", help_heading = "Training")]
    pub schedule: Option<Schedule>,

    /// Stop when the validation accuracy has not improved for N epochs and keep the best
    /// epoch's network; needs --validation. With a CSV --data: the validation R² or accuracy on
    /// a held-out tenth of the training rows; 0 turns it off [default: off; for a CSV
    /// regression on 100 rows or more, 10]
    #[arg(long, value_name = "N", help_heading = "Training")]
    pub early_stop: Option<usize>,

    /// Hold out the last N training images for validation (Nielsen's split: 10000); 0 for none
    /// [default: 0, or the preset's]
    #[arg(long, value_name = "N", help_heading = "Training")]
    pub validation: Option<usize>,

    /// Train on only the first N training images (after the validation split) [default: all]
    #[arg(long, value_name = "N", help_heading = "Training")]
    pub limit: Option<usize>,

    /// Probability of dropping each hidden activation during training, in [0, 1)
    /// [default: 0, or the preset's]
    #[arg(
        long,
        value_name = "P",
        help_heading = "Regularisation",
        allow_negative_numbers = true
    )]
    pub dropout: Option<f64>,

    /// Probability of dropping each input pixel during training, in [0, 1) [default: 0, or the preset's]
    #[arg(
        long,
        value_name = "P",
        help_heading = "Regularisation",
        allow_negative_numbers = true
    )]
    pub input_dropout: Option<f64>,

    /// Augmentation: shift each training image by up to PX pixels along each axis, less than
    /// its side [default: 0, or the preset's]
    #[arg(
        long,
        value_name = "PX",
        help_heading = "Regularisation",
        allow_negative_numbers = true
    )]
    pub shift: Option<f64>,

    /// Augmentation: rotate each training image by up to DEG degrees, at most 180
    /// [default: 0, or the preset's]
    #[arg(
        long,
        value_name = "DEG",
        help_heading = "Regularisation",
        allow_negative_numbers = true
    )]
    pub rotate: Option<f64>,

    /// Augmentation: scale each training image by a factor in 1 ± F [default: 0, or the preset's]
    #[arg(
        long,
        value_name = "F",
        help_heading = "Regularisation",
        allow_negative_numbers = true
    )]
    pub scale: Option<f64>,

    /// Augmentation: elastic distortion of strength ALPHA pixels (Simard et al. use 34); 0 for
    /// none. Refused when it would move pixels by more than a quarter of the image side (root
    /// mean square): at most 171 with σ = 4 on 28×28 images [default: 0, or the preset's]
    #[arg(
        long,
        value_name = "ALPHA",
        help_heading = "Regularisation",
        allow_negative_numbers = true
    )]
    pub elastic: Option<f64>,

    /// Augmentation: smoothness σ of the elastic distortion, in pixels [default: 4]
    #[arg(
        long,
        value_name = "SIGMA",
        help_heading = "Regularisation",
        allow_negative_numbers = true
    )]
    pub elastic_sigma: Option<f64>,

    /// Where to save the trained model (safetensors). Checked before training starts: it must
    /// be a regular file or absent, in a writable directory; a symbolic link is written through
    #[arg(
        long,
        default_value = "model.safetensors",
        value_name = "PATH",
        help_heading = "Output"
    )]
    pub out: PathBuf,

    /// Where Ctrl-C writes a checkpoint (model, optimiser, position, random streams) to
    /// continue from with --resume [default: beside the model, MODEL.checkpoint.safetensors]
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub checkpoint: Option<PathBuf>,

    /// Continue an interrupted run from its checkpoint; it ends with exactly the model the
    /// uninterrupted run would have made. The checkpoint holds the recipe, the data's location
    /// and split: give only --out, --log, --checkpoint, --json or --threads with it
    #[arg(
        long,
        value_name = "CHECKPOINT",
        help_heading = "Output",
        conflicts_with_all = [
            "data", "preset", "layers", "hidden", "activation", "output_activation", "cost",
            "init", "optimizer", "learning_rate", "l2", "momentum", "beta1", "beta2", "epsilon",
            "weight_decay", "epochs", "batch_size", "seed", "schedule", "early_stop",
            "validation", "limit", "dropout", "input_dropout", "shift", "rotate", "scale",
            "elastic", "elastic_sigma",
        ]
    )]
    pub resume: Option<PathBuf>,

    /// Where to write the per-epoch log (JSON lines: epoch, learning_rate, train/validation/test
    /// cost and accuracy, or RMSE, MAE and R² for a regression, seconds), once the model is
    /// saved; until then the epochs go to
    /// LOG.partial.jsonl, so a failed run leaves the previous log alone
    /// [default: beside the model, MODEL.log.jsonl]
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub log: Option<PathBuf>,

    /// Print one JSON object per epoch on stdout instead of a table (with a CSV --data, then
    /// the test evaluation's, as `eval --json` prints it)
    #[arg(long, help_heading = "Output")]
    pub json: bool,

    /// Measure each layer's health at the end of every epoch (gradient size, update ratio,
    /// saturated and dead units, with warnings) and add it to the table, the log and --json;
    /// `backprop plot` then draws each layer's ‖∂C/∂b‖ per epoch. Costs about 1% of an epoch
    #[arg(long, help_heading = "Output")]
    pub health: bool,
}

impl TrainArgs {
    /// The preset's recipe with every given flag applied.
    pub fn recipe(&self) -> anyhow::Result<Recipe> {
        let mut r = self.preset.recipe();
        self.network.apply(&mut r);
        self.optim.apply(&mut r)?;
        let t = &mut r.train;
        let set = |target: &mut f64, v: Option<f64>| {
            if let Some(v) = v {
                *target = v;
            }
        };
        if let Some(e) = self.epochs {
            t.epochs = e;
        }
        if let Some(b) = self.batch_size {
            t.batch_size = b;
        }
        if let Some(s) = self.seed {
            t.seed = s;
        }
        if let Some(s) = self.schedule {
            t.schedule = s;
        }
        if self.early_stop.is_some() {
            t.early_stopping = self.early_stop;
        }
        set(&mut t.dropout.hidden, self.dropout);
        set(&mut t.dropout.input, self.input_dropout);
        set(&mut t.augment.shift, self.shift);
        set(&mut t.augment.rotate, self.rotate);
        set(&mut t.augment.scale, self.scale);
        set(&mut t.augment.elastic_alpha, self.elastic);
        set(&mut t.augment.elastic_sigma, self.elastic_sigma);
        if t.augment.elastic_alpha > 0.0 && t.augment.elastic_sigma == 0.0 {
            t.augment.elastic_sigma = 4.0;
        }
        if let Some(v) = self.validation {
            r.validation = v;
        }
        Ok(r)
    }

    /// Where the log goes.
    fn log_path(&self) -> PathBuf {
        self.log
            .clone()
            .unwrap_or_else(|| self.out.with_extension("log.jsonl"))
    }

    /// Where the checkpoint goes.
    fn checkpoint_path(&self) -> PathBuf {
        self.checkpoint
            .clone()
            .unwrap_or_else(|| self.out.with_extension("checkpoint.safetensors"))
    }
}

/// The log of a run that has not saved its model yet: `model.log.jsonl` →
/// `model.log.partial.jsonl`. Once the model is saved, the log is written whole and this file
/// removed; a failed or interrupted run leaves it, and the previous log, as they are.
pub(super) fn partial_log_path(log: &Path) -> PathBuf {
    let stem = log.file_stem().unwrap_or_default().to_string_lossy();
    match log.extension() {
        Some(ext) => log.with_file_name(format!("{stem}.partial.{}", ext.to_string_lossy())),
        None => log.with_file_name(format!("{stem}.partial")),
    }
}

/// Whether two paths name the same file (both exist and resolve to one place).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Checks, before any work, that the model, its log and the checkpoint can be written where
/// they are to go, and are three different files.
fn check_outputs(out: &Path, log: &Path, checkpoint: &Path) -> anyhow::Result<()> {
    for (flag, path) in [("--out", out), ("--log", log), ("--checkpoint", checkpoint)] {
        model_io::check_writable(path).with_context(|| format!("{flag} cannot be written"))?;
    }
    let same = |a: &Path, b: &Path| a == b || same_file(a, b);
    if same(out, log) || same(out, checkpoint) || same(log, checkpoint) {
        bail!(
            "the model ({}), its log ({}) and the checkpoint ({}) must be three different files",
            out.display(),
            log.display(),
            checkpoint.display()
        );
    }
    Ok(())
}

/// What a checkpoint needs besides the library's state to rebuild the run: where the data came
/// from and how it was split.
#[derive(Debug, Serialize, Deserialize)]
struct RunData {
    data: Option<PathBuf>,
    validation: usize,
    limit: Option<usize>,
}

/// Set by Ctrl-C: finish the current step, write a checkpoint, exit.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn parse_task(s: &str) -> Result<backprop::model_io::Task, String> {
    match s {
        "classify" => Ok(backprop::model_io::Task::Classify),
        "regress" => Ok(backprop::model_io::Task::Regress),
        _ => Err(format!("{s:?} is not a task: use classify or regress")),
    }
}

/// A run ready to train: the data split as asked, the network, its optimiser and where training
/// stands (from a checkpoint with --resume).
pub struct Setup {
    pub train_set: backprop::Dataset,
    pub validation: Option<backprop::Dataset>,
    pub test_set: backprop::Dataset,
    pub net: Network<f32>,
    pub optimizer: backprop::Optimizer<f32>,
    pub config: backprop::TrainConfig,
    pub state: TrainState<f32>,
    pub description: String,
    run_data: RunData,
}

/// Reads the data and builds the run that `args` describe.
pub fn setup(args: &TrainArgs) -> anyhow::Result<Setup> {
    // Rebuild the run from a checkpoint, or set up a new one from the recipe.
    let (recipe, run_data, resumed) = match &args.resume {
        Some(path) => {
            let c = Checkpoint::load(path)?;
            let run_data: RunData = serde_json::from_value(c.extra.clone()).with_context(|| {
                format!("{}: no data description in the checkpoint", path.display())
            })?;
            (None, run_data, Some(c))
        }
        None => {
            let recipe = args.recipe()?;
            recipe.train.validate()?;
            recipe.optimizer.validate()?;
            if recipe.train.needs_validation() && recipe.validation == 0 {
                bail!("--early-stop and --schedule plateau watch a validation set: add --validation N (e.g. 10000)");
            }
            if args.limit == Some(0) {
                bail!("--limit must be at least 1");
            }
            let run_data = RunData {
                data: args.data.clone(),
                validation: recipe.validation,
                limit: args.limit,
            };
            (Some(recipe), run_data, None)
        }
    };

    let (mnist, source) = data::load(run_data.data.as_deref())?;
    let (mut train_set, test_set) = (mnist.train, mnist.test);
    let mut validation = None;
    if run_data.validation > 0 {
        let (t, v) = train_set.split_last(run_data.validation)?;
        train_set = t;
        validation = Some(v);
    }
    if let Some(limit) = run_data.limit {
        train_set = train_set.head(limit);
    }
    if let Some(r) = &recipe {
        if let (true, Some((rows, cols))) = (r.train.augment.is_on(), train_set.image_shape()) {
            r.train.augment.validate_for(rows, cols)?;
        }
        if r.train.batch_size > train_set.len() {
            bail!(
                "--batch-size {} is larger than the {} training images: at most {} (one batch of everything)",
                r.train.batch_size,
                train_set.len(),
                train_set.len()
            );
        }
    }

    let (net, optimizer, config, state, description) = match (recipe, resumed) {
        (Some(recipe), _) => {
            let arch = recipe.architecture(train_set.n_inputs(), train_set.n_classes(), &source)?;
            let net = Network::<f32>::new(&arch, recipe.init, recipe.train.seed)?;
            let optimizer = recipe.optimizer.build(&net, train_set.len())?;
            let state = TrainState::new(&recipe.train, train_set.len());
            let description = format!(
                "{} ({} init), {}",
                describe_net(&net, train_set.len(), &source),
                recipe.init,
                describe(&recipe)
            );
            (net, optimizer, recipe.train, state, description)
        }
        (None, Some(c)) => {
            let mut optimizer = c.optimizer.build(&c.net, train_set.len())?;
            optimizer.set_state(c.optimizer_state)?;
            let description = format!(
                "{}, resumed from {} at epoch {}, batch {}",
                describe_net(&c.net, train_set.len(), &source),
                args.resume.as_deref().unwrap_or(Path::new("")).display(),
                c.state.epoch,
                c.state.batches_done
            );
            (c.net, optimizer, c.config, c.state, description)
        }
        (None, None) => unreachable!("either a recipe or a checkpoint"),
    };
    Ok(Setup {
        train_set,
        validation,
        test_set,
        net,
        optimizer,
        config,
        state,
        description,
        run_data,
    })
}

pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    if let Some(data) = args
        .data
        .as_deref()
        .filter(|d| super::table::is_csv(d) || super::table::toy(d).is_some())
    {
        return super::table::train(super::table::TableTrain {
            data,
            samples: args.samples,
            noise: args.noise,
            target: args.target.as_deref(),
            task: args.task,
            test: args.test.as_deref(),
            test_split: args.test_split,
            hidden: args.network.hidden.as_deref(),
            epochs: args.epochs,
            batch_size: args.batch_size,
            seed: args.seed,
            learning_rate: args.optim.learning_rate,
            l2: args.optim.l2,
            early_stop: args.early_stop,
            out: &args.out,
            log: args.log.as_deref(),
            json: args.json,
        });
    }
    if args.target.is_some()
        || args.test.is_some()
        || args.test_split.is_some()
        || args.task.is_some()
        || args.samples.is_some()
        || args.noise.is_some()
    {
        bail!("--target, --task, --test, --test-split, --samples and --noise go with a table: --data FILE.csv, or a toy set such as --data spiral");
    }
    let log_path = args.log_path();
    let checkpoint_path = args.checkpoint_path();
    check_outputs(&args.out, &log_path, &checkpoint_path)?;
    // A run resumed into its own checkpoint's path replaces it with the model: nothing to clean.
    let resume_is_out = args
        .resume
        .as_deref()
        .is_some_and(|r| r == args.out || same_file(r, &args.out));
    let Setup {
        train_set,
        validation,
        test_set,
        mut net,
        mut optimizer,
        config,
        mut state,
        description,
        run_data,
    } = setup(&args)?;
    eprintln!("{description}");

    let show_eta = config.schedule != Schedule::Constant;
    let mut stdout = std::io::stdout().lock();
    let partial_log = partial_log_path(&log_path);
    let mut progress = Printer {
        bar: Bar::new(),
        json: args.json,
        show_eta,
        out: &mut stdout,
        stdout_closed: false,
        log_path: &partial_log,
        log: state
            .history
            .epochs
            .iter()
            .map(|r| epoch_json(r).to_string() + "\n")
            .collect(),
        error: None,
        health: args.health,
    };
    if !args.json {
        let val = if validation.is_some() {
            "  val cost   val acc"
        } else {
            ""
        };
        let eta = if show_eta { "         η" } else { "" };
        progress.print(&format!(
            "epoch{eta}  train cost  train acc{val}  test cost  test acc  seconds"
        ));
    }
    ctrlc::set_handler(|| {
        // A second Ctrl-C means "now".
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    })
    .context("cannot install the Ctrl-C handler")?;
    Training::new(&config)
        .validation(validation.as_ref())
        .test(&test_set)
        .progress(&mut progress)
        .resume(&mut state)
        .run(&mut net, &mut optimizer, &train_set)
        .with_context(|| match progress.log.is_empty() {
            true => "training failed; no model was saved".to_string(),
            false => format!(
                "training failed; no model was saved (the epochs so far are in {})",
                partial_log.display()
            ),
        })?;
    progress.bar.clear();
    if let Some(e) = progress.error {
        return Err(e);
    }
    if progress.stdout_closed {
        eprintln!(
            "stdout was closed before training ended; training went on (every epoch is in the log)"
        );
    }
    let log = std::mem::take(&mut progress.log);
    let history = &state.history;
    match history.stop {
        Stop::Interrupted => {
            let checkpoint = Checkpoint {
                net,
                optimizer: *optimizer.config(),
                optimizer_state: optimizer.state().clone(),
                config,
                extra: serde_json::to_value(&run_data)?,
                state,
            };
            checkpoint.save(&checkpoint_path)?;
            eprintln!(
                "interrupted in epoch {}, after batch {}: checkpoint written to {} (the log so far to {}); continue with\n  backprop train --resume {} --out {}",
                checkpoint.state.epoch,
                checkpoint.state.batches_done,
                checkpoint_path.display(),
                partial_log.display(),
                checkpoint_path.display(),
                args.out.display()
            );
            return Ok(ExitCode::from(130));
        }
        Stop::NoImprovement => eprintln!(
            "stopped early: no validation improvement in {} epochs",
            config.early_stopping.unwrap_or_default()
        ),
        Stop::LearningRateExhausted => {
            eprintln!("stopped: the plateau schedule took η below 1/128 of its start")
        }
        Stop::Finished => {}
    }
    model_io::save(&net, &args.out)?;
    // The model is saved: now, and only now, its log replaces the previous run's.
    model_io::write_atomically(&log_path, log.as_bytes())?;
    let _ = std::fs::remove_file(&partial_log);
    if let Some(path) = &args.resume {
        // The run is complete: its checkpoint is stale (unless the model was saved over it).
        if !resume_is_out {
            let _ = std::fs::remove_file(path);
        }
    }
    let kept = history.kept().expect("at least one epoch");
    let test = kept.test.as_ref().expect("test set evaluated");
    let total: f64 = history.epochs.iter().map(|r| r.seconds).sum();
    let which = match history.best_epoch {
        Some(e) => format!(
            "the best epoch on validation, {e} of {}",
            history.epochs.len()
        ),
        None => format!("after {} epochs", history.epochs.len()),
    };
    eprintln!(
        "saved {} — test accuracy {} ({which}), {:.1} s of training; log in {}",
        args.out.display(),
        percent(test.accuracy()),
        total,
        log_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// "training 784-16-16-10 (13002 parameters, …) on N training images of SOURCE".
fn describe_net(net: &Network<f32>, n: usize, source: &str) -> String {
    let arch = net.architecture();
    format!(
        "training {} ({} parameters, {} hidden, {} output, {} cost) on {n} training images of {source}",
        arch.sizes_string(),
        arch.n_parameters(),
        arch.activations[0],
        arch.activations[arch.activations.len() - 1],
        arch.cost,
    )
}

/// One line saying how the network will be trained.
fn describe(r: &Recipe) -> String {
    let t = &r.train;
    let mut parts = vec![
        format!("{} epochs", t.epochs),
        format!("batches of {}", t.batch_size),
        format!("{}", r.optimizer.rule),
        format!("η = {}", r.optimizer.learning_rate),
    ];
    if r.optimizer.l2 > 0.0 {
        parts.push(format!("L2 λ = {}", r.optimizer.l2));
    }
    if t.schedule != Schedule::Constant {
        parts.push(format!("schedule {}", t.schedule.to_arg()));
    }
    if let Some(p) = t.early_stopping {
        parts.push(format!("early stop after {p}"));
    }
    if t.dropout.is_on() {
        parts.push(format!(
            "dropout {} (input {})",
            t.dropout.hidden, t.dropout.input
        ));
    }
    let a = &t.augment;
    if a.is_on() {
        parts.push(format!(
            "augmented (shift {} px, rotate {}°, scale ±{}, elastic α {} σ {})",
            a.shift, a.rotate, a.scale, a.elastic_alpha, a.elastic_sigma
        ));
    }
    if r.validation > 0 {
        parts.push(format!("{} held out for validation", r.validation));
    }
    parts.push(format!("seed {}", t.seed));
    parts.join(", ")
}

/// Prints each epoch's line as it ends, rewrites the (partial) log, and draws the progress bar
/// meanwhile.
struct Printer<'a, W: Write> {
    bar: Bar,
    json: bool,
    show_eta: bool,
    out: &'a mut W,
    /// Set when stdout turns out to be closed (`backprop train | head -2`): printing stops;
    /// training goes on and saves the model.
    stdout_closed: bool,
    log_path: &'a Path,
    log: String,
    error: Option<anyhow::Error>,
    health: bool,
}

impl<W: Write> Printer<'_, W> {
    /// Prints a line on stdout, unless it has been closed; a closed pipe is noted, not an error.
    fn print(&mut self, line: &str) {
        if self.stdout_closed {
            return;
        }
        match writeln!(self.out, "{line}").and_then(|_| self.out.flush()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => self.stdout_closed = true,
            Err(e) => {
                self.error
                    .get_or_insert(anyhow::Error::new(e).context("cannot write to stdout"));
            }
        }
    }
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
        let obj = epoch_json(r);
        self.log.push_str(&obj.to_string());
        self.log.push('\n');
        // The whole log, atomically, every epoch: it is small, and never half-written.
        if let Err(e) = model_io::write_atomically(self.log_path, self.log.as_bytes()) {
            self.error.get_or_insert(e.into());
        }
        let line = if self.json {
            obj.to_string()
        } else {
            let val = r
                .validation
                .as_ref()
                .map(|v| format!("  {:>8.4}  {:>8}", v.cost, percent(v.accuracy())))
                .unwrap_or_default();
            let eta = if self.show_eta {
                format!("  {:>8.2e}", r.learning_rate)
            } else {
                String::new()
            };
            format!(
                "{:>5}{eta}  {:>10.4}  {:>9}{val}  {:>9.4}  {:>8}  {:>7.2}",
                r.epoch,
                r.train_cost,
                percent(r.train_accuracy),
                test.cost,
                percent(test.accuracy()),
                r.seconds
            )
        };
        self.print(&line);
        if let (Some(h), false) = (&r.health, self.json) {
            self.print(health_lines(h).trim_end());
        }
    }
    fn should_stop(&mut self) -> bool {
        self.error.is_some() || INTERRUPTED.load(Ordering::Relaxed)
    }
    fn wants_health(&self) -> bool {
        self.health
    }
}

/// The health lines under an epoch's line of the table: one per layer, then the warnings.
fn health_lines(h: &backprop::inspect::health::Health) -> String {
    let mut out = String::new();
    for l in &h.layers {
        let units = match (l.saturated, l.dead) {
            (Some(s), _) => format!("  saturated {:>4.0}%", 100.0 * s),
            (_, Some(d)) => format!("  dead {:>4.0}%", 100.0 * d),
            _ => String::new(),
        };
        out += &format!(
            "        layer {}: ‖∂C/∂W‖ {:>9.3e}  ‖∂C/∂b‖ {:>9.3e}  step/‖W‖ {:>9.3e}{units}\n",
            l.layer, l.gradient, l.speed, l.update_ratio
        );
    }
    for w in &h.warnings {
        out += &format!("        ! {w}\n");
    }
    out
}
