//! ONNX export (`backprop export --out M.onnx`, [`backprop::onnx`]): the files are checked by the
//! real onnx checker and run by the real onnxruntime, which must answer what backprop answers to
//! 1e-4, through `tests/onnx_check.py`.
//!
//! The Python comes from `BACKPROP_PYTHON`, else `.ci/venv/bin/python` (made by
//! `scripts/install-onnx-check.sh`). Without one that imports onnx and onnxruntime the test says
//! NOT RUN and passes, unless `BACKPROP_REQUIRE_ONNX` is set (as `.ci/run` does): then it fails.
//! The other tests here read the bytes back in Rust and need nothing.

use assert_cmd::Command;
use backprop::model_io::{self, ModelInfo};
use backprop::{
    onnx, Activation, Architecture, Cost, Error, Init, Mlp, Mnist, Model, Network, Rng,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn backprop_cmd() -> Command {
    Command::cargo_bin("backprop").unwrap()
}

/// The Python that runs tests/onnx_check.py, or why there is none.
fn python() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/venv/bin/python");
    let python = match std::env::var_os("BACKPROP_PYTHON") {
        Some(p) => PathBuf::from(p),
        None if venv.exists() => venv,
        None => {
            return Err(format!(
                "no Python with onnx and onnxruntime: BACKPROP_PYTHON is not set and {} is missing",
                venv.display()
            ))
        }
    };
    let probe = std::process::Command::new(&python)
        .args(["-c", "import onnx, onnxruntime, numpy"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !probe.status.success() {
        let stderr = String::from_utf8_lossy(&probe.stderr);
        return Err(format!(
            "{} cannot import onnx, onnxruntime and numpy ({})",
            python.display(),
            stderr.trim().lines().last().unwrap_or("no message")
        ));
    }
    Ok(python)
}

fn onnx_required() -> bool {
    std::env::var_os("BACKPROP_REQUIRE_ONNX").is_some_and(|v| !v.is_empty() && v != "0")
}

/// One model for onnx_check.py: its file, some rows, and what backprop answers for them; the
/// script runs batches of the first 1 and 7 rows, and of all of them.
fn case(dir: &Path, name: &str, model: &Model, rows: &[Vec<f32>], metadata: Value) -> Value {
    let file = format!("{name}.onnx");
    onnx::save_onnx(&model.net, &model.info, &dir.join(&file)).unwrap();
    let flat: Vec<f32> = rows.concat();
    let outputs = model.outputs_batch(&flat).unwrap();
    let outputs: Vec<&[f32]> = outputs.chunks(model.net.n_outputs()).collect();
    let batches = [1, 7, rows.len()];
    json!({"name": name, "model": file, "inputs": rows, "outputs": outputs, "metadata": metadata,
           "batches": batches})
}

/// `n` rows of `width` values drawn from N(0, scale²) around `centre`, column by column.
fn random_rows(n: usize, centre: &[f32], scale: &[f32], seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            centre
                .iter()
                .zip(scale)
                .map(|(&c, &s)| c + s * rng.normal() as f32)
                .collect()
        })
        .collect()
}

/// Trains with the command-line tool on the bundled MNIST and loads the model.
fn train_on_mnist(dir: &Path, name: &str, flags: &[&str]) -> Model {
    let path = dir.join(format!("{name}.safetensors"));
    backprop_cmd()
        .current_dir(dir)
        .args(["train", "--epochs", "1", "--seed", "3"])
        .args(flags)
        .arg("--out")
        .arg(&path)
        .assert()
        .success();
    let (net, info) = model_io::load_with_info(&path).unwrap();
    Model::new(net, info).unwrap()
}

