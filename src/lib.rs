//! # backprop
//!
//! Feed-forward neural networks trained by backpropagation and gradient descent, exactly as the
//! textbook derives it — and fast.
//!
//! ## From the notes to the code
//!
//! The lecture notes (3Blue1Brown's "Neural networks" series, Hung-yi Lee's ML Lecture 7) derive
//! everything for one sample; this table says where each piece lives.
//!
//! | the notes | the code |
//! |---|---|
//! | θ = {w₁, w₂, …, b₁, b₂, …}, 13,002 of them for 784-16-16-10 | [`Network`], [`Dense`] (`weights` n_out × n_in, `biases`), [`Architecture::n_parameters`] |
//! | (2) z_j^(L) = Σ_k w_jk^(L) a_k^(L−1) + b_j^(L) | [`Dense::feedforward`]; batched in [`Dense::forward_batch`] |
//! | (3) a_j^(L) = σ(z_j^(L)) | [`Activation::sigma`], [`Activation::apply`] |
//! | (1) C₀ = Σ_j (a_j^(L) − y_j)² | [`Cost::value`] ([`Cost::Quadratic`], no ½) |
//! | ∂C₀/∂a^(L) = 2(a^(L) − y) | [`Cost::dc_da`] |
//! | ∂a/∂z = σ'(z) | [`Activation::sigma_prime`] |
//! | ∂C₀/∂w_jk = a_k^(L−1) σ'(z_j) ∂C₀/∂a_j, ∂C₀/∂b_j = σ'(z_j) ∂C₀/∂a_j | [`Dense::backprop`] |
//! | ∂C₀/∂a_k^(L−1) = Σ_j w_jk σ'(z_j) ∂C₀/∂a_j, then keep going backwards | [`Dense::backprop`], [`Network::backprop`] |
//! | every layer's a, ∂C₀/∂a and δ = ∂C₀/∂z of one sample, kept | [`Network::backward_trace`] |
//! | ∂C/∂w = (1/n) Σ_k ∂C_k/∂w over the samples | [`Network::backprop_batch`] |
//! | θ^(t+1) = θ^t − η ∇C(θ^t) | [`Optimizer`] with [`UpdateRule::Sgd`] |
//! | "backpropagation is gradient descent with an efficient way to compute the gradient" | [`train()`] |
//! | what the default `backprop train` runs: θ ← θ − η∇C for each mini-batch, in one pass | the training step chosen once per run (`Step` in `src/train/step.rs`): plain SGD fused into backpropagation, each layer stepped as soon as its δ is known ([`train::step::fused_sgd`], [`Dense::sgd_step_batch`]), and a first layer that visits only the non-zero pixels (`src/train/sparse/`) |
//!
//! [`Network::backprop`] is the notes' chain rule, sample by sample, loop by loop: the reference.
//! [`Network::backprop_batch`] does the same for a whole mini-batch with matrix products, and the
//! default run's step is that again with the update folded in and the zero pixels skipped. The
//! tests hold each to the one before it:
//!
//! - [`gradcheck`] checks backprop against central finite differences (`tests/it/gradcheck.rs`:
//!   `backprop_matches_finite_differences_for_every_activation_and_cost`,
//!   `the_notes_network_passes_the_gradient_check`);
//! - `batched_backprop_equals_the_per_sample_reference` (`tests/it/gradcheck.rs`) holds the batch
//!   to the per-sample reference;
//! - `fused_gradient_descent_equals_backprop_then_the_optimisers_step` and
//!   `a_layers_gradient_descent_step_is_each_samples_step_in_turn` (`tests/it/gradcheck.rs`) hold
//!   the fused step to backpropagation followed by the optimiser's step, and to each sample's
//!   step taken in turn;
//! - `the_notes_network_on_mnist_is_the_dense_paths_bit_for_bit` and
//!   `any_shape_and_activation_is_the_dense_paths_bit_for_bit` (`tests/it/sparse.rs`) hold the
//!   sparse first layer to the dense path, bit for bit.
//!
//! ## Example: the notes' network on MNIST
//!
//! ```no_run
//! # #[cfg(feature = "bundled-mnist")] {
//! use backprop::{evaluate, Architecture, Init, Mnist, Network, OptimizerConfig, TrainConfig, Training};
//! let mnist = Mnist::bundled()?;
//! let mut net = Network::<f32>::new(&Architecture::notes(), Init::Normal, 1)?;
//! let mut sgd = OptimizerConfig::default().build(&net, mnist.train.len())?; // SGD, η = 1.5
//! let config = TrainConfig::default(); // 30 epochs, mini-batches of 10
//! Training::new(&config).test(&mnist.test).run(&mut net, &mut sgd, &mnist.train)?;
//! println!("accuracy {:.2}%", 100.0 * evaluate(&net, &mnist.test)?.accuracy());
//! backprop::model_io::save(&net, "model.safetensors".as_ref())?;
//! # }
//! # Ok::<(), backprop::Error>(())
//! ```
//!
//! ## The API at a glance
//!
//! | you want | use |
//! |---|---|
//! | a model in a few lines, as scikit-learn's `MLPClassifier(...).fit(X, y)` | [`Mlp`] → [`Model`] |
//! | data | [`Dataset`] ([`Dataset::from_rows`], [`Dataset::from_rows_regression`], splits, [`data::Scaler`]), [`Mnist`], `data::csv` (feature `csv`), your own digit: [`digit`] |
//! | a network | [`Architecture`], [`Init`] → [`Network`] |
//! | an optimiser | [`OptimizerConfig`] (`::sgd(η)`, `::momentum(η, μ)`, `::adam(η)`, any [`UpdateRule`]) → `.build(&net, n)` → [`Optimizer`] |
//! | training | [`train()`]; with validation and test sets, a [`Progress`] or resuming: [`Training`]; both take a [`TrainConfig`] |
//! | answers | [`Network::outputs`], [`Network::predict`], [`Network::outputs_batch`], [`Network::predict_batch`]; [`evaluate`] |
//! | model files | [`model_io::save`], [`model_io::load`]; ONNX for other runtimes: [`onnx`]; Nielsen's JSON: [`nielsen`]; interrupted runs: [`Checkpoint`] |
//!
//! The network's, the optimiser's and the datasets' calls check what they are given: a wrong
//! length, a buffer or an optimiser state made for another network, a value that is not finite
//! is an [`Error`] naming the problem, never a silent truncation. (The building blocks below
//! them, [`Dense`]'s passes and [`Dataset::fill_inputs`], say where they panic instead.)
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `cli` | on | the `backprop` command-line tool (clap, anyhow, indicatif, ctrlc, the HTTP server) and its draw-a-digit page; turns on `images`, `csv` and `bundled-mnist` |
//! | `images` | with `cli` | PNG and JPEG digits ([`digit::load_digit`]) and the tool's SVG pictures (png, zune-jpeg) |
//! | `csv` | with `cli` | tables from CSV files ([`data::csv`]): a header, the target column by name, classes or real values |
//! | `bundled-mnist` | with `cli` | [`Mnist::bundled`]: the 11 MB of MNIST compiled in, when the crate is built from its repository (the package on crates.io leaves the files out, and `bundled` then returns an error saying so) |
//!
//! Everything else — the maths, datasets, training, evaluation, gradient checks and model
//! files — needs none of them. A program that uses backprop as a library writes
//!
//! ```toml
//! [dependencies]
//! backprop = { version = "0.1", default-features = false }
//!
//! # Training is arithmetic in tight loops: unoptimised, a small run was measured 42x slower.
//! # This keeps backprop optimised in your debug builds too.
//! [profile.dev.package.backprop]
//! opt-level = 3
//! ```
//!
//! and compiles 46 crates besides its own (the matrix kernels, serde, safetensors, flate2).
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The notes' mathematics: one concept a file, names from the equations.
mod activation;
mod architecture;
mod backward;
mod cost;
mod dropout;
pub mod gradcheck;
mod inference;
mod init;
mod layer;
mod metrics;
pub mod model_io;
mod network;
pub mod nielsen;
pub mod onnx;
mod workspace;

