//! The training loop: shuffle, cut into mini-batches, backpropagate, step; evaluate after each
//! epoch; change the learning rate on schedule; stop early when validation stops improving;
//! report through [`Progress`]. The library never prints.

pub mod augment;
pub mod checkpoint;
mod config;
mod evaluate;
mod optim;
mod progress;
pub mod schedule;
pub(crate) mod sparse;
mod state;
pub mod step;

pub use crate::inspect::health::{Health, LayerHealth};
pub use crate::metrics::Regression;
pub use augment::Augment;
pub use checkpoint::Checkpoint;
pub use config::{TrainConfig, MAX_EPOCHS};
pub use evaluate::{check_fits, evaluate, Evaluation};
pub use optim::{Optimizer, OptimizerConfig, OptimizerState, UpdateRule, MAX_LEARNING_RATE};
pub(crate) use progress::Monitor;
pub use progress::Progress;
pub use schedule::Schedule;
pub use state::{EpochReport, History, Stop, TrainState};

use crate::{Dataset, Error, Network, Real, Result};
use std::time::Instant;
use step::Step;

/// Trains `net` on `data` by mini-batch gradient descent: the common case, with nothing
/// evaluated along the way and nothing reported. [`Training`] adds a validation and a test set,
/// a [`Progress`] and resuming.
///
/// Every epoch: set η from the schedule, shuffle the samples (seeded), cut them into
/// mini-batches of `config.batch_size` (the last one may be smaller), and for each batch
/// (augmented and with dropout masks if asked) compute the gradient of its mean cost by
/// backpropagation and let `optimizer` step.
///
/// # Errors
/// [`Error::Config`] for a bad `config`, or early stopping or the plateau schedule without a
/// validation set, or augmentation of data that are not images; [`Error::Shape`] if the network
/// does not fit the data or `optimizer` was built for another network; [`Error::Diverged`] as
/// soon as a batch's cost or a parameter is not finite (the network must then not be saved).
///
/// # Examples
/// ```
/// use backprop::{evaluate, train, Architecture, Dataset, Init, Network, OptimizerConfig, TrainConfig};
/// let xor = Dataset::from_floats(vec![0., 0., 0., 1., 1., 0., 1., 1.], vec![0, 1, 1, 0], 2, 2).unwrap();
/// let arch = Architecture::sigmoid(vec![2, 4, 2]);
/// let mut net = Network::<f32>::new(&arch, Init::Normal, 3).unwrap();
/// let mut sgd = OptimizerConfig::sgd(2.0).build(&net, xor.len()).unwrap();
/// let config = TrainConfig { epochs: 2000, batch_size: 4, seed: 1, ..Default::default() };
/// let history = train(&mut net, &mut sgd, &xor, &config).unwrap();
/// assert_eq!(history.epochs.len(), 2000);
/// assert_eq!(evaluate(&net, &xor).unwrap().correct, 4);
/// ```
pub fn train<T: Real>(
    net: &mut Network<T>,
    optimizer: &mut Optimizer<T>,
    data: &Dataset,
    config: &TrainConfig,
) -> Result<History> {
    Training::new(config).run(net, optimizer, data)
}

/// A training run with more than [`train()`] gives: datasets evaluated after every epoch, a
/// [`Progress`] that hears about it as it goes, a state to resume from. Each is optional; the
/// run itself is [`Training::run`].
///
/// # Examples
/// ```
/// use backprop::{Architecture, Dataset, Init, Network, OptimizerConfig, TrainConfig, Training};
/// let xor = Dataset::from_floats(vec![0., 0., 0., 1., 1., 0., 1., 1.], vec![0, 1, 1, 0], 2, 2).unwrap();
/// let mut net = Network::<f32>::new(&Architecture::sigmoid(vec![2, 4, 2]), Init::Normal, 3).unwrap();
/// let mut sgd = OptimizerConfig::sgd(2.0).build(&net, xor.len()).unwrap();
/// let config = TrainConfig { epochs: 2000, batch_size: 4, seed: 1, ..Default::default() };
/// let history = Training::new(&config).test(&xor).run(&mut net, &mut sgd, &xor).unwrap();
/// assert_eq!(history.epochs.last().unwrap().test.as_ref().unwrap().correct, 4);
/// ```
pub struct Training<'a, T> {
    config: &'a TrainConfig,
    monitor: Monitor<'a>,
    progress: Option<&'a mut dyn Progress>,
    state: Option<&'a mut TrainState<T>>,
}

