//! MNIST and every dataset laid out like it (Fashion-MNIST, KMNIST, EMNIST, ...): four IDX files
//! in one directory, under the names MNIST made common.
//!
//! ```text
//! train-images-idx3-ubyte[.gz]  or  train-images.idx3-ubyte[.gz]   n × rows × cols pixels
//! train-labels-idx1-ubyte[.gz]  or  train-labels.idx1-ubyte[.gz]   n labels
//! t10k-images-idx3-ubyte[.gz]   or  t10k-images.idx3-ubyte[.gz]
//! t10k-labels-idx1-ubyte[.gz]   or  t10k-labels.idx1-ubyte[.gz]
//! ```
//!
//! The image size and the number of classes (largest label + 1) come from the files.

#[cfg(all(feature = "bundled-mnist", mnist_files))]
use super::idx::parse_idx_bytes;
use super::idx::{read_idx, Idx};
use crate::{Dataset, Error, Result};
use std::path::{Path, PathBuf};

/// A training set and a test set.
#[derive(Clone, Debug, PartialEq)]
pub struct Mnist {
    /// The training images (60,000 for MNIST).
    pub train: Dataset,
    /// The test images (10,000 for MNIST).
    pub test: Dataset,
}

/// Why [`Mnist::bundled`] has nothing in a build without the files.
#[cfg(all(feature = "bundled-mnist", not(mnist_files)))]
const NOT_BUNDLED: &str = "this build of backprop has no bundled MNIST (the published package \
     leaves out its 11 MB; a build from the repository embeds it): put the four gzipped IDX files \
     (data/mnist/ of the repository, or any MNIST mirror) in a directory and load that";

/// The four files, by the first part of their names, and the kind of IDX each is.
const FILES: [(&str, &str); 4] = [
    ("train-images", "idx3"),
    ("train-labels", "idx1"),
    ("t10k-images", "idx3"),
    ("t10k-labels", "idx1"),
];

impl Mnist {
    /// Loads the four files from `dir`, gzipped or raw, under either common spelling.
    ///
    /// # Errors
    /// [`Error::Dataset`] if a file is missing or the files disagree (image and label counts,
    /// image sizes); [`Error::Idx`] or [`Error::Io`] naming the file that is malformed or unreadable.
    pub fn load_dir(dir: &Path) -> Result<Mnist> {
        let paths = find_all(dir)?;
        Mnist::from_parts(read_four(|i| Ok((read_idx(&paths[i])?, paths[i].clone())))?)
    }

    /// Only the test set of [`Mnist::load_dir`] (the training labels are read too, for the
    /// number of classes): what evaluating a model needs, in a sixth of the time.
    ///
    /// # Errors
    /// As [`Mnist::load_dir`], for the files it reads.
    pub fn load_test_dir(dir: &Path) -> Result<Dataset> {
        let paths = find_all(dir)?;
        let mut parts = Vec::with_capacity(3);
        for path in &paths[1..] {
            parts.push((read_idx(path)?, path.clone()));
        }
        test_from_parts(parts)
    }

    /// The MNIST shipped inside this crate (`data/mnist/`): 60,000 training and 10,000 test
    /// images, no files or network needed.
    ///
    /// The files are embedded when the crate is built from its repository (a clone, a git
    /// dependency, `cargo install --path .`). The package published on crates.io leaves them out
    /// to stay under its 10 MiB limit; a build from it has no bundled MNIST, and this returns
    /// an error that says where to get the files for [`Mnist::load_dir`].
    ///
    /// # Errors
    /// [`Error::Dataset`] if this build has no bundled files; otherwise only if the embedded
    /// files were corrupted at build time.
    #[cfg(feature = "bundled-mnist")]
    #[cfg_attr(docsrs, doc(cfg(feature = "bundled-mnist")))]
    pub fn bundled() -> Result<Mnist> {
        #[cfg(mnist_files)]
        {
            let files = bundled_files();
            let parts = read_four(|i| {
                let (bytes, name) = files[i];
                let path = PathBuf::from(name);
                Ok((parse_idx_bytes(&path, bytes)?, path))
            })?;
            Mnist::from_parts(parts)
        }
        #[cfg(not(mnist_files))]
        Err(Error::Dataset(NOT_BUNDLED.into()))
    }

    /// Whether [`Mnist::bundled`] has the files in this build.
    pub const fn is_bundled() -> bool {
        cfg!(all(feature = "bundled-mnist", mnist_files))
    }

    /// Only the test set of [`Mnist::bundled`] (and the training labels, for the number of
    /// classes): what evaluating a model needs, in a sixth of the time.
    ///
    /// # Errors
    /// As [`Mnist::bundled`].
    #[cfg(feature = "bundled-mnist")]
    #[cfg_attr(docsrs, doc(cfg(feature = "bundled-mnist")))]
    pub fn bundled_test() -> Result<Dataset> {
        #[cfg(mnist_files)]
        {
            let files = bundled_files();
            let mut parts = Vec::with_capacity(3);
            for (bytes, name) in &files[1..] {
                let path = PathBuf::from(name);
                parts.push((parse_idx_bytes(&path, bytes)?, path));
            }
            test_from_parts(parts)
        }
        #[cfg(not(mnist_files))]
        Err(Error::Dataset(NOT_BUNDLED.into()))
    }

