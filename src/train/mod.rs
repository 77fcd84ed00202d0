//! The training loop: shuffle, cut into mini-batches, backpropagate, step; evaluate after each
//! epoch; change the learning rate on schedule; stop early when validation stops improving;
//! report through [`Progress`]. The library never prints.

pub mod augment;
pub mod checkpoint;
mod optim;
pub mod schedule;
pub(crate) mod sparse;

pub use augment::Augment;
pub use checkpoint::Checkpoint;
pub use optim::{Method, Optim, OptimState, Optimizer, OptimizerConfig};
pub use schedule::Schedule;

use crate::kernels::Kernels;
use crate::train::sparse::SparseFirstLayer;
use crate::{Dataset, Dropout, Error, Gradient, Network, Real, Result, Rng, Workspace};
use augment::Augmenter;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// How long, in what portions and with what extras to train.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training data. Default 30.
    pub epochs: usize,
    /// Samples per gradient step. Default 10.
    pub batch_size: usize,
    /// Seeds the shuffling of the training data (reshuffled every epoch), the dropout masks and
    /// the augmentation. The same seed, network and data give the same trained network, bit for
    /// bit. Default 3 (see the README for how the notes' network does over seeds 1 to 20).
    pub seed: u64,
    /// How η changes from epoch to epoch. Default constant.
    pub schedule: Schedule,
    /// Stop when the validation accuracy has not improved for this many epochs, and end with
    /// the network of the best epoch. Needs a validation set. Default none.
    pub early_stopping: Option<usize>,
    /// Dropout rates. Default none.
    pub dropout: Dropout,
    /// Random moves of the training images. Default none.
    pub augment: Augment,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 30,
            batch_size: 10,
            seed: 3,
            schedule: Schedule::Constant,
            early_stopping: None,
            dropout: Dropout::default(),
            augment: Augment::default(),
        }
    }
}

impl TrainConfig {
    /// # Errors
    /// [`Error::Config`] for zero epochs, a zero batch size, an early-stopping patience of 0, a
    /// bad schedule, dropout rate or augmentation.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::Config(
                "the number of epochs must be at least 1".into(),
            ));
        }
        if self.batch_size == 0 {
            return Err(Error::Config("the batch size must be at least 1".into()));
        }
        if self.early_stopping == Some(0) {
            return Err(Error::Config(
                "early stopping needs a patience of at least 1 epoch".into(),
            ));
        }
        self.schedule.validate()?;
        self.dropout.validate()?;
        self.augment.validate()
    }

    /// Whether training watches a validation set (early stopping, plateau schedule).
    pub fn needs_validation(&self) -> bool {
        self.early_stopping.is_some() || matches!(self.schedule, Schedule::Plateau { .. })
    }
}

/// How a network does on a dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Number of samples.
    pub n: usize,
    /// Mean cost C = (1/n) Σ C₀ over the samples.
    pub cost: f64,
    /// Samples whose largest output is their class.
    pub correct: usize,
    /// `confusion[actual][predicted]`: how often a sample of one class was taken for another.
    pub confusion: Vec<Vec<usize>>,
}

impl Evaluation {
    /// Fraction classified correctly, 0 to 1.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.n.max(1) as f64
    }
}

/// What happened in one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// η during this epoch.
    pub learning_rate: f64,
    /// Mean cost of the training samples, measured on each mini-batch just before its step
    /// (with dropout and augmentation, if any).
    pub train_cost: f64,
    /// Fraction of the training samples classified correctly, measured the same way.
    pub train_accuracy: f64,
    /// On the validation set, if one was given.
    pub validation: Option<Evaluation>,
    /// On the test set, if one was given.
    pub test: Option<Evaluation>,
    /// Seconds spent training (shuffling and every step), evaluation excluded.
    pub seconds: f64,
}

/// Why training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// All epochs ran.
    Finished,
    /// The validation accuracy stopped improving (early stopping).
    NoImprovement,
    /// The plateau schedule took η below η₀/128.
    LearningRateExhausted,
    /// [`Progress::should_stop`] asked for it.
    Interrupted,
}

/// The outcome of [`train()`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One report per epoch that ran.
    pub epochs: Vec<EpochReport>,
    /// With early stopping: the epoch whose network training returned (the best on validation).
    pub best_epoch: Option<usize>,
    /// Why training ended.
    pub stop: Stop,
}

