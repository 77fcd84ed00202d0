//! Model files: round trips, atomic saves, and every kind of bad file.

use backprop::{model_io, Activation, Architecture, Cost, Init, Network};
use std::collections::HashMap;
use std::io::{ErrorKind, Write};
use std::path::Path;

fn small_net() -> Network<f32> {
    let arch = Architecture::uniform(
        vec![4, 3, 2],
        Activation::Tanh,
        Activation::Softmax,
        Cost::LogLikelihood,
    );
    Network::new(&arch, Init::Normal, 3).unwrap()
}

#[test]
fn save_then_load_gives_the_same_network() {
    let dir = tempfile::tempdir().unwrap();
    for net in [
        small_net(),
        Network::new(&Architecture::notes(), Init::Normal, 1).unwrap(),
    ] {
        let path = dir.path().join("m.safetensors");
        model_io::save(&net, &path).unwrap();
        assert_eq!(model_io::load(&path).unwrap(), net);
    }
    // Nothing but the model is left in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn the_file_is_plain_safetensors_with_the_architecture_in_its_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let net = small_net();
    model_io::save(&net, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    // Header: 8-byte little-endian length, then JSON.
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(header["layers.0.weight"]["dtype"], "F32");
    assert_eq!(
        header["layers.0.weight"]["shape"],
        serde_json::json!([3, 4])
    );
    assert_eq!(header["layers.1.bias"]["shape"], serde_json::json!([2]));
    let arch: serde_json::Value =
        serde_json::from_str(header["__metadata__"]["architecture"].as_str().unwrap()).unwrap();
    assert_eq!(
        arch,
        serde_json::json!({"sizes": [4, 3, 2], "activations": ["tanh", "softmax"], "cost": "log-likelihood"})
    );
    // w_jk is at [j, k]: row j of layers.0.weight is neuron j's incoming weights.
    let start = 8
        + n
        + header["layers.0.weight"]["data_offsets"][0]
            .as_u64()
            .unwrap() as usize;
    let w_12 = f32::from_le_bytes(
        bytes[start + 4 * (4 + 2)..start + 4 * (4 + 3)]
            .try_into()
            .unwrap(),
    );
    assert_eq!(w_12, net.layers[0].w(1, 2));
}

#[test]
fn a_failed_save_keeps_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let good = small_net();
    model_io::save(&good, &path).unwrap();
    let before = std::fs::read(&path).unwrap();

    // A network with a NaN is refused, and nothing is written.
    let mut bad = good.clone();
    bad.layers[1].biases[0] = f32::NAN;
    let err = model_io::save(&bad, &path).unwrap_err();
    assert!(
        err.to_string()
            .contains("refusing to save a network with NaN"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // The rename fails (the target is a non-empty directory): the temporary file is cleaned up.
    let target = dir.path().join("occupied");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"x").unwrap();
    assert!(model_io::save(&good, &target).is_err());
    assert!(target.join("keep").exists());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // The directory does not exist: an error naming the path.
    let err = model_io::save(&good, &dir.path().join("no/such/dir/m.safetensors")).unwrap_err();
    assert!(
        err.to_string().contains("no/such/dir/m.safetensors"),
        "{err}"
    );
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_save_that_fails_midway_keeps_the_previous_file_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    model_io::save(&small_net(), &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let big = Network::new(&Architecture::notes(), Init::Normal, 1).unwrap();
    let new = model_io::to_bytes(&big).unwrap();

    // The disk fills up after 20,000 of the new model's 52,000 bytes: more than the write
    // buffer holds, so part of the new model really reached the temporary file.
    let disk_full = || std::io::Error::new(ErrorKind::StorageFull, "No space left on device");
    let err = model_io::write_atomically_with(&path, |file| {
        file.write_all(&new[..20_000])?;
        Err(disk_full())
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: No space left on device", path.display())
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(names(dir.path()), ["m.safetensors"]);

    // The writer fails on its first byte.
    let failing = |_: &mut dyn Write| Err(disk_full());
    assert!(model_io::write_atomically_with(&path, failing).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(names(dir.path()), ["m.safetensors"]);

    // The code producing the file panics halfway.
    let panicked = std::panic::catch_unwind(|| {
        model_io::write_atomically_with(&path, |file| {
            file.write_all(&new[..20_000])?;
            panic!("crash in the middle of a save");
        })
    });
    assert!(panicked.is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(names(dir.path()), ["m.safetensors"]);

    // With no previous file, a failed save leaves none.
    let fresh = dir.path().join("fresh.safetensors");
    assert!(model_io::write_atomically_with(&fresh, |_| Err(disk_full())).is_err());
    assert_eq!(names(dir.path()), ["m.safetensors"]);

    // A failure from the file system itself, which permission bits cannot give when the tests
    // run as root: the parent of the target is a regular file.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, b"x").unwrap();
    let err = model_io::save(&big, &blocker.join("m.safetensors")).unwrap_err();
    assert!(err.to_string().contains("Not a directory"), "{err}");
    assert_eq!(std::fs::read(&blocker).unwrap(), b"x");

    // And a save that succeeds replaces the file whole.
    model_io::save(&big, &path).unwrap();
    assert_eq!(model_io::load(&path).unwrap(), big);
    assert_eq!(names(dir.path()), ["blocker", "m.safetensors"]);
}

#[test]
fn concurrent_saves_to_one_path_leave_one_whole_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let nets: Vec<_> = (0..4)
        .map(|seed| Network::new(&Architecture::notes(), Init::Normal, seed).unwrap())
        .collect();
    std::thread::scope(|s| {
        for net in &nets {
            let path = &path;
            s.spawn(move || {
                for _ in 0..5 {
                    model_io::save(net, path).unwrap();
                }
            });
        }
    });
    assert!(nets.contains(&model_io::load(&path).unwrap()));
    assert_eq!(names(dir.path()), ["m.safetensors"]);
}

/// Safetensors bytes with the given tensors (name, dtype, shape, raw data) and metadata.
fn file(
    tensors: &[(&str, &str, Vec<usize>, Vec<u8>)],
    metadata: Option<HashMap<&str, String>>,
) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        let start = data.len();
        data.extend_from_slice(bytes);
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    if let Some(m) = metadata {
        header.insert("__metadata__".into(), serde_json::json!(m));
    }
    let header = serde_json::to_vec(&header).unwrap();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header);
    out.extend(data);
    out
}

fn f32s(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn arch_meta(json: &str) -> Option<HashMap<&'static str, String>> {
    Some(HashMap::from([("architecture", json.to_string())]))
}

const ARCH_2_1: &str = r#"{"sizes":[2,1],"activations":["sigmoid"],"cost":"quadratic"}"#;

/// Safetensors bytes with a header written by hand, for claims `file` cannot make.
fn raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// The 784-30-10 network's tensors, all zero.
fn tensors_784_30_10() -> Vec<(&'static str, &'static str, Vec<usize>, Vec<u8>)> {
    vec![
        (
            "layers.0.weight",
            "F32",
            vec![30, 784],
            vec![0; 4 * 30 * 784],
        ),
        ("layers.0.bias", "F32", vec![30], vec![0; 4 * 30]),
        ("layers.1.weight", "F32", vec![10, 30], vec![0; 4 * 10 * 30]),
        ("layers.1.bias", "F32", vec![10], vec![0; 4 * 10]),
    ]
}

/// Every class of bad model file, with the exact one-line message `load` gives (and the CLI
/// prints after `error: `): the file, then the problem.
fn bad_model_files() -> Vec<(&'static str, Vec<u8>, String)> {
    let good_w = ("layers.0.weight", "F32", vec![1, 2], f32s(&[0.5, -0.5]));
    let good_b = ("layers.0.bias", "F32", vec![1], f32s(&[0.1]));
    let good = file(&[good_w.clone(), good_b.clone()], arch_meta(ARCH_2_1));
    let with_weight = |dtype: &'static str, bytes: Vec<u8>| {
        file(
            &[
                ("layers.0.weight", dtype, vec![1, 2], bytes),
                good_b.clone(),
            ],
            arch_meta(ARCH_2_1),
        )
    };
    let arch = |json: &str| file(&[good_w.clone(), good_b.clone()], arch_meta(json));
    let garbage = b"hello, I am not a model at all".to_vec();
    let garbage_len = u64::from_le_bytes(garbage[..8].try_into().unwrap());
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"trailing garbage");
    let n_good = good.len();
    let too_big = file(
        &[],
        arch_meta(
            r#"{"sizes":[100000,1000,10],"activations":["sigmoid","sigmoid"],"cost":"quadratic"}"#,
        ),
    );
    let not = "not a valid safetensors file";
    vec![
        // Not safetensors at all.
        (
            "empty",
            vec![],
            format!("{not}: 0 bytes, too short for the 8-byte header length"),
        ),
        (
            "garbage",
            garbage,
            format!("{not}: the header length {garbage_len} is more than the limit of 16777216 bytes"),
        ),
        // A huge header: the length is checked against a cap, and against the file, before
        // anything of that size exists.
        (
            "huge-header",
            [(1u64 << 40).to_le_bytes().as_slice(), b"{}"].concat(),
            format!("{not}: the header length 1099511627776 is more than the limit of 16777216 bytes"),
        ),
        (
            "header-beyond-the-file",
            [1000u64.to_le_bytes().as_slice(), b"{}"].concat(),
            format!("{not}: the header length is 1000 bytes, but only 2 bytes follow it"),
        ),
        (
            "header-not-json",
            raw("{\"layers.0.weight\": {", b""),
            format!("{not}: bad header: EOF while parsing an object at line 1 column 21"),
        ),
        // Truncated, or with trailing garbage.
        (
            "truncated",
            good[..n_good - 3].to_vec(),
            "truncated: the header's tensors need 12 bytes of data, the file has 9".into(),
        ),
        (
            "trailing-garbage",
            trailing,
            format!(
                "{not}: the file goes on after the tensors' data, which ends at byte {n_good}"
            ),
        ),
        // Absurd shapes: 2^40 elements claimed with nothing behind them, and a shape whose
        // size does not even fit in 64 bits.
        (
            "absurd-shape",
            raw(
                r#"{"layers.0.weight":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,4398046511104]}}"#,
                &[0; 16],
            ),
            "truncated: the header's tensors need 4398046511104 bytes of data, the file has 16"
                .into(),
        ),
        (
            "overflowing-shape",
            raw(
                r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#,
                &[0; 4],
            ),
            format!(
                "{not}: bad header: overflow computing buffer size from shape and/or element type"
            ),
        ),
        (
            "offsets-contradict-shape",
            raw(
                r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,4]}}"#,
                &[0; 4],
            ),
            format!("{not}: bad header: invalid shape, data type, or offset for tensor"),
        ),
        // The architecture: missing, not JSON, unknown names, impossible, absurd.
        (
            "no-metadata",
            file(&[good_w.clone(), good_b.clone()], None),
            "no \"architecture\" in the safetensors metadata: not a backprop model".into(),
        ),
        (
            "bad-arch-json",
            arch("{\"sizes\":"),
            "bad architecture in the metadata: EOF while parsing a value at line 1 column 9".into(),
        ),
        (
            "unknown-activation",
            arch(r#"{"sizes":[2,1],"activations":["swish"],"cost":"quadratic"}"#),
            "bad architecture in the metadata: unknown variant `swish`, expected one of \
             `sigmoid`, `tanh`, `relu`, `leaky-relu`, `identity`, `softmax` at line 1 column 37"
                .into(),
        ),
        (
            "activations-do-not-match-sizes",
            arch(r#"{"sizes":[2,1],"activations":["sigmoid","sigmoid"],"cost":"quadratic"}"#),
            "bad architecture in the metadata: invalid configuration: 1 layers after the input \
             need 1 activations, got 2"
                .into(),
        ),
        // 4e9·4e9 + 4e9 + 10·4e9 + 10 = 16000000044000000010 parameters, refused before any
        // allocation.
        (
            "absurd-sizes",
            file(
                &[],
                arch_meta(
                    r#"{"sizes":[4000000000,4000000000,10],"activations":["sigmoid","sigmoid"],"cost":"quadratic"}"#,
                ),
            ),
            "bad architecture in the metadata: invalid configuration: sizes [4000000000, \
             4000000000, 10] need 16000000044000000010 parameters, more than the limit of 1073741824"
                .into(),
        ),
        (
            "too-big-for-the-file",
            too_big.clone(),
            format!(
                "the architecture 100000-1000-10 needs 100011010 parameters, more than the file's \
                 {} bytes can hold",
                too_big.len()
            ),
        ),
        // Metadata that contradicts the tensors.
        (
            "metadata-contradicts-tensors",
            file(
                &tensors_784_30_10(),
                arch_meta(
                    r#"{"sizes":[784,16,10],"activations":["sigmoid","sigmoid"],"cost":"quadratic"}"#,
                ),
            ),
            "tensor layers.0.weight has shape [30, 784], the architecture 784-16-10 needs [16, 784]"
                .into(),
        ),
        (
            "wrong-shape",
            file(
                &[
                    ("layers.0.weight", "F32", vec![2, 1], f32s(&[1.0, 2.0])),
                    good_b.clone(),
                ],
                arch_meta(ARCH_2_1),
            ),
            "tensor layers.0.weight has shape [2, 1], the architecture 2-1 needs [1, 2]".into(),
        ),
        // Missing and extra tensors.
        (
            "missing-tensor",
            file(std::slice::from_ref(&good_w), arch_meta(ARCH_2_1)),
            "tensor layers.0.bias is missing (the architecture has 1 layers)".into(),
        ),
        (
            "extra-tensor",
            file(
                &[
                    good_w.clone(),
                    good_b.clone(),
                    ("layers.1.weight", "F32", vec![1], f32s(&[1.0])),
                ],
                arch_meta(ARCH_2_1),
            ),
            "unexpected tensor layers.1.weight for the architecture 2-1".into(),
        ),
        // Wrong dtypes, including ones of the same size as F32.
        (
            "f64",
            with_weight("F64", vec![0; 16]),
            "tensor layers.0.weight is F64, expected F32".into(),
        ),
        (
            "i32",
            with_weight("I32", vec![0; 8]),
            "tensor layers.0.weight is I32, expected F32".into(),
        ),
        (
            "bf16",
            with_weight("BF16", vec![0; 4]),
            "tensor layers.0.weight is BF16, expected F32".into(),
        ),
        // Values no network can hold.
        (
            "nan",
            with_weight("F32", f32s(&[1.0, f32::NAN])),
            "tensor layers.0.weight has a non-finite value at index 1".into(),
        ),
        (
            "infinity",
            file(
                &[good_w.clone(), ("layers.0.bias", "F32", vec![1], f32s(&[f32::NEG_INFINITY]))],
                arch_meta(ARCH_2_1),
            ),
            "tensor layers.0.bias has a non-finite value at index 0".into(),
        ),
    ]
}