    fn from_parts(parts: Vec<(Idx, PathBuf)>) -> Result<Mnist> {
        let mut parts = parts.into_iter();
        let mut next = || parts.next().expect("four files");
        let (train_images, train_images_path) = next();
        let (train_labels, train_labels_path) = next();
        let (test_images, test_images_path) = next();
        let (test_labels, test_labels_path) = next();
        let train_labels = labels(train_labels, &train_labels_path)?;
        let test_labels = labels(test_labels, &test_labels_path)?;
        let n_classes = n_classes(&train_labels, &test_labels);
        let train = images(
            train_images,
            &train_images_path,
            train_labels,
            &train_labels_path,
            n_classes,
        )?;
        let test = images(
            test_images,
            &test_images_path,
            test_labels,
            &test_labels_path,
            n_classes,
        )?;
        if train.n_inputs() != test.n_inputs() {
            return Err(Error::Dataset(format!(
                "{} has images of {} pixels but {} has {}",
                train_images_path.display(),
                train.n_inputs(),
                test_images_path.display(),
                test.n_inputs()
            )));
        }
        Ok(Mnist { train, test })
    }
}

/// The four files compiled in, each with the name its errors give.
#[cfg(all(feature = "bundled-mnist", mnist_files))]
fn bundled_files() -> [(&'static [u8], &'static str); 4] {
    macro_rules! file {
        ($name:literal) => {
            (
                include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist/", $name))
                    .as_slice(),
                concat!("data/mnist/", $name),
            )
        };
    }
    [
        file!("train-images-idx3-ubyte.gz"),
        file!("train-labels-idx1-ubyte.gz"),
        file!("t10k-images-idx3-ubyte.gz"),
        file!("t10k-labels-idx1-ubyte.gz"),
    ]
}

/// Reads the four files, `read(i)` for each of [`FILES`], the training images on a second
/// thread: inflating them is most of loading MNIST (9.7 of its 11.4 compressed MB), and the
/// other three take about as long as a sixth of it. The first error in file order wins, as if
/// they had been read one after another.
fn read_four(read: impl Fn(usize) -> Result<(Idx, PathBuf)> + Sync) -> Result<Vec<(Idx, PathBuf)>> {
    std::thread::scope(|s| {
        let train_images = s.spawn(|| read(0));
        let rest: Vec<_> = (1..FILES.len()).map(&read).collect();
        let train_images = train_images
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        std::iter::once(train_images).chain(rest).collect()
    })
}

/// The test set from the training labels, the test images and the test labels (in that
/// order), with as many classes as [`Mnist::from_parts`] would give it.
fn test_from_parts(parts: Vec<(Idx, PathBuf)>) -> Result<Dataset> {
    let mut parts = parts.into_iter();
    let mut next = || parts.next().expect("three files");
    let (train_labels, train_labels_path) = next();
    let (test_images, test_images_path) = next();
    let (test_labels, test_labels_path) = next();
    let train_labels = labels(train_labels, &train_labels_path)?;
    let test_labels = labels(test_labels, &test_labels_path)?;
    let n_classes = n_classes(&train_labels, &test_labels);
    images(
        test_images,
        &test_images_path,
        test_labels,
        &test_labels_path,
        n_classes,
    )
}

/// The paths of the four files of [`FILES`] in `dir`, in that order.
fn find_all(dir: &Path) -> Result<Vec<PathBuf>> {
    FILES
        .iter()
        .map(|(stem, kind)| find(dir, stem, kind))
        .collect()
}

/// The path of one of the four files in `dir`, under any accepted spelling.
fn find(dir: &Path, stem: &str, kind: &str) -> Result<PathBuf> {
    let names = [
        format!("{stem}-{kind}-ubyte.gz"),
        format!("{stem}-{kind}-ubyte"),
        format!("{stem}.{kind}-ubyte.gz"),
        format!("{stem}.{kind}-ubyte"),
    ];
    if !dir.is_dir() {
        return Err(Error::Dataset(format!(
            "{}: no such directory",
            dir.display()
        )));
    }
    names
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::Dataset(format!(
                "{}: no {stem} file (looked for {}-{kind}-ubyte[.gz] and {}.{kind}-ubyte[.gz])",
                dir.display(),
                stem,
                stem
            ))
        })
}

/// Largest label of either set + 1: the classes both sets are counted in.
fn n_classes(train_labels: &[u32], test_labels: &[u32]) -> usize {
    train_labels
        .iter()
        .chain(test_labels)
        .max()
        .map_or(0, |&m| m as usize + 1)
}

fn labels(idx: Idx, path: &Path) -> Result<Vec<u32>> {
    if idx.dims.len() != 1 {
        return Err(Error::Idx {
            path: path.to_path_buf(),
            reason: format!(
                "labels must be a rank-1 IDX file, found dimensions {:?}",
                idx.dims
            ),
        });
    }
    if idx.data.is_empty() {
        return Err(Error::Idx {
            path: path.to_path_buf(),
            reason: "no labels".into(),
        });
    }
    Ok(idx.data.into_iter().map(u32::from).collect())
}

fn images(
    idx: Idx,
    path: &Path,
    labels: Vec<u32>,
    labels_path: &Path,
    n_classes: usize,
) -> Result<Dataset> {
    let err = |reason: String| Error::Idx {
        path: path.to_path_buf(),
        reason,
    };
    let (n, rows, cols) = match idx.dims[..] {
        [n, rows, cols] => (n, rows, cols),
        [n, features] => (n, 1, features),
        _ => {
            return Err(err(format!(
                "images must be a rank-3 IDX file, found dimensions {:?}",
                idx.dims
            )))
        }
    };
    if n == 0 || rows * cols == 0 {
        return Err(err(format!("no images: dimensions {:?}", idx.dims)));
    }
    if n != labels.len() {
        return Err(Error::Dataset(format!(
            "{} has {n} images but {} has {} labels",
            path.display(),
            labels_path.display(),
            labels.len()
        )));
    }
    Dataset::from_bytes(idx.data, labels, rows * cols, n_classes)?.with_image_shape(rows, cols)
}