impl History {
    /// The report of the epoch whose network training ended with: the best epoch with early
    /// stopping, the last otherwise.
    pub fn kept(&self) -> Option<&EpochReport> {
        match self.best_epoch {
            Some(e) => self.epochs.iter().find(|r| r.epoch == e),
            None => self.epochs.last(),
        }
    }
}

/// Hears about training as it goes. Every method has a default that does nothing.
pub trait Progress {
    /// An epoch of `batches` mini-batches begins.
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _batches: usize) {}
    /// Mini-batch `batch` (1-based) of the current epoch is done.
    fn batch_end(&mut self, _batch: usize) {}
    /// Training is done with this epoch's steps; evaluation starts.
    fn evaluating(&mut self) {}
    /// The epoch is over.
    fn epoch_end(&mut self, _report: &EpochReport) {}
    /// Asked after every step: return true to stop training there (after a Ctrl-C, say); see
    /// [`train_from`] for continuing later.
    fn should_stop(&mut self) -> bool {
        false
    }
}

/// A [`Progress`] that ignores everything.
impl Progress for () {}

/// Datasets evaluated after every epoch.
#[derive(Clone, Copy, Debug, Default)]
pub struct Monitor<'a> {
    /// Held-out training data, for choosing hyper-parameters, early stopping and the plateau
    /// schedule.
    pub validation: Option<&'a Dataset>,
    /// The test set.
    pub test: Option<&'a Dataset>,
}

/// Checks that a network's input and output layers fit a dataset.
///
/// # Errors
/// [`Error::Shape`] naming both sizes.
pub fn check_fits<T: Real>(net: &Network<T>, data: &Dataset) -> Result<()> {
    if net.n_inputs() != data.n_inputs() {
        return Err(Error::Shape(format!(
            "the network takes {} inputs but the data has {} per sample",
            net.n_inputs(),
            data.n_inputs()
        )));
    }
    if net.n_outputs() != data.n_classes() {
        return Err(Error::Shape(format!(
            "the network has {} outputs but the data has {} classes",
            net.n_outputs(),
            data.n_classes()
        )));
    }
    Ok(())
}

/// Offsets that give the dropout masks and the augmentation their own random streams, so that
/// turning either on does not change the shuffling.
const DROPOUT_STREAM: u64 = 0xD5A6_1266_F0C9_392C;
const AUGMENT_STREAM: u64 = 0xA3B1_9535_4A39_B70D;

/// Everything a training run carries from one step to the next besides the network and the
/// optimiser: where it is, its random streams, the sample order, and what it has seen. Saved in
/// checkpoints, so that a run resumed from one ends with exactly the model an uninterrupted run
/// would have produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState<T> {
    /// The epoch in progress, or the next to start (1-based).
    pub epoch: usize,
    /// Mini-batches of `epoch` already done; 0 before the epoch's shuffle.
    pub batches_done: usize,
    /// The current order of the training samples (reshuffled in place every epoch).
    #[serde(skip)]
    pub order: Vec<usize>,
    /// Shuffling, dropout masks, augmentation.
    pub rngs: [Rng; 3],
    /// The current epoch's running totals: cost, correct samples, seconds.
    pub epoch_cost: f64,
    /// See `epoch_cost`.
    pub epoch_correct: usize,
    /// See `epoch_cost`.
    pub epoch_seconds: f64,
    /// η₀, the optimiser's learning rate when training began.
    pub eta0: Option<f64>,
    /// η of the plateau schedule.
    pub plateau_eta: Option<f64>,
    /// Best validation accuracy so far and its epoch.
    pub best: Option<(f64, usize)>,
    /// Epochs since the best.
    pub since_best: usize,
    /// Epochs without improvement since η last changed (plateau schedule).
    pub since_change: usize,
    /// With early stopping: the network of the best epoch.
    #[serde(skip)]
    pub best_net: Option<Network<T>>,
    /// The epochs so far, and why training ended.
    pub history: History,
}

impl<T: Real> TrainState<T> {
    /// The state before the first step of a run with `config` on `n` samples.
    pub fn new(config: &TrainConfig, n: usize) -> Self {
        TrainState {
            epoch: 1,
            batches_done: 0,
            order: (0..n).collect(),
            rngs: [
                Rng::new(config.seed),
                Rng::new(config.seed ^ DROPOUT_STREAM),
                Rng::new(config.seed ^ AUGMENT_STREAM),
            ],
            epoch_cost: 0.0,
            epoch_correct: 0,
            epoch_seconds: 0.0,
            eta0: None,
            plateau_eta: None,
            best: None,
            since_best: 0,
            since_change: 0,
            best_net: None,
            history: History {
                epochs: Vec::new(),
                best_epoch: None,
                stop: Stop::Finished,
            },
        }
    }

