//! The IDX parser and MNIST-style directories, on hand-made good and malformed files, and the
//! bundled MNIST itself.

use crate::common;

use backprop::data::read_idx;
use backprop::{Error, Mnist};
use common::{gz, idx, write_toy_dataset};

#[test]
fn raw_and_gzipped_files_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let raw = idx(&[2, 3], &[1, 2, 3, 4, 5, 6]);
    std::fs::write(dir.path().join("a"), &raw).unwrap();
    // A gzipped file is recognised by its content, whatever its name.
    std::fs::write(dir.path().join("b.raw"), gz(&raw)).unwrap();
    let a = read_idx(&dir.path().join("a")).unwrap();
    let b = read_idx(&dir.path().join("b.raw")).unwrap();
    assert_eq!(a.dims, vec![2, 3]);
    assert_eq!(a.data, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(a, b);
}

#[test]
fn malformed_files_get_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "empty file"),
        (
            "magic",
            vec![0x12, 0x34, 0x08, 0x03, 0, 0, 0, 0],
            "bad IDX magic 0x12340803",
        ),
        ("type", vec![0, 0, 0x0b, 1, 0, 0, 0, 0], "element type 0x0b"),
        (
            "truncated",
            idx(&[10, 28, 28], &[0; 100]),
            "promises 7840 bytes of data, the file has 100",
        ),
        (
            "trailing",
            idx(&[2], &[1, 2, 3]),
            "promises 2 bytes of data, the file has 3",
        ),
        (
            "huge",
            idx(&[4_000_000_000, 28, 28], &[0; 1000]),
            "promises 3136000000000 bytes of data, the file has 1000",
        ),
        (
            "huge.gz",
            gz(&idx(&[4_000_000_000, 28, 28], &[0; 1000])),
            "the file has 1000",
        ),
        (
            "short-header",
            vec![0, 0, 8, 3, 0, 0],
            "truncated IDX header",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = read_idx(&path).unwrap_err();
        assert!(matches!(err, Error::Idx { .. }), "{name}: {err:?}");
        let msg = err.to_string();
        assert!(msg.starts_with(&path.display().to_string()), "{msg}");
        assert!(
            msg.contains(expected),
            "{name}: {msg:?} should contain {expected:?}"
        );
        assert!(!msg.contains('\n'), "one line: {msg:?}");
    }
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = read_idx("/nonexistent/t10k-images-idx3-ubyte".as_ref()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/t10k-images-idx3-ubyte: "),
        "{err}"
    );
}

#[test]
fn directories_in_both_spellings_load_with_size_and_classes_from_the_files() {
    for raw_dot_names in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        write_toy_dataset(dir.path(), 5, 7, 3, raw_dot_names);
        let data = Mnist::load_dir(dir.path()).unwrap();
        assert_eq!((data.train.len(), data.test.len()), (600, 200));
        assert_eq!(data.train.n_inputs(), 35);
        assert_eq!(data.train.image_shape(), Some((5, 7)));
        assert_eq!(data.train.n_classes(), 3);
    }
}

#[test]
fn inconsistent_directories_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write_toy_dataset(dir.path(), 4, 4, 2, true);
    std::fs::write(
        dir.path().join("t10k-labels.idx1-ubyte"),
        idx(&[199], &[0; 199]),
    )
    .unwrap();
    let msg = Mnist::load_dir(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("t10k-images.idx3-ubyte has 200 images but"),
        "{msg}"
    );
    assert!(
        msg.contains("t10k-labels.idx1-ubyte has 199 labels"),
        "{msg}"
    );

    std::fs::write(
        dir.path().join("t10k-labels.idx1-ubyte"),
        idx(&[200], &[0; 200]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("t10k-images.idx3-ubyte"),
        idx(&[200, 5, 4], &[0; 4000]),
    )
    .unwrap();
    let msg = Mnist::load_dir(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("images of 16 pixels but") && msg.contains("has 20"),
        "{msg}"
    );

    std::fs::write(
        dir.path().join("t10k-images.idx3-ubyte"),
        idx(&[200, 16], &[0; 3200]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("train-labels.idx1-ubyte"),
        idx(&[600, 1], &[0; 600]),
    )
    .unwrap();
    let msg = Mnist::load_dir(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("train-labels.idx1-ubyte: labels must be a rank-1 IDX file"),
        "{msg}"
    );

    std::fs::remove_file(dir.path().join("train-labels.idx1-ubyte")).unwrap();
    let msg = Mnist::load_dir(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("no train-labels file"), "{msg}");
}

#[test]
fn the_bundled_mnist_is_the_real_one() {
    // Counts and first labels from data/mnist/README.md.
    let m = Mnist::bundled().unwrap();
    assert_eq!((m.train.len(), m.test.len()), (60_000, 10_000));
    assert_eq!(m.train.image_shape(), Some((28, 28)));
    assert_eq!(m.train.n_classes(), 10);
    assert_eq!(
        m.train.class_counts(),
        vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        m.test.class_counts(),
        vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(&m.train.labels()[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(&m.test.labels()[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    // The files on disk say the same as the embedded copy.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");
    let on_disk = Mnist::load_dir(dir.as_ref()).unwrap();
    assert!(on_disk == m);
    // The test set alone (what eval and serve load) is the same test set.
    assert!(Mnist::bundled_test().unwrap() == m.test);
    assert!(Mnist::load_test_dir(dir.as_ref()).unwrap() == m.test);
}

#[test]
fn the_test_set_alone_has_the_classes_of_both_sets_and_the_same_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_toy_dataset(dir.path(), 4, 4, 3, false);
    let both = Mnist::load_dir(dir.path()).unwrap();
    let test = Mnist::load_test_dir(dir.path()).unwrap();
    assert!(test == both.test);
    assert_eq!(test.n_classes(), 3);
    // The training images are not read, but every file must be there, as for load_dir.
    std::fs::remove_file(dir.path().join("train-images-idx3-ubyte.gz")).unwrap();
    let msg = Mnist::load_test_dir(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("no train-images file"), "{msg}");
}

/// Replays what the fuzzer kept (`fuzz/seeds/idx`, `fuzz/corpus/idx`) on a stable toolchain
/// without cargo-fuzz: every input parses to exactly `product(dims)` bytes or gets a one-line
/// error naming the file.
#[test]
fn the_fuzz_corpus_parses_or_fails_in_one_line() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in ["fuzz/seeds/idx", "fuzz/corpus/idx"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            match backprop::data::idx::parse_idx_bytes(&path, &bytes) {
                Ok(idx) => assert_eq!(idx.data.len(), idx.dims.iter().product::<usize>()),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
                    assert!(!msg.contains('\n'), "{msg:?}");
                }
            }
            n += 1;
        }
    }
    assert!(n > 100, "only {n} inputs: is fuzz/corpus/idx there?");
}
