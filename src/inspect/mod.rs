//! Looking inside a network: your own digit as the network sees it ([`preprocess`]), statistics
//! of weights and mistakes ([`stats`]), pictures ([`report`]) and the notes' worked example of the
//! chain rule ([`explain`]), and the health of each layer while it learns ([`health`]).
//!
//! Internal to the command-line tool (`inspect`, `explain`, `eval --report`, `plot`, `train
//! --health` and the page), not a stable API: public only because the binary is a crate of its
//! own, and hidden from the docs. What a library user needs from here is re-exported as
//! [`crate::digit`] and [`crate::train::Health`].

pub mod explain;
pub mod health;
pub mod preprocess;
#[cfg(feature = "images")]
#[cfg_attr(docsrs, doc(cfg(feature = "images")))]
pub mod report;
pub mod stats;