#[test]
fn bad_model_files_get_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, reason) in bad_model_files() {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let msg = model_io::load(&path).unwrap_err().to_string();
        assert_eq!(msg, format!("{}: {reason}", path.display()), "{name}");
        // The bytes-level entry point the fuzzer drives says the same, without the file name.
        assert_eq!(model_io::from_bytes(&bytes).unwrap_err(), reason, "{name}");
    }
    // And the good file loads.
    let path = dir.path().join("good");
    let good = file(
        &[
            ("layers.0.weight", "F32", vec![1, 2], f32s(&[0.5, -0.5])),
            ("layers.0.bias", "F32", vec![1], f32s(&[0.1])),
        ],
        arch_meta(ARCH_2_1),
    );
    std::fs::write(&path, good).unwrap();
    let net = model_io::load(&path).unwrap();
    assert_eq!(net.layers[0].weights, vec![0.5, -0.5]);
    assert_eq!(net.layers[0].biases, vec![0.1]);
}

/// `backprop eval` and `backprop inspect` on every bad file: exit code 1, no panic, and one line
/// on stderr, the library's message after `error: `.
#[test]
fn the_cli_refuses_bad_model_files_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, reason) in bad_model_files() {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let expected = format!("error: {}: {reason}\n", path.display());
        for args in [vec!["inspect"], vec!["eval", "--model"]] {
            let out = assert_cmd::Command::cargo_bin("backprop")
                .unwrap()
                .args(&args)
                .arg(&path)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "{name} {args:?}");
            assert_eq!(String::from_utf8_lossy(&out.stderr), expected, "{args:?}");
            assert!(out.stdout.is_empty(), "{name} {args:?}");
        }
    }
}