    /// Whether training has ended (rather than been interrupted).
    pub fn is_done(&self, config: &TrainConfig) -> bool {
        self.epoch > config.epochs
            || matches!(
                self.history.stop,
                Stop::NoImprovement | Stop::LearningRateExhausted
            )
    }

    /// η for the current epoch.
    fn eta(&self, config: &TrainConfig, eta0: f64) -> f64 {
        match config.schedule {
            Schedule::Plateau { .. } => self.plateau_eta.unwrap_or(eta0),
            s => s.rate(eta0, self.epoch, config.epochs),
        }
    }
}

/// Trains `net` on `data` by mini-batch gradient descent.
///
/// Every epoch: set η from the schedule, shuffle the samples (seeded), cut them into
/// mini-batches of `config.batch_size` (the last one may be smaller), and for each batch
/// (augmented and with dropout masks if asked) compute the gradient of its mean cost by
/// backpropagation and let `optimizer` step. Then evaluate `monitor`'s datasets, report, and
/// decide whether to go on.
///
/// # Errors
/// [`Error::Config`] for a bad `config`, or early stopping or the plateau schedule without a
/// validation set, or augmentation of data that are not images; [`Error::Shape`] if the network
/// does not fit the data; [`Error::Diverged`] as soon as a batch's cost or a parameter is not
/// finite (the network must then not be saved).
///
/// # Examples
/// ```
/// use backprop::{train, Architecture, Dataset, Init, Monitor, Network, OptimizerConfig, TrainConfig};
/// let xor = Dataset::from_floats(vec![0., 0., 0., 1., 1., 0., 1., 1.], vec![0, 1, 1, 0], 2, 2).unwrap();
/// let arch = Architecture::sigmoid(vec![2, 4, 2]);
/// let mut net = Network::<f32>::new(&arch, Init::Normal, 3).unwrap();
/// let mut sgd = OptimizerConfig::sgd(2.0).build(&net, xor.len()).unwrap();
/// let config = TrainConfig { epochs: 2000, batch_size: 4, seed: 1, ..Default::default() };
/// let history = train(&mut net, &mut sgd, &xor, Monitor { test: Some(&xor), validation: None }, &config, &mut ()).unwrap();
/// assert_eq!(history.epochs.last().unwrap().test.as_ref().unwrap().correct, 4);
/// ```
pub fn train<T: Real, O: Optimizer<T>>(
    net: &mut Network<T>,
    optimizer: &mut O,
    data: &Dataset,
    monitor: Monitor<'_>,
    config: &TrainConfig,
    progress: &mut dyn Progress,
) -> Result<History> {
    let mut state = TrainState::new(config, data.len());
    train_from(net, optimizer, data, monitor, config, progress, &mut state)?;
    Ok(state.history)
}