#[test]
fn onnxruntime_answers_what_backprop_answers_for_every_kind_of_model() {
    let python = match python() {
        Ok(p) => p,
        Err(why) if onnx_required() => panic!("{why}; BACKPROP_REQUIRE_ONNX is set"),
        Err(why) => {
            eprintln!("NOT RUN: {why}; scripts/install-onnx-check.sh makes .ci/venv");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mnist = Mnist::bundled().unwrap();
    // 300 digits: more than the 256 rows our batch calls take at once.
    let digits: Vec<Vec<f32>> = (0..300).map(|i| mnist.test.input(i).unwrap()).collect();
    let mut cases = Vec::new();

    // The notes' network, trained one epoch by `backprop train` (sigmoid, quadratic).
    let notes = train_on_mnist(d, "notes", &[]);
    assert_eq!(notes.net.architecture(), Architecture::notes());
    let arch = serde_json::to_string(&Architecture::notes()).unwrap();
    cases.push(case(
        d,
        "notes-784-16-16-10-sigmoid",
        &notes,
        &digits,
        json!({"architecture": arch}),
    ));

    // ReLU and softmax, as the `best` recipe has them.
    let relu = train_on_mnist(
        d,
        "relu",
        &[
            "--hidden",
            "64",
            "--activation",
            "relu",
            "--cost",
            "log-likelihood",
            "--optimizer",
            "adam",
            "--learning-rate",
            "0.001",
            "--init",
            "he",
        ],
    );
    assert_eq!(relu.net.layers[1].activation, Activation::Softmax);
    cases.push(case(d, "784-64-10-relu-softmax", &relu, &digits, json!({})));

    // tanh and the leaky ReLU, seeded random networks on inputs of both signs (the leaky
    // ReLU's output layer shows its slope α on the negative side).
    let inputs = random_rows(50, &[0.0; 6], &[2.0; 6], 11);
    for (hidden, output, seed) in [
        (Activation::Tanh, Activation::Identity, 5),
        (Activation::LeakyRelu, Activation::LeakyRelu, 6),
    ] {
        let arch = Architecture::uniform(vec![6, 12, 8, 3], hidden, output, Cost::Quadratic);
        let net = Network::<f32>::new(&arch, Init::Normal, seed).unwrap();
        let model = Model::new(net, ModelInfo::default()).unwrap();
        let name = format!("6-12-8-3-{hidden}-{output}");
        cases.push(case(d, &name, &model, &inputs, json!({})));
    }

    // A table classifier whose columns are on very different scales, standardised in front,
    // with class names.
    let centre = [1500.0, 0.02, -40.0, 3.0];
    let scale = [400.0, 0.01, 15.0, 1.0];
    let rows = random_rows(120, &centre, &scale, 21);
    let labels: Vec<u32> = rows
        .iter()
        .map(|r| u32::from(r[0] > 1500.0) + u32::from(r[1] + r[2] / 1000.0 > 0.0))
        .collect();
    let mut classifier = Mlp::classifier(&[8])
        .epochs(40)
        .seed(4)
        .fit(&rows, &labels)
        .unwrap();
    assert!(classifier.info.input_scaler.is_some());
    let names = vec!["low".to_string(), "middle".into(), "high".into()];
    classifier.info.class_names = Some(names.clone());
    let meta = json!({"class_names": serde_json::to_string(&names).unwrap(), "task": "classify"});
    cases.push(case(
        d,
        "table-classifier-standardised",
        &classifier,
        &rows,
        meta,
    ));

    // A regressor: inputs and target standardised, answers in the target's own units.
    let rows = random_rows(120, &centre, &scale, 22);
    let y: Vec<f32> = rows
        .iter()
        .map(|r| 20.0 + 0.01 * (r[0] - 1500.0) + 200.0 * r[1] - 0.1 * r[2] * r[3])
        .collect();
    let regressor = Mlp::regressor(&[8])
        .epochs(40)
        .seed(4)
        .fit(&rows, &y)
        .unwrap();
    assert!(regressor.info.input_scaler.is_some() && regressor.info.target_scaler.is_some());
    cases.push(case(
        d,
        "table-regressor-standardised",
        &regressor,
        &rows,
        json!({"task": "regress"}),
    ));

    std::fs::write(d.join("cases.json"), serde_json::to_vec(&cases).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx_check.py");
    let out = std::process::Command::new(&python)
        .arg(&script)
        .arg(d)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    eprintln!("{stdout}{stderr}");
    assert!(
        out.status.success(),
        "tests/onnx_check.py failed:\n{stdout}{stderr}"
    );
    assert!(stdout.contains("6 models: onnxruntime agrees"), "{stdout}");
}

// ---- The bytes themselves, read back in Rust ----

/// A field's value as the wire format carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// The fields of one protobuf message, in order (panics on anything an ONNX file of ours
/// should not contain).
fn fields(mut b: &[u8]) -> Vec<(u64, Wire<'_>)> {
    fn varint(b: &mut &[u8]) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = b.split_first().expect("a varint runs off the end");
            *b = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return v;
            }
        }
        panic!("a varint of more than ten bytes")
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b);
        let value = match key & 7 {
            0 => Wire::Varint(varint(&mut b)),
            2 => {
                let n = varint(&mut b) as usize;
                let (value, rest) = b.split_at(n);
                b = rest;
                Wire::Bytes(value)
            }
            5 => {
                let (value, rest) = b.split_at(4);
                b = rest;
                Wire::Fixed32(u32::from_le_bytes(value.try_into().unwrap()))
            }
            t => panic!("wire type {t}"),
        };
        out.push((key >> 3, value));
    }
    out
}