/// The loader reads no more than the header promises. A valid model followed by an endless
/// stream (a named pipe whose writer never stops) is refused after one byte past the model;
/// reading the whole file would never return, or exhaust memory.
#[cfg(unix)]
#[test]
fn an_endless_file_is_not_read_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("endless.safetensors");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success(), "mkfifo");
    let model = model_io::to_bytes(&small_net()).unwrap();
    let n = model.len();
    let writer = std::thread::spawn({
        let fifo = fifo.clone();
        move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            f.write_all(&model).unwrap();
            // Up to 256 MiB of zeros, until the reader hangs up.
            let mut written = n;
            while written < n + (256 << 20) && f.write_all(&[0; 4096]).is_ok() {
                written += 4096;
            }
            written
        }
    });
    let msg = model_io::load(&fifo).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!(
            "{}: not a valid safetensors file: the file goes on after the tensors' data, which \
             ends at byte {n}",
            fifo.display()
        )
    );
    drop(msg);
    let written = writer.join().unwrap();
    // What the pipe and the read buffer hold, not the 256 MiB on offer.
    assert!(written < n + (1 << 20), "{written} bytes were written");

    // /dev/zero is endless too: its first 8 bytes say the header is empty, which is not JSON.
    let msg = model_io::load(Path::new("/dev/zero"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "/dev/zero: not a valid safetensors file: bad header: EOF while parsing a value at line 1 \
         column 0"
    );
}

