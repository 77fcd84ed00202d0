//! Data: the IDX file format, MNIST-style directories, datasets from memory (classes or real
//! targets), splits and shuffles, and standardisation.

#[cfg(feature = "csv")]
#[cfg_attr(docsrs, doc(cfg(feature = "csv")))]
pub mod csv;
mod dataset;
pub mod idx;
mod memory;
mod mnist;
mod scaler;
mod toy;

pub use dataset::Dataset;
pub use idx::{read_idx, Idx};
pub use mnist::Mnist;
pub use scaler::Scaler;
pub use toy::Toy;