/// [`train()`], from `state` on: from the start with [`TrainState::new`], or from where an
/// interrupted run stopped. Returns when training is done or [`Progress::should_stop`] says so
/// (checked after every step); `state.history.stop` tells which, and `state` (with `net` and
/// the optimiser's state) is then all it takes to continue later.
///
/// # Errors
/// As [`train()`], and [`Error::Config`] if `state` does not fit `data`.
pub fn train_from<T: Real, O: Optimizer<T>>(
    net: &mut Network<T>,
    optimizer: &mut O,
    data: &Dataset,
    monitor: Monitor<'_>,
    config: &TrainConfig,
    progress: &mut dyn Progress,
    state: &mut TrainState<T>,
) -> Result<()> {
    config.validate()?;
    Kernels::from_env()?;
    check_fits(net, data)?;
    for d in [monitor.validation, monitor.test].into_iter().flatten() {
        check_fits(net, d)?;
    }
    if data.is_empty() {
        return Err(Error::Dataset("no training samples".into()));
    }
    if config.needs_validation() && monitor.validation.is_none() {
        return Err(Error::Config(
            "early stopping and the plateau schedule watch a validation set; hold one out (e.g. --validation 10000)".into(),
        ));
    }
    let mut sorted = state.order.clone();
    sorted.sort_unstable();
    if sorted.len() != data.len() || sorted.iter().enumerate().any(|(i, &j)| i != j) {
        return Err(Error::Config(format!(
            "the training state is for {} samples in some order, but the data has {}",
            state.order.len(),
            data.len()
        )));
    }
    let mut augmenter = match (config.augment.is_on(), data.image_shape()) {
        (false, _) => None,
        (true, Some((rows, cols))) => Some(Augmenter::new(config.augment, rows, cols)?),
        (true, None) => {
            return Err(Error::Config(
                "augmentation moves images, but these data have no image shape".into(),
            ))
        }
    };
    let batch_size = config.batch_size.min(data.len());
    let n_batches = data.len().div_ceil(batch_size);
    let (n_in, n_out) = (net.n_inputs(), net.n_outputs());
    let mut ws = Workspace::new(net, batch_size);
    ws.set_dropout(&config.dropout)?;
    let mut y = vec![T::ZERO; batch_size * n_out];
    let mut grad = Gradient::zeros_like(net);
    let eta0 = *state.eta0.get_or_insert(optimizer.learning_rate());
    state.history.stop = Stop::Finished;
    // Plain gradient descent on mostly-zero byte inputs (MNIST) skips the zeros in the first
    // layer: the same bits, a fifth of the work. The index of non-zero pixels is built once per
    // dataset.
    let mut first = None;
    let mut index = None;
    if optimizer.takes_plain_sgd_steps() && augmenter.is_none() && config.dropout.input == 0.0 {
        first = SparseFirstLayer::new(&net.layers[0], batch_size, Kernels::current());
        if first.is_some() {
            index = data.sparse_images();
        }
    }
    let mut images = Vec::with_capacity(batch_size);

    while !state.is_done(config) {
        let start = Instant::now();
        let epoch = state.epoch;
        let eta = state.eta(config, eta0);
        optimizer.set_learning_rate(eta);
        progress.epoch_start(epoch, config.epochs, n_batches);
        if state.batches_done == 0 {
            let [shuffle, _, _] = &mut state.rngs;
            shuffle.shuffle(&mut state.order);
            (state.epoch_cost, state.epoch_correct, state.epoch_seconds) = (0.0, 0, 0.0);
        }
        let [_, dropout_rng, augment_rng] = &mut state.rngs;
        let mut batches = state
            .order
            .chunks(batch_size)
            .skip(state.batches_done)
            .peekable();
        while let Some(batch) = batches.next() {
            let next = batches.peek().copied().unwrap_or_default();
            let plain_sgd = optimizer.take_plain_sgd_step();
            let sparse = match (plain_sgd, &index, first.as_mut()) {
                (Some(_), Some(index), Some(first)) => Some((index, first)),
                _ => None,
            };
            if let Some((index, _)) = &sparse {
                images.clear();
                images.extend(batch.iter().map(|&i| index.image(i)));
                next.iter().for_each(|&i| index.prefetch(i));
            } else {
                let x = ws.input_mut(batch.len());
                data.fill_inputs_and_prefetch(batch, next, x);
                if let Some(aug) = augmenter.as_mut() {
                    for image in x.chunks_exact_mut(n_in) {
                        aug.apply(image, augment_rng);
                    }
                }
            }
            data.fill_targets(batch, &mut y);
            if ws.has_dropout() {
                ws.draw_masks(dropout_rng, batch.len());
            }
            let cost = match (plain_sgd, sparse) {
                (Some(eta), Some((_, first))) => {
                    let eta = T::from_f64(eta);
                    net.sgd_step_batch_sparse(&mut ws, first, &images, &y, eta, &mut grad)
                }
                (Some(eta), None) => {
                    net.sgd_step_batch(&mut ws, &y, batch.len(), T::from_f64(eta), &mut grad)
                }
                (None, _) => {
                    store(&mut first, net);
                    net.backprop_batch(&mut ws, &y, batch.len(), &mut grad)
                }
            };
            if !cost.is_finite() {
                store(&mut first, net);
                return Err(Error::Diverged {
                    epoch,
                    batch: state.batches_done + 1,
                    cost: cost.to_f64(),
                });
            }
            for (a, &i) in ws.output(batch.len()).chunks_exact(n_out).zip(batch) {
                state.epoch_correct += usize::from(crate::argmax(a) == data.label(i));
            }
            if plain_sgd.is_none() {
                optimizer.step(net, &grad);
            }
            state.epoch_cost += cost.to_f64();
            state.batches_done += 1;
            progress.batch_end(state.batches_done);
            if state.batches_done < n_batches && progress.should_stop() {
                store(&mut first, net);
                state.epoch_seconds += start.elapsed().as_secs_f64();
                state.history.stop = Stop::Interrupted;
                return Ok(());
            }
        }
        store(&mut first, net);
        let seconds = state.epoch_seconds + start.elapsed().as_secs_f64();
        if !net.is_finite() {
            return Err(Error::Diverged {
                epoch,
                batch: n_batches,
                cost: f64::NAN,
            });
        }
        progress.evaluating();
        let report = EpochReport {
            epoch,
            learning_rate: eta,
            train_cost: state.epoch_cost / data.len() as f64,
            train_accuracy: state.epoch_correct as f64 / data.len() as f64,
            validation: monitor.validation.map(|d| evaluate(net, d)).transpose()?,
            test: monitor.test.map(|d| evaluate(net, d)).transpose()?,
            seconds,
        };
        progress.epoch_end(&report);
        let validation_accuracy = report.validation.as_ref().map(Evaluation::accuracy);
        state.history.epochs.push(report);
        state.epoch += 1;
        state.batches_done = 0;
        state.end_of_epoch(config, eta0, epoch, validation_accuracy, net);
        if !state.is_done(config) && progress.should_stop() {
            state.history.stop = Stop::Interrupted;
            return Ok(());
        }
    }
    if let Some(kept) = state.best_net.take() {
        *net = kept;
        state.history.best_epoch = state.best.map(|(_, e)| e);
    }
    Ok(())
}