#[test]
fn the_committed_fuzz_seeds_that_are_valid_load() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/model");
    // saved-*: written by model_io::save; valid-*: by hand, in the same format.
    for (name, sizes) in [
        ("saved-4-3-2", vec![4, 3, 2]),
        ("saved-2-2-1", vec![2, 2, 1]),
        ("valid-4-3-2", vec![4, 3, 2]),
        ("valid-2-1", vec![2, 1]),
        ("valid-3-2-2-2", vec![3, 2, 2, 2]),
    ] {
        let net = model_io::load(&seeds.join(name)).unwrap();
        assert_eq!(net.architecture().sizes, sizes, "{name}");
    }
}

/// The notes' network needs a header far below [`model_io::MAX_HEADER_BYTES`].
#[test]
fn the_header_cap_leaves_room() {
    let net = Network::new(&Architecture::notes(), Init::Normal, 1).unwrap();
    let bytes = model_io::to_bytes(&net).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    assert!(n < 1000, "{n}");
    assert!(n * 10_000 < model_io::MAX_HEADER_BYTES);
}

#[test]
fn a_missing_model_file_is_named() {
    let msg = model_io::load(Path::new("/nonexistent/m.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("/nonexistent/m.safetensors: "), "{msg}");
}

/// Replays what the fuzzer kept (`fuzz/seeds/model`, `fuzz/corpus/model`) on a stable toolchain
/// without cargo-fuzz: every input loads or gets a one-line reason.
#[test]
fn the_fuzz_corpus_loads_or_fails_in_one_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut n, mut loaded) = (0, 0);
    for dir in ["fuzz/seeds/model", "fuzz/corpus/model"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            match model_io::from_bytes(&std::fs::read(&path).unwrap()) {
                Ok(net) => {
                    assert!(net.is_finite());
                    loaded += 1;
                }
                Err(reason) => {
                    assert!(!reason.is_empty() && !reason.contains('\n'), "{reason:?}");
                }
            }
            n += 1;
        }
    }
    assert!(n > 100, "only {n} inputs: is fuzz/corpus/model there?");
    assert!(loaded >= 3, "the valid seeds load");
}