impl<'a, T: Real> Training<'a, T> {
    /// A run of `config`: no datasets evaluated, nothing reported, from the start.
    pub fn new(config: &'a TrainConfig) -> Self {
        Training {
            config,
            monitor: Monitor::default(),
            progress: None,
            state: None,
        }
    }

    /// Held-out training data, evaluated after every epoch: for choosing hyper-parameters,
    /// and watched by early stopping and the plateau schedule. `None` for none.
    pub fn validation(mut self, data: impl Into<Option<&'a Dataset>>) -> Self {
        self.monitor.validation = data.into();
        self
    }

    /// The test set, evaluated after every epoch. `None` for none.
    pub fn test(mut self, data: impl Into<Option<&'a Dataset>>) -> Self {
        self.monitor.test = data.into();
        self
    }

    /// Reports to `progress` as training goes, and stops when it says so
    /// ([`Progress::should_stop`], asked after every step).
    pub fn progress(mut self, progress: &'a mut dyn Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Goes on from `state`: one made by [`TrainState::new`], or where an interrupted run
    /// stopped (with the network and the optimiser's state of then). The run keeps `state`
    /// current, so it is then all it takes to continue later; `state.history.stop` says why
    /// the run ended.
    pub fn resume(mut self, state: &'a mut TrainState<T>) -> Self {
        self.state = Some(state);
        self
    }

    /// Trains `net` on `data`, `optimizer` stepping it, as [`train()`] describes; evaluates
    /// the validation and test sets after every epoch and reports to the progress. Returns
    /// when training is done or the progress says stop ([`History::stop`] tells which).
    ///
    /// Each epoch: shuffle → cut into mini-batches → one step each (`train/step.rs`, the fast
    /// path's one door) → evaluate and decide.
    ///
    /// # Errors
    /// As [`train()`], and [`Error::Config`] if a resumed state does not fit `data`.
    pub fn run(
        self,
        net: &mut Network<T>,
        optimizer: &mut Optimizer<T>,
        data: &Dataset,
    ) -> Result<History> {
        let mut silent = ();
        let progress: &mut dyn Progress = match self.progress {
            Some(progress) => progress,
            None => &mut silent,
        };
        let (config, monitor) = (self.config, self.monitor);
        match self.state {
            Some(state) => {
                run_from(net, optimizer, data, monitor, config, progress, state)?;
                Ok(state.history.clone())
            }
            None => {
                let mut state = TrainState::new(config, data.len());
                run_from(net, optimizer, data, monitor, config, progress, &mut state)?;
                Ok(state.history)
            }
        }
    }
}

/// The run of [`Training::run`] from `state` on.
fn run_from<T: Real>(
    net: &mut Network<T>,
    optimizer: &mut Optimizer<T>,
    data: &Dataset,
    monitor: Monitor<'_>,
    config: &TrainConfig,
    progress: &mut dyn Progress,
    state: &mut TrainState<T>,
) -> Result<()> {
    check_run(net, optimizer, data, &monitor, config, state)?;
    let batch_size = config.batch_size.min(data.len());
    let n_batches = data.len().div_ceil(batch_size);
    let eta0 = *state.eta0.get_or_insert(optimizer.learning_rate());
    state.history.stop = Stop::Finished;
    let mut step = Step::new(net, optimizer, data, config, batch_size)?;
    if step.is_sparse() {
        // Then each epoch's evaluations read only the non-zero pixels too (see `evaluate`).
        for d in [monitor.validation, monitor.test].into_iter().flatten() {
            d.sparse_images();
        }
    }
    while !state.is_done(config) {
        let start = Instant::now();
        let (epoch, eta) = (state.epoch, state.eta(config, eta0));
        optimizer.set_scheduled_rate(eta);
        progress.epoch_start(epoch, config.epochs, n_batches);
        if state.batches_done == 0 {
            state.start_epoch();
        }
        let [_, dropout_rng, augment_rng] = &mut state.rngs;
        let mut batches = state.order.chunks(batch_size).skip(state.batches_done);
        let mut batch = batches.next();
        while let Some(this) = batch {
            batch = batches.next();
            let cost = step.take(
                optimizer,
                this,
                batch.unwrap_or_default(),
                dropout_rng,
                augment_rng,
            )?;
            if !cost.is_finite() {
                let (batch, cost) = (state.batches_done + 1, cost.to_f64());
                return Err(Error::Diverged { epoch, batch, cost });
            }
            state.epoch_correct += step.correct(this);
            state.epoch_cost += cost.to_f64();
            state.batches_done += 1;
            progress.batch_cost(cost.to_f64() / this.len() as f64);
            progress.batch_end(state.batches_done);
            if state.batches_done < n_batches && progress.should_stop() {
                state.epoch_seconds += start.elapsed().as_secs_f64();
                state.history.stop = Stop::Interrupted;
                return Ok(());
            }
        }
        let seconds = state.epoch_seconds + start.elapsed().as_secs_f64();
        state.end_epoch(
            config,
            eta0,
            eta,
            seconds,
            step.network(),
            data,
            &monitor,
            progress,
        )?;
        if !state.is_done(config) && progress.should_stop() {
            state.history.stop = Stop::Interrupted;
            return Ok(());
        }
    }
    drop(step);
    if let Some(kept) = state.best_net.take() {
        *net = kept;
        state.history.best_epoch = state.best.map(|(_, e)| e);
    }
    Ok(())
}

/// Everything a run checks before the first step.
fn check_run<T: Real>(
    net: &Network<T>,
    optimizer: &Optimizer<T>,
    data: &Dataset,
    monitor: &Monitor<'_>,
    config: &TrainConfig,
    state: &TrainState<T>,
) -> Result<()> {
    config.validate()?;
    crate::Kernels::from_env()?;
    check_fits(net, data)?;
    optimizer.check_network(net)?;
    for d in [monitor.validation, monitor.test].into_iter().flatten() {
        check_fits(net, d)?;
    }
    if data.is_empty() {
        return Err(Error::Dataset("no training samples".into()));
    }
    if config.needs_validation() && monitor.validation.is_none() {
        return Err(Error::Config(
            "early stopping and the plateau schedule watch a validation set, and none was given"
                .into(),
        ));
    }
    state.check(config, data.len())
}

impl<T: Real> TrainState<T> {
    /// A new epoch: reshuffle the samples (seeded) and zero the running totals.
    fn start_epoch(&mut self) {
        let [shuffle, _, _] = &mut self.rngs;
        shuffle.shuffle(&mut self.order);
        (self.epoch_cost, self.epoch_correct, self.epoch_seconds) = (0.0, 0, 0.0);
    }

