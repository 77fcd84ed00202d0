//! ONNX export: a model as a graph that onnxruntime, and every tool that reads ONNX, runs with
//! the same answers as [`crate::Model::outputs_batch`].
//!
//! ```text
//! input   float [batch, n_in]               raw features, "batch" a symbolic dimension
//!   Sub  input_mean, Div  input_std          (x − μ)/s, when the model standardises its inputs
//!   Gemm layers.0.weight, layers.0.bias      z = a·Wᵀ + b   (transB = 1: W is n_out × n_in)
//!   Sigmoid | Tanh | Relu | LeakyRelu(α = 0.01) | Softmax(axis = 1) | nothing for identity
//!   …one Gemm and its activation per layer…
//!   Mul  target_std, Add  target_mean        a·s + μ, when a regression's targets were standardised
//! output  float [batch, n_out]
//! ```
//!
//! The file is ONNX IR version 8 with opset 13 of the default domain (onnxruntime 1.10 and
//! later run it); the weights are initializers named as in the safetensors file. The model's
//! metadata (`metadata_props`) holds `architecture` (the same JSON as the safetensors file's)
//! and, when the model knows them, `task`, `class_names`, `feature_names` and `target_names`
//! (JSON arrays). Its `doc_string` names the architecture.
//!
//! Our sigmoid and softmax use [`crate::Real::fast_exp`] and our matrix products sum in their
//! own order, so onnxruntime's outputs differ from ours in the last bits: about 1e-6 on the notes'
//! 784-16-16-10 network; `tests/it/onnx.rs` holds them within 1e-4.
//!
//! In Python:
//!
//! ```text
//! import numpy as np, onnxruntime as ort
//! session = ort.InferenceSession("model.onnx")
//! outputs = session.run(None, {"input": rows.astype(np.float32)})[0]   # rows: batch × n_in
//! ```

mod protobuf;

use crate::model_io::{write_atomically, ModelInfo, Task};
use crate::{Activation, Error, Network, Result};
use protobuf::Message;
use std::path::Path;

/// The ONNX IR version written (`IR_VERSION_2021_7_30` in onnx.proto).
pub const IR_VERSION: i64 = 8;
/// The version of the default operator set (`ai.onnx`) the graph uses.
pub const OPSET: i64 = 13;
/// protobuf cannot hold a message of 2 GiB or more.
const MAX_BYTES: usize = (1 << 31) - 1;

// Field numbers and enum values, from onnx/onnx.proto (onnx 1.23).
/// TensorProto.DataType.FLOAT, also TypeProto.Tensor.elem_type's.
const FLOAT: i64 = 1;
/// AttributeProto.AttributeType.FLOAT and .INT.
const ATTRIBUTE_FLOAT: i64 = 1;
const ATTRIBUTE_INT: i64 = 2;

/// The ONNX file of a network and what it knows about its data: see the [module docs](self).
///
/// # Errors
/// What [`Network::validate`] finds; [`Error::ModelBytes`] if `info` does not fit the network;
/// [`Error::Config`] if a parameter is not finite or the file would reach protobuf's 2 GiB.
///
/// # Examples
/// ```
/// use backprop::{model_io::ModelInfo, onnx, Architecture, Init, Network};
/// let net = Network::<f32>::new(&Architecture::sigmoid(vec![3, 4, 2]), Init::Normal, 1).unwrap();
/// let bytes = onnx::to_onnx_bytes(&net, &ModelInfo::default()).unwrap();
/// assert_eq!(bytes[..2], [0x08, 8]); // field 1, ir_version 8
/// ```
pub fn to_onnx_bytes(net: &Network<f32>, info: &ModelInfo) -> Result<Vec<u8>> {
    net.validate()?;
    info.validate(net).map_err(Error::ModelBytes)?;
    if !net.is_finite() {
        return Err(Error::Config(
            "refusing to export a network with NaN or infinite parameters".into(),
        ));
    }
    let bytes = 4 * net.n_parameters();
    if bytes > MAX_BYTES - (1 << 20) {
        return Err(Error::Config(format!(
            "{} parameters take {bytes} bytes, more than the 2 GiB an ONNX file can hold",
            net.n_parameters()
        )));
    }
    Ok(model(net, info).into_bytes())
}