/// Writes the first layer's weights back from the sparse path, if it holds them.
fn store<T: Real>(first: &mut Option<SparseFirstLayer>, net: &mut Network<T>) {
    if let Some(first) = first {
        first.store(&mut net.layers[0]);
    }
}

impl<T: Real> TrainState<T> {
    /// Early stopping and the plateau schedule look at the validation accuracy of the epoch
    /// that just ended.
    fn end_of_epoch(
        &mut self,
        config: &TrainConfig,
        eta0: f64,
        epoch: usize,
        validation_accuracy: Option<f64>,
        net: &Network<T>,
    ) {
        if let Some(accuracy) = validation_accuracy {
            if self.best.is_none_or(|(b, _)| accuracy > b) {
                self.best = Some((accuracy, epoch));
                self.since_best = 0;
                self.since_change = 0;
                if config.early_stopping.is_some() {
                    self.best_net = Some(net.clone());
                }
            } else {
                self.since_best += 1;
                self.since_change += 1;
            }
        }
        if let Schedule::Plateau { patience } = config.schedule {
            if self.since_change >= patience {
                let eta = self.plateau_eta.unwrap_or(eta0) * schedule::PLATEAU_FACTOR;
                self.plateau_eta = Some(eta);
                self.since_change = 0;
                if eta < eta0 * schedule::PLATEAU_STOP {
                    self.history.stop = Stop::LearningRateExhausted;
                }
            }
        }
        if config.early_stopping.is_some_and(|p| self.since_best >= p) {
            self.history.stop = Stop::NoImprovement;
        }
    }
}

/// Samples per forward pass in [`evaluate`]: large enough for efficient matrix products,
/// small enough to stay in cache.
const EVAL_CHUNK: usize = 250;

/// Runs `net` over every sample of `data`: mean cost, accuracy and confusion matrix.
///
/// # Errors
/// [`Error::Shape`] if the network does not fit the data.
pub fn evaluate<T: Real>(net: &Network<T>, data: &Dataset) -> Result<Evaluation> {
    check_fits(net, data)?;
    let k = net.n_outputs();
    let chunk = EVAL_CHUNK.min(data.len().max(1));
    let mut ws = Workspace::new(net, chunk);
    let mut y = vec![T::ZERO; chunk * k];
    let mut indices = Vec::with_capacity(chunk);
    let mut eval = Evaluation {
        n: data.len(),
        cost: 0.0,
        correct: 0,
        confusion: vec![vec![0; k]; k],
    };
    let mut total_cost = 0.0;
    for start in (0..data.len()).step_by(chunk) {
        indices.clear();
        indices.extend(start..(start + chunk).min(data.len()));
        data.fill_inputs(&indices, ws.input_mut(indices.len()));
        data.fill_targets(&indices, &mut y);
        let output = net.forward_batch(&mut ws, indices.len());
        for ((a, y), &i) in output.chunks_exact(k).zip(y.chunks_exact(k)).zip(&indices) {
            total_cost += net.cost.value(a, y).to_f64();
            let predicted = crate::argmax(a);
            let actual = data.label(i);
            eval.confusion[actual][predicted] += 1;
            eval.correct += usize::from(predicted == actual);
        }
    }
    eval.cost = total_cost / data.len().max(1) as f64;
    Ok(eval)
}
