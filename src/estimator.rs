//! The short way: an estimator in the manner of scikit-learn's `MLPClassifier` and
//! `MLPRegressor`, on top of the pieces the rest of the crate exposes.
//!
//! ```text
//! Mlp::classifier(&[32]) / Mlp::regressor(&[32])     hidden layer sizes
//!     .epochs(100).learning_rate(0.01) ...           any knob of TrainConfig / OptimizerConfig
//!     .fit(&x, &y)?                                  rows of features; labels or real targets
//! model.predict(&row)?                               a class (with its name) or real values
//! model.save(path)? / Model::load(path)?             safetensors, scalers and names in the metadata
//! ```
//!
//! `fit` standardises the inputs with the training rows' means and deviations (and regression
//! targets too, answering in their own units), builds the network — ReLU hidden layers with He
//! initialisation; softmax with the log-likelihood cost for classes, identity with the
//! quadratic cost for real targets — and trains it with Adam.

use crate::data::Scaler;
use crate::model_io::{ModelInfo, Task};
use crate::{
    argmax, evaluate, Activation, Architecture, Cost, Dataset, EpochReport, Error, Evaluation,
    History, Init, Network, OptimizerConfig, Progress, Regression, Result, TrainConfig, Training,
};
use std::borrow::Cow;
use std::path::Path;

/// Hyper-parameters of a multilayer perceptron, ready to [`fit`](Mlp::fit).
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    task: Task,
    /// Hidden layer sizes.
    pub hidden: Vec<usize>,
    /// σ of the hidden layers. Default ReLU.
    pub activation: Activation,
    /// How the weights start. Default He.
    pub init: Init,
    /// The optimiser. Default Adam, η = 0.01.
    pub optimizer: OptimizerConfig,
    /// Epochs, batch size, seed, schedule, early stopping, dropout. Default 100 epochs of
    /// batches of 32, seed 3.
    pub train: TrainConfig,
    /// Standardise the inputs (and regression targets) from the training data. Default on.
    pub standardize: bool,
    /// The share of the training rows held out (stratified for classes, seeded by
    /// `train.seed`) as the validation set when `train` asks for one: early stopping, the
    /// plateau schedule. Default 0.1, as scikit-learn's `validation_fraction`.
    pub validation_fraction: f64,
}

impl Mlp {
    /// A classifier with these hidden layers.
    ///
    /// # Examples
    /// ```
    /// use backprop::Mlp;
    /// // XOR, as rows and labels.
    /// let x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    /// let model = Mlp::classifier(&[8]).epochs(300).batch_size(4).fit(&x, &[0, 1, 1, 0]).unwrap();
    /// assert_eq!(model.predict(&[1.0, 0.0]).unwrap().class(), Some(1));
    /// assert!(model.predict(&[1.0]).is_err());
    /// ```
    pub fn classifier(hidden: &[usize]) -> Mlp {
        Mlp::new(Task::Classify, hidden)
    }

    /// A regressor with these hidden layers.
    pub fn regressor(hidden: &[usize]) -> Mlp {
        Mlp::new(Task::Regress, hidden)
    }

    fn new(task: Task, hidden: &[usize]) -> Mlp {
        Mlp {
            task,
            hidden: hidden.to_vec(),
            activation: Activation::Relu,
            init: Init::He,
            optimizer: OptimizerConfig::adam(0.01),
            train: TrainConfig {
                epochs: 100,
                batch_size: 32,
                ..TrainConfig::default()
            },
            standardize: true,
            validation_fraction: 0.1,
        }
    }