/// [`to_onnx_bytes`] written to `path` atomically (see [`write_atomically`]).
///
/// # Errors
/// As [`to_onnx_bytes`], and [`Error::Io`] naming `path`.
pub fn save_onnx(net: &Network<f32>, info: &ModelInfo, path: &Path) -> Result<()> {
    write_atomically(path, &to_onnx_bytes(net, info)?)
}

/// ModelProto.
fn model(net: &Network<f32>, info: &ModelInfo) -> Message {
    let arch = net.architecture();
    let mut doc = format!(
        "backprop {}: a {} network, layers {} (each a Gemm then its activation), {} cost",
        env!("CARGO_PKG_VERSION"),
        arch.sizes_string(),
        arch.activations
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(", "),
        arch.cost
    );
    if info.input_scaler.is_some() {
        doc += "; inputs standardised in front (Sub, Div)";
    }
    if info.target_scaler.is_some() {
        doc += "; outputs in the targets' units (Mul, Add)";
    }
    let mut opset = Message::new();
    opset.int(2, OPSET); // OperatorSetIdProto.version; domain (1) unset: ai.onnx
    let mut m = Message::new();
    m.int(1, IR_VERSION) // ir_version
        .string(2, "backprop") // producer_name
        .string(3, env!("CARGO_PKG_VERSION")) // producer_version
        .string(6, &doc) // doc_string
        .message(7, &graph(net, info, &arch.sizes_string())) // graph
        .message(8, &opset); // opset_import
    let mut props = vec![("architecture", json(&arch))];
    if let Some(task) = info.task {
        props.push((
            "task",
            match task {
                Task::Classify => "classify",
                Task::Regress => "regress",
            }
            .to_string(),
        ));
    }
    for (key, names) in [
        ("class_names", &info.class_names),
        ("feature_names", &info.feature_names),
        ("target_names", &info.target_names),
    ] {
        if let Some(names) = names {
            props.push((key, json(names)));
        }
    }
    for (key, value) in props {
        let mut entry = Message::new();
        entry.string(1, key).string(2, &value); // StringStringEntryProto key, value
        m.message(14, &entry); // metadata_props
    }
    m
}

/// The JSON of an architecture or a list of names, for the metadata.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("names and architectures serialise")
}

/// One node of the graph before its output is named.
struct Step {
    op: &'static str,
    name: String,
    inputs: Vec<String>,
    output: String,
    attributes: Vec<Message>,
}