fn all(msg: &[u8], field: u64) -> Vec<&[u8]> {
    fields(msg)
        .into_iter()
        .filter(|(f, _)| *f == field)
        .map(|(_, v)| match v {
            Wire::Bytes(b) => b,
            other => panic!("field {field} is {other:?}"),
        })
        .collect()
}

fn one(msg: &[u8], field: u64) -> &[u8] {
    let v = all(msg, field);
    assert_eq!(v.len(), 1, "field {field}");
    v[0]
}

fn text(msg: &[u8], field: u64) -> &str {
    std::str::from_utf8(one(msg, field)).unwrap()
}

fn ints(msg: &[u8], field: u64) -> Vec<i64> {
    fields(msg)
        .into_iter()
        .filter(|(f, _)| *f == field)
        .map(|(_, v)| match v {
            Wire::Varint(v) => v as i64,
            other => panic!("field {field} is {other:?}"),
        })
        .collect()
}

#[test]
fn a_standardised_regressor_decodes_to_the_graph_we_meant() {
    let rows = [[1.0f32, 100.0], [2.0, 300.0], [3.0, 200.0], [4.0, 500.0]];
    let model = Mlp::regressor(&[3])
        .activation(Activation::Tanh)
        .epochs(2)
        .fit(&rows, &[10.0f32, 30.0, 20.0, 50.0])
        .unwrap();
    let bytes = onnx::to_onnx_bytes(&model.net, &model.info).unwrap();
    // Deterministic: the same model gives the same bytes.
    assert_eq!(bytes, onnx::to_onnx_bytes(&model.net, &model.info).unwrap());

    // ModelProto: ir_version 1, producer_name 2, producer_version 3, doc_string 6, graph 7,
    // opset_import 8, metadata_props 14.
    assert_eq!(ints(&bytes, 1), [8]);
    assert_eq!(text(&bytes, 2), "backprop");
    assert_eq!(text(&bytes, 3), env!("CARGO_PKG_VERSION"));
    assert!(
        text(&bytes, 6).contains("2-3-1 network"),
        "{}",
        text(&bytes, 6)
    );
    assert_eq!(ints(one(&bytes, 8), 2), [13]);
    let props: Vec<(&str, &str)> = all(&bytes, 14)
        .into_iter()
        .map(|e| (text(e, 1), text(e, 2)))
        .collect();
    assert!(props.contains(&("task", "regress")), "{props:?}");

    let graph = one(&bytes, 7);
    // NodeProto: input 1, output 2, op_type 4; the chain runs from "input" to "output".
    let nodes = all(graph, 1);
    let ops: Vec<&str> = nodes.iter().map(|n| text(n, 4)).collect();
    assert_eq!(ops, ["Sub", "Div", "Gemm", "Tanh", "Gemm", "Mul", "Add"]);
    let mut a = "input";
    for n in &nodes {
        let inputs: Vec<&str> = all(n, 1)
            .iter()
            .map(|s| std::str::from_utf8(s).unwrap())
            .collect();
        assert_eq!(inputs[0], a, "{ops:?}");
        a = text(n, 2);
    }
    assert_eq!(a, "output");
    // Gemm's attribute transB = 1 (AttributeProto name 1, i 3, type 20 = INT 2).
    let attribute = one(nodes[2], 5);
    assert_eq!(
        (text(attribute, 1), ints(attribute, 3), ints(attribute, 20)),
        ("transB", vec![1], vec![2])
    );

    // Initializers (TensorProto dims 1, data_type 2, name 8, raw_data 9): the scalers and the
    // weights, with our values bit for bit.
    let tensors: Vec<(&str, Vec<i64>, Vec<f32>)> = all(graph, 5)
        .into_iter()
        .map(|t| {
            assert_eq!(ints(t, 2), [1], "float");
            let raw = one(t, 9);
            let values = raw
                .chunks(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()));
            (text(t, 8), ints(t, 1), values.collect())
        })
        .collect();
    let find = |name: &str| {
        tensors
            .iter()
            .find(|t| t.0 == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let scaler = model.info.input_scaler.as_ref().unwrap();
    assert_eq!(find("input_mean").2, scaler.mean);
    assert_eq!(find("input_std").2, scaler.std);
    assert_eq!(find("layers.0.weight").1, [3, 2]);
    assert_eq!(find("layers.0.weight").2, model.net.layers[0].weights);
    assert_eq!(find("layers.1.bias").2, model.net.layers[1].biases);
    assert_eq!(
        find("target_std").2,
        model.info.target_scaler.as_ref().unwrap().std
    );

    // ValueInfoProto input 11 / output 12: float [batch, n] (TypeProto.tensor_type 1,
    // elem_type 1, shape 2, Dimension dim_param 2 / dim_value 1).
    for (field, name, width) in [(11, "input", 2), (12, "output", 1)] {
        let v = one(graph, field);
        assert_eq!(text(v, 1), name);
        let tensor_type = one(one(v, 2), 1);
        assert_eq!(ints(tensor_type, 1), [1]);
        let dims = all(one(tensor_type, 2), 1);
        assert_eq!(text(dims[0], 2), "batch");
        assert_eq!(ints(dims[1], 1), [width]);
    }
}

#[test]
fn identity_layers_add_no_node_and_the_leaky_slope_is_ours() {
    let arch = Architecture::uniform(
        vec![3, 4, 2],
        Activation::LeakyRelu,
        Activation::Identity,
        Cost::Quadratic,
    );
    let net = Network::<f32>::new(&arch, Init::Normal, 1).unwrap();
    let bytes = onnx::to_onnx_bytes(&net, &ModelInfo::default()).unwrap();
    let nodes = all(one(&bytes, 7), 1);
    let ops: Vec<&str> = nodes.iter().map(|n| text(n, 4)).collect();
    assert_eq!(ops, ["Gemm", "LeakyRelu", "Gemm"]);
    assert_eq!(text(nodes[2], 2), "output");
    let alpha = one(nodes[1], 5);
    assert_eq!(text(alpha, 1), "alpha");
    let f = fields(alpha).into_iter().find(|(f, _)| *f == 2).unwrap().1;
    assert_eq!(f, Wire::Fixed32(0.01f32.to_bits()));
    // And σ of our leaky ReLU at −1 is that slope.
    assert_eq!(Activation::LeakyRelu.sigma(-1.0f32), -0.01);
}

#[test]
fn what_does_not_fit_is_an_error_not_a_file() {
    let mut net = Network::<f32>::new(&Architecture::sigmoid(vec![3, 2]), Init::Normal, 1).unwrap();
    let info = ModelInfo {
        class_names: Some(vec!["only one".into()]),
        ..ModelInfo::default()
    };
    let err = onnx::to_onnx_bytes(&net, &info).unwrap_err();
    assert!(matches!(err, Error::ModelBytes(_)), "{err}");
    assert!(
        err.to_string().contains("1 class names for a network of 2"),
        "{err}"
    );
    net.layers[0].weights[1] = f32::NAN;
    let err = onnx::to_onnx_bytes(&net, &ModelInfo::default()).unwrap_err();
    assert!(err.to_string().contains("NaN or infinite"), "{err}");
}

#[test]
fn the_cli_writes_the_librarys_bytes_and_names_the_formats_it_knows() {
    let dir = tempfile::tempdir().unwrap();
    let net = Network::<f32>::new(&Architecture::sigmoid(vec![4, 3, 2]), Init::Normal, 9).unwrap();
    let model = dir.path().join("m.safetensors");
    model_io::save(&net, &model).unwrap();
    let out = dir.path().join("m.onnx");
    let assert = backprop_cmd()
        .args(["export", "--model"])
        .arg(&model)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&assert.get_output().stderr).contains("ONNX opset 13, 4-3-2"));
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(
        bytes,
        onnx::to_onnx_bytes(&net, &ModelInfo::default()).unwrap()
    );

    for bad in ["m.safetensors.bak", "m"] {
        let path = dir.path().join(bad);
        let assert = backprop_cmd()
            .args(["export", "--model"])
            .arg(&model)
            .arg("--out")
            .arg(&path)
            .assert()
            .failure()
            .code(1);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!("{}: cannot tell the format", path.display())),
            "{stderr}"
        );
        assert!(
            stderr.contains(".onnx (ONNX) or .json (network2.py)"),
            "{stderr}"
        );
        assert!(!path.exists());
    }
    // A model file that is not one: the usual one-line error naming it, no ONNX file.
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"not a model").unwrap();
    let out = dir.path().join("junk.onnx");
    let assert = backprop_cmd()
        .args(["export", "--model"])
        .arg(&junk)
        .arg("--out")
        .arg(&out)
        .assert()
        .failure();
    assert!(String::from_utf8_lossy(&assert.get_output().stderr).contains("junk.safetensors"));
    assert!(!out.exists());
}