    /// The epoch's last batch is done: evaluate `net`, report, and let early stopping and the
    /// schedule decide what comes next.
    #[allow(clippy::too_many_arguments)]
    fn end_epoch(
        &mut self,
        config: &TrainConfig,
        eta0: f64,
        eta: f64,
        seconds: f64,
        net: &Network<T>,
        data: &Dataset,
        monitor: &Monitor<'_>,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        let epoch = self.epoch;
        if !net.is_finite() {
            let batch = self.batches_done;
            return Err(Error::Diverged {
                epoch,
                batch,
                cost: f64::NAN,
            });
        }
        progress.evaluating();
        let report = EpochReport {
            epoch,
            learning_rate: eta,
            train_cost: self.epoch_cost / data.len() as f64,
            train_accuracy: self.epoch_correct as f64 / data.len() as f64,
            validation: monitor.validation.map(|d| evaluate(net, d)).transpose()?,
            test: monitor.test.map(|d| evaluate(net, d)).transpose()?,
            seconds,
            health: progress.wants_health().then(|| {
                let recent = data.len().saturating_sub(crate::inspect::health::SAMPLES);
                let batch_size = config.batch_size.min(data.len());
                crate::inspect::health::measure(net, data, &self.order[recent..], batch_size, eta)
            }),
        };
        progress.epoch_end(&report);
        let validation_accuracy = report.validation.as_ref().map(Evaluation::score);
        self.history.epochs.push(report);
        self.epoch += 1;
        self.batches_done = 0;
        self.end_of_epoch(config, eta0, epoch, validation_accuracy, net);
        Ok(())
    }
}