    /// Passes over the training data.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.train.epochs = epochs;
        self
    }

    /// Samples per gradient step.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.train.batch_size = batch_size;
        self
    }

    /// η.
    pub fn learning_rate(mut self, eta: f64) -> Self {
        self.optimizer.learning_rate = eta;
        self
    }

    /// λ of L2 regularisation.
    pub fn l2(mut self, l2: f64) -> Self {
        self.optimizer.l2 = l2;
        self
    }

    /// The seed of the initial weights and the shuffling.
    pub fn seed(mut self, seed: u64) -> Self {
        self.train.seed = seed;
        self
    }

    /// σ of the hidden layers.
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// The optimiser (any [`UpdateRule`](crate::UpdateRule), η, λ).
    pub fn optimizer(mut self, optimizer: OptimizerConfig) -> Self {
        self.optimizer = optimizer;
        self
    }

    /// Stop when the validation score (accuracy, or R²) has not risen for `patience` epochs,
    /// and keep the best epoch's network; the validation set is the `validation_fraction`
    /// of the training rows, held out.
    pub fn early_stopping(mut self, patience: usize) -> Self {
        self.train.early_stopping = Some(patience);
        self
    }

    /// The share of the training rows held out for validation when early stopping asks for it.
    pub fn validation_fraction(mut self, fraction: f64) -> Self {
        self.validation_fraction = fraction;
        self
    }

    /// Every training setting at once.
    pub fn train_config(mut self, train: TrainConfig) -> Self {
        self.train = train;
        self
    }

    /// Whether to standardise the inputs (and regression targets).
    pub fn standardize(mut self, on: bool) -> Self {
        self.standardize = on;
        self
    }

    /// Trains on rows of features `x` (all the same length) and targets `y`: one class label per
    /// row for a classifier, one real value per row for a regressor (see [`Mlp::fit_dataset`]
    /// for several targets).
    ///
    /// # Errors
    /// [`Error::Dataset`] if the rows are ragged, empty, or not finite, or `y` does not have
    /// one entry per row; [`Error::Config`] for bad hyper-parameters; [`Error::Diverged`].
    pub fn fit<R: AsRef<[f32]>, Y: TargetValue>(&self, x: &[R], y: &[Y]) -> Result<Model> {
        let d = x.first().map_or(0, |r| r.as_ref().len());
        let mut flat = Vec::with_capacity(x.len() * d);
        for (i, row) in x.iter().enumerate() {
            if row.as_ref().len() != d {
                return Err(Error::Dataset(format!(
                    "row {i} has {} features, row 0 has {d}",
                    row.as_ref().len()
                )));
            }
            flat.extend_from_slice(row.as_ref());
        }
        if y.len() != x.len() {
            return Err(Error::Dataset(format!(
                "{} rows of features but {} targets",
                x.len(),
                y.len()
            )));
        }
        let data = match self.task {
            Task::Classify => {
                let labels = y
                    .iter()
                    .map(|v| v.label())
                    .collect::<Option<Vec<u32>>>()
                    .ok_or_else(|| {
                        Error::Dataset("a classifier needs class labels 0, 1, 2, ...".into())
                    })?;
                Dataset::from_rows(&flat, d, &labels)?
            }
            Task::Regress => {
                let values: Vec<f32> = y.iter().map(|v| v.value()).collect();
                Dataset::from_rows_regression(&flat, d, &values, 1)?
            }
        };
        self.fit_dataset(&data)
    }

    /// Trains on a [`Dataset`] (classes or any number of real targets).
    ///
    /// # Errors
    /// As [`Mlp::fit`], and [`Error::Config`] if the dataset's kind is not the estimator's.
    pub fn fit_dataset(&self, data: &Dataset) -> Result<Model> {
        Ok(self.fit_dataset_with(data, None, &mut ())?.0)
    }

    /// [`Mlp::fit_dataset`], telling `progress` about every epoch, with `test` (raw rows, as
    /// `data`) standardised like the training data and evaluated after each.
    ///
    /// The reports' regression metrics on `test` are in the target's own units for one target
    /// (RMSE and MAE times its standard deviation; R² is the same in either); the training cost
    /// is the network's, in standardised units.
    ///
    /// # Errors
    /// As [`Mlp::fit_dataset`], and [`Error::Shape`] if `test` does not fit `data`.
    pub fn fit_dataset_with(
        &self,
        data: &Dataset,
        test: Option<&Dataset>,
        progress: &mut dyn Progress,
    ) -> Result<(Model, History)> {
        if data.is_regression() != (self.task == Task::Regress) {
            return Err(Error::Config(format!(
                "a {} needs {} targets",
                if self.task == Task::Regress {
                    "regressor"
                } else {
                    "classifier"
                },
                if self.task == Task::Regress {
                    "real-valued"
                } else {
                    "class"
                }
            )));
        }
        if data.is_empty() {
            return Err(Error::Dataset("no training samples".into()));
        }
        let (data, validation) = if self.train.needs_validation() {
            let f = self.validation_fraction;
            let (t, v) = data
                .split_stratified(f, self.train.seed)
                .map_err(|e| Error::Config(format!("validation fraction {f}: {e}")))?;
            (Cow::Owned(t), Some(v))
        } else {
            (Cow::Borrowed(data), None)
        };
        let data = data.as_ref();
        let mut info = ModelInfo {
            task: Some(self.task),
            ..ModelInfo::default()
        };
        if self.standardize {
            info.input_scaler = Some(Scaler::fit(&data.features_f32(), data.n_inputs())?);
            if let Some(y) = data.values() {
                info.target_scaler = Some(Scaler::fit(y, data.n_outputs())?);
            }
        }
        let scaled = standardized(&info, data)?;
        let scaled_test = test.map(|t| standardized(&info, t)).transpose()?;
        let scaled_validation = validation.map(|v| standardized(&info, &v)).transpose()?;
        let mut sizes = vec![data.n_inputs()];
        sizes.extend(&self.hidden);
        sizes.push(data.n_outputs());
        let arch = match self.task {
            Task::Classify => Architecture::uniform(
                sizes,
                self.activation,
                Activation::Softmax,
                Cost::LogLikelihood,
            ),
            Task::Regress => Architecture::uniform(
                sizes,
                self.activation,
                Activation::Identity,
                Cost::Quadratic,
            ),
        };
        let mut net = Network::<f32>::new(&arch, self.init, self.train.seed)?;
        let mut optimizer = self.optimizer.build(&net, scaled.len())?;
        let target_std = match &info.target_scaler {
            Some(s) if s.width() == 1 => Some(s.std[0] as f64),
            _ => None,
        };
        let mut progress = InTargetUnits {
            inner: progress,
            target_std,
        };
        let history = Training::new(&self.train)
            .validation(scaled_validation.as_ref())
            .test(scaled_test.as_ref())
            .progress(&mut progress)
            .run(&mut net, &mut optimizer, &scaled)?;
        Ok((Model { net, info }, history))
    }
}

