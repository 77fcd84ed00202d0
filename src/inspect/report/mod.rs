//! Pictures, as SVG written by hand: text stays text (no fonts are needed to make them), and
//! the 28×28 images inside are small embedded PNGs.
//!
//! - [`eval`]: the confusion matrix as a heat map, a gallery of the worst mistakes, and the
//!   first layer's weights as images (what `backprop eval --report DIR` writes).
//! - [`curves`]: cost and accuracy per epoch from a training log (`backprop plot LOG`).
//! - `speeds`: each layer's ‖∂C/∂b‖ per epoch, how fast it learns (`train --health`, then `plot`).
//! - [`svg`]: the drawing primitives, a PNG encoder for embedded images, base64.

pub mod curves;
pub mod eval;
pub(crate) mod speeds;
pub mod svg;
