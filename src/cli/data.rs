//! Where the data comes from: the bundled MNIST, or an MNIST-style directory.

use anyhow::Context;
use backprop::{Dataset, Mnist};
use std::path::Path;

/// Loads `--data DIR`, or the bundled MNIST without it. Returns the data and a name for it.
pub fn load(dir: Option<&Path>) -> anyhow::Result<(Mnist, String)> {
    load_with(dir, Mnist::load_dir, Mnist::bundled)
}

/// Only the test set of `--data DIR` or of the bundled MNIST: what evaluating or serving a
/// model needs, without inflating the 60,000 training images.
pub fn load_test(dir: Option<&Path>) -> anyhow::Result<(Dataset, String)> {
    load_with(dir, Mnist::load_test_dir, Mnist::bundled_test)
}

/// `from_dir(DIR)` with `--data DIR`, else `bundled()`, with the data's name.
fn load_with<T>(
    dir: Option<&Path>,
    from_dir: impl FnOnce(&Path) -> backprop::Result<T>,
    bundled: impl FnOnce() -> backprop::Result<T>,
) -> anyhow::Result<(T, String)> {
    match dir {
        Some(dir) => {
            let data = from_dir(dir)
                .with_context(|| format!("cannot load the dataset in {}", dir.display()))?;
            Ok((data, dir.display().to_string()))
        }
        None => {
            let data = bundled().context("give an MNIST-style directory with --data DIR")?;
            Ok((data, "the bundled MNIST".to_string()))
        }
    }
}