/// `data` as the network sees it: inputs (and real targets) standardised by `info`'s scalers.
fn standardized(info: &ModelInfo, data: &Dataset) -> Result<Dataset> {
    let mut x = data.features_f32();
    if let Some(s) = &info.input_scaler {
        if s.width() != data.n_inputs() {
            return Err(Error::Shape(format!(
                "the model takes {} features, the data have {}",
                s.width(),
                data.n_inputs()
            )));
        }
        s.transform(&mut x);
    }
    match data.values() {
        // The data's own class count, not its largest label's.
        None => Dataset::from_floats(x, data.labels().to_vec(), data.n_inputs(), data.n_classes()),
        Some(y) => {
            let mut y = y.to_vec();
            if let Some(s) = &info.target_scaler {
                s.transform(&mut y);
            }
            Dataset::from_rows_regression(&x, data.n_inputs(), &y, data.n_outputs())
        }
    }
}

/// Passes reports on with the regression metrics of one standardised target brought back to
/// its units: RMSE and MAE times s (R², a ratio, is unchanged).
struct InTargetUnits<'a> {
    inner: &'a mut dyn Progress,
    target_std: Option<f64>,
}

impl Progress for InTargetUnits<'_> {
    fn epoch_start(&mut self, epoch: usize, epochs: usize, batches: usize) {
        self.inner.epoch_start(epoch, epochs, batches);
    }
    fn batch_end(&mut self, batch: usize) {
        self.inner.batch_end(batch);
    }
    fn batch_cost(&mut self, cost: f64) {
        self.inner.batch_cost(cost);
    }
    fn evaluating(&mut self) {
        self.inner.evaluating();
    }
    fn epoch_end(&mut self, report: &EpochReport) {
        let Some(s) = self.target_std else {
            return self.inner.epoch_end(report);
        };
        let mut report = report.clone();
        for e in [&mut report.validation, &mut report.test]
            .into_iter()
            .flatten()
        {
            if let Some(r) = &mut e.regression {
                r.rmse *= s;
                r.mae *= s;
            }
        }
        self.inner.epoch_end(&report);
    }
    fn should_stop(&mut self) -> bool {
        self.inner.should_stop()
    }
    fn wants_health(&self) -> bool {
        self.inner.wants_health()
    }
}

/// What `y` of [`Mlp::fit`] can hold: class labels (`u32`, `usize`, `i32`) or real values
/// (`f32`, `f64`).
pub trait TargetValue: Copy {
    /// The class label, if this is one (and not negative).
    fn label(self) -> Option<u32>;
    /// The value as a real number.
    fn value(self) -> f32;
}

macro_rules! target_value {
    ($($t:ty),*) => {$(
        impl TargetValue for $t {
            fn label(self) -> Option<u32> {
                let v = self as f64;
                (v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64).then_some(v as u32)
            }
            fn value(self) -> f32 {
                self as f32
            }
        }
    )*};
}
target_value!(u8, u16, u32, u64, usize, i32, i64, f32, f64);

/// A trained network with what it knows about its data.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The network (its inputs standardised if `info.input_scaler` is set).
    pub net: Network<f32>,
    /// Task, class names, scalers.
    pub info: ModelInfo,
}

