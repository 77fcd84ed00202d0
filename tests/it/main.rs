//! The integration tests, one module per feature, in one crate: `cargo test` compiles and links
//! one test binary for them instead of one per file (ripgrep's `tests/tests.rs` does the same).
//!
//! - One former file's tests: `cargo test --test it sparse::` (several: `cargo test --test it --
//!   gradcheck:: sparse::`); one test: `cargo test --test it sparse::byte_images_take_the_sparse_path`.
//! - A new test file goes here as `tests/it/NAME.rs` with a `mod NAME;` line below; it reaches
//!   the shared helpers as `crate::common` (`tests/common/mod.rs`) and `crate::http`
//!   (`tests/http/mod.rs`). A file that must be a process of its own stays at `tests/NAME.rs`
//!   and says `mod common;` as before.
//! - `tests/threads.rs` is such a file: the thread count it changes is process-wide. So is
//!   `tests/serve_limits.rs`: it holds hundreds of sockets open and times the server's answers,
//!   which it should do in a process of its own, not beside training tests on the same cores.
//!   And `tests/kernels.rs`: it trains on one thread and on two, with every kernel set.

#[path = "../common/mod.rs"]
mod common;
#[path = "../http/mod.rs"]
mod http;

mod api;
mod cli;
mod cli_edges;
mod cli_look;
mod csv;
mod features;
mod gradcheck;
mod idx;
mod model_io;
mod onnx;
mod predict;
mod resume;
mod serve;
mod serve_api;
mod serve_backprop;
mod serve_browser;
mod serve_http;
mod serve_table;
mod sparse;
mod tables;
mod tables_cli;
mod training;
