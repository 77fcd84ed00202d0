//! Where the data comes from: the bundled MNIST, or an MNIST-style directory.

use anyhow::Context;
use backprop::{Dataset, Mnist};
use std::path::Path;

/// Loads `--data DIR`, or the bundled MNIST without it. Returns the data and a name for it.
pub fn load(dir: Option<&Path>) -> anyhow::Result<(Mnist, String)> {
    match dir {
        Some(dir) => {
            let mnist = Mnist::load_dir(dir)
                .with_context(|| format!("cannot load the dataset in {}", dir.display()))?;
            Ok((mnist, dir.display().to_string()))
        }
        None => {
            let mnist =
                Mnist::bundled().context("give an MNIST-style directory with --data DIR")?;
            Ok((mnist, "the bundled MNIST".to_string()))
        }
    }
}

/// Only the test set of `--data DIR` or of the bundled MNIST: what evaluating or serving a
/// model needs, without inflating the 60,000 training images.
pub fn load_test(dir: Option<&Path>) -> anyhow::Result<(Dataset, String)> {
    match dir {
        Some(dir) => {
            let test = Mnist::load_test_dir(dir)
                .with_context(|| format!("cannot load the dataset in {}", dir.display()))?;
            Ok((test, dir.display().to_string()))
        }
        None => {
            let test =
                Mnist::bundled_test().context("give an MNIST-style directory with --data DIR")?;
            Ok((test, "the bundled MNIST".to_string()))
        }
    }
}