/// GraphProto: the steps from "input" to "output" and the tensors they use.
fn graph(net: &Network<f32>, info: &ModelInfo, name: &str) -> Message {
    let mut steps: Vec<Step> = Vec::new();
    let mut tensors: Vec<Message> = Vec::new();
    let mut a = "input".to_string();
    let mut step = |op, name: String, inputs: Vec<String>, attributes| {
        let output = format!("{name}.out");
        steps.push(Step {
            op,
            name,
            inputs,
            output: output.clone(),
            attributes,
        });
        output
    };

    if let Some(s) = &info.input_scaler {
        tensors.push(tensor("input_mean", &[s.width()], &s.mean));
        tensors.push(tensor("input_std", &[s.width()], &s.std));
        a = step(
            "Sub",
            "standardise.sub".into(),
            vec![a, "input_mean".into()],
            vec![],
        );
        a = step(
            "Div",
            "standardise.div".into(),
            vec![a, "input_std".into()],
            vec![],
        );
    }
    for (i, l) in net.layers.iter().enumerate() {
        let (w, b) = (format!("layers.{i}.weight"), format!("layers.{i}.bias"));
        tensors.push(tensor(&w, &[l.n_out, l.n_in], &l.weights));
        tensors.push(tensor(&b, &[l.n_out], &l.biases));
        let trans_b = attribute_int("transB", 1);
        a = step(
            "Gemm",
            format!("layers.{i}.gemm"),
            vec![a, w, b],
            vec![trans_b],
        );
        let (op, attributes) = match l.activation {
            Activation::Sigmoid => ("Sigmoid", vec![]),
            Activation::Tanh => ("Tanh", vec![]),
            Activation::Relu => ("Relu", vec![]),
            Activation::LeakyRelu => (
                "LeakyRelu",
                vec![attribute_float(
                    "alpha",
                    crate::activation::LEAKY_SLOPE as f32,
                )],
            ),
            Activation::Softmax => ("Softmax", vec![attribute_int("axis", 1)]),
            Activation::Identity => continue,
        };
        let name = format!("layers.{i}.{}", l.activation.name());
        a = step(op, name, vec![a], attributes);
    }
    if let Some(s) = &info.target_scaler {
        tensors.push(tensor("target_std", &[s.width()], &s.std));
        tensors.push(tensor("target_mean", &[s.width()], &s.mean));
        a = step(
            "Mul",
            "unstandardise.mul".into(),
            vec![a, "target_std".into()],
            vec![],
        );
        step(
            "Add",
            "unstandardise.add".into(),
            vec![a, "target_mean".into()],
            vec![],
        );
    }
    // Nothing reads the last step's output, so it can take the graph's output name.
    steps.last_mut().expect("a network has a layer").output = "output".into();

    let mut g = Message::new();
    for s in &steps {
        let mut node = Message::new();
        for input in &s.inputs {
            node.string(1, input); // NodeProto.input
        }
        node.string(2, &s.output) // output
            .string(3, &s.name) // name
            .string(4, s.op); // op_type
        for attribute in &s.attributes {
            node.message(5, attribute); // attribute
        }
        g.message(1, &node); // GraphProto.node
    }
    g.string(2, &format!("backprop {name}")); // name
    for t in &tensors {
        g.message(5, t); // initializer
    }
    g.message(11, &value_info("input", net.n_inputs())) // input
        .message(12, &value_info("output", net.n_outputs())); // output
    g
}

/// TensorProto of f32 values, row-major, in `raw_data` (little-endian, as ONNX specifies).
fn tensor(name: &str, dims: &[usize], values: &[f32]) -> Message {
    debug_assert_eq!(dims.iter().product::<usize>(), values.len());
    let mut t = Message::new();
    for &d in dims {
        t.int(1, d as i64); // dims
    }
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.int(2, FLOAT) // data_type
        .string(8, name) // name
        .bytes(9, &raw); // raw_data
    t
}

/// ValueInfoProto of a float tensor [batch, n]: TypeProto.Tensor with a TensorShapeProto whose
/// first Dimension is the symbol "batch".
fn value_info(name: &str, n: usize) -> Message {
    let mut batch = Message::new();
    batch.string(2, "batch"); // Dimension.dim_param
    let mut width = Message::new();
    width.int(1, n as i64); // Dimension.dim_value
    let mut shape = Message::new();
    shape.message(1, &batch).message(1, &width); // TensorShapeProto.dim
    let mut tensor_type = Message::new();
    tensor_type.int(1, FLOAT).message(2, &shape); // elem_type, shape
    let mut type_proto = Message::new();
    type_proto.message(1, &tensor_type); // TypeProto.tensor_type
    let mut v = Message::new();
    v.string(1, name).message(2, &type_proto); // ValueInfoProto name, type
    v
}

/// AttributeProto of an integer.
fn attribute_int(name: &str, value: i64) -> Message {
    let mut a = Message::new();
    a.string(1, name).int(3, value).int(20, ATTRIBUTE_INT); // name, i, type
    a
}

/// AttributeProto of a float.
fn attribute_float(name: &str, value: f32) -> Message {
    let mut a = Message::new();
    a.string(1, name).float(2, value).int(20, ATTRIBUTE_FLOAT); // name, f, type
    a
}
