//! The training loop: shuffle, cut into mini-batches, backpropagate, step; evaluate after each
//! epoch; report through [`Progress`]. The library never prints.

use crate::{Dataset, Error, Gradient, Network, Optimizer, Real, Result, Rng, Workspace};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// How long and in what portions to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training data. Default 30.
    pub epochs: usize,
    /// Samples per gradient step. Default 10.
    pub batch_size: usize,
    /// Seeds the shuffling of the training data (reshuffled every epoch). The same seed, network
    /// and data give the same trained network, bit for bit. Default 3 (see the README for how the
    /// notes' network does over seeds 1 to 20).
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 30,
            batch_size: 10,
            seed: 3,
        }
    }
}

impl TrainConfig {
    /// # Errors
    /// [`Error::Config`] for zero epochs or a zero batch size.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::Config(
                "the number of epochs must be at least 1".into(),
            ));
        }
        if self.batch_size == 0 {
            return Err(Error::Config("the batch size must be at least 1".into()));
        }
        Ok(())
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
    /// Mean cost of the training samples, measured on each mini-batch just before its step.
    pub train_cost: f64,
    /// On the validation set, if one was given.
    pub validation: Option<Evaluation>,
    /// On the test set, if one was given.
    pub test: Option<Evaluation>,
    /// Seconds spent training (shuffling and every step), evaluation excluded.
    pub seconds: f64,
}

/// Hears about training as it goes. Every method has an empty default.
pub trait Progress {
    /// An epoch of `batches` mini-batches begins.
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _batches: usize) {}
    /// Mini-batch `batch` (1-based) of the current epoch is done.
    fn batch_end(&mut self, _batch: usize) {}
    /// Training is done with this epoch's steps; evaluation starts.
    fn evaluating(&mut self) {}
    /// The epoch is over.
    fn epoch_end(&mut self, _report: &EpochReport) {}
}

/// A [`Progress`] that ignores everything.
impl Progress for () {}

/// Datasets evaluated after every epoch.
#[derive(Clone, Copy, Debug, Default)]
pub struct Monitor<'a> {
    /// Held-out training data, for choosing hyper-parameters.
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

/// Trains `net` on `data` by mini-batch gradient descent.
///
/// Every epoch: shuffle the samples (seeded), cut them into mini-batches of
/// `config.batch_size` (the last one may be smaller), and for each batch compute the gradient
/// of its mean cost by backpropagation and let `optimizer` step. Then evaluate `monitor`'s
/// datasets and report.
///
/// # Errors
/// [`Error::Config`] for a bad `config`; [`Error::Shape`] if the network does not fit the data;
/// [`Error::Diverged`] as soon as a batch's cost or a parameter is not finite (the network is
/// then left as it was after the last good step's epoch began and must not be saved).
///
/// # Examples
/// ```
/// use backprop::{train, Architecture, Dataset, Init, Monitor, Network, SgdConfig, TrainConfig};
/// let xor = Dataset::from_floats(vec![0., 0., 0., 1., 1., 0., 1., 1.], vec![0, 1, 1, 0], 2, 2).unwrap();
/// let arch = Architecture::sigmoid(vec![2, 4, 2]);
/// let mut net = Network::<f32>::new(&arch, Init::Normal, 3).unwrap();
/// let mut sgd = SgdConfig { learning_rate: 2.0 }.build().unwrap();
/// let config = TrainConfig { epochs: 2000, batch_size: 4, seed: 1 };
/// let reports = train(&mut net, &mut sgd, &xor, Monitor { test: Some(&xor), validation: None }, &config, &mut ()).unwrap();
/// assert_eq!(reports.last().unwrap().test.as_ref().unwrap().correct, 4);
/// ```
pub fn train<T: Real, O: Optimizer<T>>(
    net: &mut Network<T>,
    optimizer: &mut O,
    data: &Dataset,
    monitor: Monitor<'_>,
    config: &TrainConfig,
    progress: &mut dyn Progress,
) -> Result<Vec<EpochReport>> {
    config.validate()?;
    check_fits(net, data)?;
    for d in [monitor.validation, monitor.test].into_iter().flatten() {
        check_fits(net, d)?;
    }
    if data.is_empty() {
        return Err(Error::Dataset("no training samples".into()));
    }
    let batch_size = config.batch_size.min(data.len());
    let n_batches = data.len().div_ceil(batch_size);
    let mut ws = Workspace::new(net, batch_size);
    let mut y = vec![T::ZERO; batch_size * net.n_outputs()];
    let mut grad = Gradient::zeros_like(net);
    let mut rng = Rng::new(config.seed);
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut reports = Vec::with_capacity(config.epochs);

    for epoch in 1..=config.epochs {
        let start = Instant::now();
        progress.epoch_start(epoch, config.epochs, n_batches);
        rng.shuffle(&mut order);
        let mut total_cost = 0.0;
        let mut batches = order.chunks(batch_size).peekable();
        let mut b = 0;
        while let Some(batch) = batches.next() {
            if let Some(next) = batches.peek() {
                data.prefetch(next);
            }
            data.fill_inputs(batch, ws.input_mut(batch.len()));
            data.fill_targets(batch, &mut y);
            let cost = net.backprop_batch(&mut ws, &y, batch.len(), &mut grad);
            if !cost.is_finite() {
                return Err(Error::Diverged {
                    epoch,
                    batch: b + 1,
                    cost: cost.to_f64(),
                });
            }
            optimizer.step(net, &grad);
            total_cost += cost.to_f64();
            b += 1;
            progress.batch_end(b);
        }
        let seconds = start.elapsed().as_secs_f64();
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
            train_cost: total_cost / data.len() as f64,
            validation: monitor.validation.map(|d| evaluate(net, d)).transpose()?,
            test: monitor.test.map(|d| evaluate(net, d)).transpose()?,
            seconds,
        };
        progress.epoch_end(&report);
        reports.push(report);
    }
    Ok(reports)
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
