//! Model files: round trips, atomic saves, and every kind of bad file.

use backprop::{model_io, Activation, Architecture, Cost, Init, Network};
use std::collections::HashMap;
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

#[test]
fn bad_model_files_get_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good_w = ("layers.0.weight", "F32", vec![1, 2], f32s(&[0.5, -0.5]));
    let good_b = ("layers.0.bias", "F32", vec![1], f32s(&[0.1]));
    let mut huge_header = (1u64 << 40).to_le_bytes().to_vec();
    huge_header.extend_from_slice(b"{}");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "not a valid safetensors file"),
        (
            "garbage",
            b"hello, I am not a model at all".to_vec(),
            "not a valid safetensors file",
        ),
        ("huge-header", huge_header, "not a valid safetensors file"),
        (
            "no-metadata",
            file(&[good_w.clone(), good_b.clone()], None),
            "no \"architecture\" in the safetensors metadata",
        ),
        (
            "bad-arch-json",
            file(&[good_w.clone(), good_b.clone()], arch_meta("{\"sizes\":")),
            "bad architecture",
        ),
        (
            "unknown-activation",
            file(
                &[good_w.clone(), good_b.clone()],
                arch_meta(r#"{"sizes":[2,1],"activations":["swish"],"cost":"quadratic"}"#),
            ),
            "bad architecture",
        ),
        (
            "absurd-sizes",
            file(
                &[],
                arch_meta(
                    r#"{"sizes":[4000000000,4000000000,10],"activations":["sigmoid","sigmoid"],"cost":"quadratic"}"#,
                ),
            ),
            "more than the limit",
        ),
        (
            "too-big-for-the-file",
            file(
                &[],
                arch_meta(
                    r#"{"sizes":[100000,1000,10],"activations":["sigmoid","sigmoid"],"cost":"quadratic"}"#,
                ),
            ),
            "needs 100011010 parameters, more than the file's",
        ),
        (
            "missing-tensor",
            file(std::slice::from_ref(&good_w), arch_meta(ARCH_2_1)),
            "tensor layers.0.bias is missing",
        ),
        (
            "wrong-dtype",
            file(
                &[
                    ("layers.0.weight", "F64", vec![1, 2], vec![0; 16]),
                    good_b.clone(),
                ],
                arch_meta(ARCH_2_1),
            ),
            "tensor layers.0.weight is F64, expected F32",
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
            "tensor layers.0.weight has shape [2, 1], the architecture 2-1 needs [1, 2]",
        ),
        (
            "nan",
            file(
                &[
                    ("layers.0.weight", "F32", vec![1, 2], f32s(&[1.0, f32::NAN])),
                    good_b.clone(),
                ],
                arch_meta(ARCH_2_1),
            ),
            "tensor layers.0.weight has a non-finite value at index 1",
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
            "unexpected tensor layers.1.weight",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let msg = model_io::load(&path).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{}: ", path.display())), "{msg}");
        assert!(
            msg.contains(expected),
            "{name}: {msg:?} should contain {expected:?}"
        );
        assert!(!msg.contains('\n'), "{msg:?}");
    }
    // And the good file loads.
    let path = dir.path().join("good");
    std::fs::write(&path, file(&[good_w, good_b], arch_meta(ARCH_2_1))).unwrap();
    let net = model_io::load(&path).unwrap();
    assert_eq!(net.layers[0].weights, vec![0.5, -0.5]);
}

#[test]
fn a_missing_model_file_is_named() {
    let msg = model_io::load(Path::new("/nonexistent/m.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("/nonexistent/m.safetensors: "), "{msg}");
}
