//! Data: the IDX file format, MNIST-style directories, and labelled datasets.

mod dataset;
pub mod idx;
mod mnist;

pub use dataset::Dataset;
pub use idx::{read_idx, Idx};
pub use mnist::Mnist;
