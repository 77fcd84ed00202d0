//! Whether the bundled MNIST can be embedded: with the `bundled-mnist` feature, and only where
//! the four files are beside this script (a clone of the repository, `cargo install --path .`).
//! The published package leaves them out (crates.io takes at most 10 MiB; they are 11 MB), so a
//! build from it sets no `mnist_files`, and `Mnist::bundled` then says where to get them.

use std::path::Path;

const FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(mnist_files)");
    println!("cargo::rerun-if-changed=data/mnist");
    if std::env::var_os("CARGO_FEATURE_BUNDLED_MNIST").is_none() {
        return;
    }
    let dir = Path::new("data/mnist");
    if FILES.iter().all(|f| dir.join(f).is_file()) {
        println!("cargo::rustc-cfg=mnist_files");
    } else {
        println!(
            "cargo::warning=data/mnist/ is not here (the published package leaves it out): \
             this build has no bundled MNIST; `backprop train` will need --data DIR"
        );
    }
}