// Numbers and randomness under everything.
mod error;
mod real;
mod rng;

// Data: IDX files, the bundled MNIST, datasets and batching.
pub mod data;

// The short way: an estimator like scikit-learn's MLPClassifier and MLPRegressor.
mod estimator;

// Training: the loop, its step (the one door to the fast path), optimisers, schedules,
// augmentation, checkpoints.
pub mod train;

// The fast kernels (dense, sparse, threads); public: which set runs, and the thread count.
mod kernels;

// Looking inside: statistics, pictures, the worked example, the layers' health. Internal to
// the command-line tool (public only because the binary is another crate), hidden from the
// docs; what a library user needs from it is re-exported: `digit`, `train::Health`.
#[doc(hidden)]
pub mod inspect;

/// Your own digit as the notes' network sees it: any PNG or JPEG, or grey levels in memory, made
/// into the 28×28 = 784 inputs of an MNIST image the way MNIST's were made (scaled into 20×20,
/// centred by its centre of mass).
///
/// ```
/// use backprop::digit::{to_mnist, GreyImage};
/// // A 3×3 white page with one dark stroke down the middle.
/// let page = GreyImage::new(3, 3, vec![1., 0., 1., 1., 0., 1., 1., 0., 1.]).unwrap();
/// let digit = to_mnist(&page).unwrap();
/// assert_eq!(digit.pixels.len(), 784);
/// assert!(digit.inverted, "dark ink on light paper becomes MNIST's high ink");
/// assert!(GreyImage::new(3, 3, vec![0.0; 8]).is_err());
/// ```
pub mod digit {
    #[cfg(feature = "images")]
    #[cfg_attr(docsrs, doc(cfg(feature = "images")))]
    pub use crate::inspect::preprocess::load_digit;
    pub use crate::inspect::preprocess::{
        to_mnist, Digit, GreyImage, MAX_FILE_BYTES, MAX_PIXELS, MAX_SIDE, SIDE,
    };
}

// The draw-a-digit page behind `backprop serve` (routes and JSON; the CLI owns the socket).
// Internal to the command-line tool, hidden from the docs.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod serve;

pub use activation::Activation;
pub use architecture::{Architecture, MAX_PARAMETERS};
pub use backward::{BackwardTrace, LayerBackward};
pub use cost::Cost;
pub use data::{Dataset, Mnist};
pub use dropout::Dropout;
pub use error::{Error, Result};
pub use estimator::{Mlp, Model, Prediction, TargetValue};
pub use init::Init;
pub use kernels::{set_threads, threads, Kernels, GEMM_THRESHOLD, KERNELS_VARIABLE};
pub use layer::{Dense, LayerGradient};
pub use network::{argmax, Gradient, Network};
pub use real::Real;
pub use rng::Rng;
pub use train::{
    check_fits, evaluate, train, Augment, Checkpoint, EpochReport, Evaluation, History, Optimizer,
    OptimizerConfig, OptimizerState, Progress, Regression, Schedule, Stop, TrainConfig, TrainState,
    Training, UpdateRule,
};
pub use workspace::Workspace;

// The README's Rust example is compiled with the doc tests, so it cannot go stale (it trains on
// the bundled MNIST, hence the feature).
#[cfg(all(doctest, feature = "bundled-mnist"))]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
