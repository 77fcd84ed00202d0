//! Looking inside a network: your own digit as the network sees it ([`preprocess`]), statistics
//! of weights and mistakes ([`stats`]), pictures ([`report`]) and the notes' worked example of the
//! chain rule ([`explain`]), and the health of each layer while it learns ([`health`]).

pub mod explain;
pub mod health;
pub mod preprocess;
pub mod report;
pub mod stats;
