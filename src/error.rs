//! The library's one error type.
//!
//! Messages are lowercase, one line, and carry the file and the found/expected values, so the
//! command-line tool can print them as they are.

use std::path::PathBuf;

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said (part of the message, so not repeated as a source).
        cause: std::io::Error,
    },

    /// An IDX file is malformed: wrong magic, unsupported type, impossible dimensions, or a
    /// length that does not match its header.
    #[error("{}: {reason}", path.display())]
    Idx {
        /// The file.
        path: PathBuf,
        /// What was found, and what was expected.
        reason: String,
    },

    /// The files of a dataset contradict each other (for example 60000 images, 59999 labels).
    #[error("{0}")]
    Dataset(String),

    /// A model file is malformed or does not describe a network this crate can build.
    #[error("{}: {reason}", path.display())]
    Model {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// Model bytes in memory (no file) are malformed: [`Error::Model`] without a path.
    #[error("not a backprop model: {0}")]
    ModelBytes(String),

    /// A network's shape does not fit the data or the arguments it is given.
    #[error("shape mismatch: {0}")]
    Shape(String),

    /// A hyper-parameter or architecture that cannot work (zero batch size, negative learning
    /// rate, softmax in a hidden layer, ...).
    #[error("invalid configuration: {0}")]
    Config(String),

    /// An image file cannot be used: not PNG or JPEG, corrupt, too large, or without ink.
    #[error("{}: {reason}", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// `BACKPROP_KERNELS` names no kernel set, or one this CPU cannot run.
    #[error("BACKPROP_KERNELS={value:?}: {reason}")]
    Kernels {
        /// The variable's value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Training produced a non-finite cost.
    #[error(
        "training diverged: the cost became {cost} at epoch {epoch}, batch {batch}; \
         try a smaller learning rate"
    )]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based mini-batch within the epoch.
        batch: usize,
        /// The cost that was not finite.
        cost: f64,
    },
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause,
        }
    }
}