/// The answer for one row.
#[derive(Clone, Debug, PartialEq)]
pub enum Prediction {
    /// A class: its index, its name if the model knows names, and the network's output for it
    /// (the softmax probability for the estimator's classifiers).
    Class {
        /// 0-based.
        index: usize,
        /// From the model's metadata.
        name: Option<String>,
        /// a_j^(L) of the winning class.
        score: f32,
    },
    /// Real values, in the targets' own units.
    Values(Vec<f32>),
}

impl Prediction {
    /// The class index, for a classification.
    pub fn class(&self) -> Option<usize> {
        match self {
            Prediction::Class { index, .. } => Some(*index),
            Prediction::Values(_) => None,
        }
    }

    /// The first (for one target, the only) real value, for a regression.
    pub fn value(&self) -> Option<f32> {
        match self {
            Prediction::Values(v) => v.first().copied(),
            Prediction::Class { .. } => None,
        }
    }
}

impl Model {
    /// A model from a network and its data description (checked against each other).
    ///
    /// # Errors
    /// [`Error::ModelBytes`] if `info` does not fit `net`.
    pub fn new(net: Network<f32>, info: ModelInfo) -> Result<Model> {
        crate::model_io::to_bytes_with_info(&net, &info)?;
        Ok(Model { net, info })
    }

    /// Whether the outputs are real values.
    pub fn is_regression(&self) -> bool {
        self.info.task == Some(Task::Regress)
    }

    /// The outputs for rows of raw features (n × n_inputs, row-major), in the targets' units:
    /// standardised as in training, through the fast path, and back from standardised targets.
    ///
    /// # Errors
    /// [`Error::Shape`] if the rows do not have the network's number of inputs.
    pub fn outputs_batch(&self, rows: &[f32]) -> Result<Vec<f32>> {
        let n_in = self.net.n_inputs();
        if rows.is_empty() || !rows.len().is_multiple_of(n_in) {
            return Err(Error::Shape(format!(
                "the model takes rows of {n_in} features, got {} values",
                rows.len()
            )));
        }
        let mut x = rows.to_vec();
        if let Some(s) = &self.info.input_scaler {
            s.transform(&mut x);
        }
        let mut a = self.net.outputs_batch(&x)?;
        if let Some(s) = &self.info.target_scaler {
            s.inverse(&mut a);
        }
        Ok(a)
    }

    /// The answer for one row of raw features.
    ///
    /// # Errors
    /// [`Error::Shape`] if `row` does not have the network's number of inputs.
    pub fn predict(&self, row: &[f32]) -> Result<Prediction> {
        Ok(self.predict_batch(row)?.pop().expect("one row"))
    }

    /// The answers for rows of raw features (n × n_inputs, row-major).
    ///
    /// # Errors
    /// As [`Model::outputs_batch`].
    pub fn predict_batch(&self, rows: &[f32]) -> Result<Vec<Prediction>> {
        let a = self.outputs_batch(rows)?;
        let k = self.net.n_outputs();
        Ok(a.chunks_exact(k)
            .map(|a| {
                if self.is_regression() {
                    Prediction::Values(a.to_vec())
                } else {
                    let index = argmax(a);
                    Prediction::Class {
                        index,
                        name: self.info.class_names.as_ref().map(|n| n[index].clone()),
                        score: a[index],
                    }
                }
            })
            .collect())
    }

    /// How the model does on a dataset of raw features: accuracy and confusion matrix for
    /// classes; RMSE, MAE and R² in the targets' own units for regression.
    ///
    /// # Errors
    /// [`Error::Shape`] if the data do not fit the model.
    pub fn evaluate(&self, data: &Dataset) -> Result<Evaluation> {
        let scaled = standardized(&self.info, data)?;
        let mut e = evaluate(&self.net, &scaled)?;
        if let Some(y) = data.values() {
            let a = self.outputs_batch(&data.features_f32())?;
            e.regression = Some(Regression::of(&a, y, data.n_outputs()));
        }
        Ok(e)
    }

    /// Saves the network with its data description.
    ///
    /// # Errors
    /// As [`crate::model_io::save_with_info`].
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::model_io::save_with_info(&self.net, &self.info, path)
    }

    /// Loads a model file (one without a data description loads as a classifier with raw
    /// inputs).
    ///
    /// # Errors
    /// As [`crate::model_io::load_with_info`].
    pub fn load(path: &Path) -> Result<Model> {
        let (net, info) = crate::model_io::load_with_info(path)?;
        Ok(Model { net, info })
    }
}
