"""Checks ONNX files written by `backprop export` against onnx and onnxruntime.

    python tests/onnx_check.py DIR

DIR/cases.json lists the cases, each
    {"name": ..., "model": "FILE.onnx", "inputs": [[...], ...], "outputs": [[...], ...],
     "metadata": {"key": "value", ...}, "batches": [1, 7, ...]}
with `outputs` what backprop computed for `inputs` (raw features, one row a sample) and the
optional `batches` the batch sizes to run (the first rows of `inputs`; default --batches).
For each case: onnx.checker.check_model(full_check=True) must accept the file, its input and
output must be float [batch, n] with "batch" symbolic, the metadata must hold the given entries,
and onnxruntime must give backprop's outputs to within --atol for each batch size.
Prints one line per case with the largest difference; exits 1 naming the first mismatch.
tests/it/onnx.rs runs it (with .ci/venv's Python: scripts/install-onnx-check.sh).
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def fail(case, message):
    print(f"onnx_check: {case}: {message}", file=sys.stderr)
    sys.exit(1)


def check_io(name, value_info, want_name, width):
    t = value_info.type.tensor_type
    dims = [d.dim_param or d.dim_value for d in t.shape.dim]
    if value_info.name != want_name or t.elem_type != onnx.TensorProto.FLOAT:
        fail(name, f"graph {want_name} is {value_info.name!r} of type {t.elem_type}, want float")
    if dims != ["batch", width]:
        fail(name, f"{want_name} has shape {dims}, want ['batch', {width}]")


def check_case(directory, case, atol, batches):
    name = case["name"]
    path = os.path.join(directory, case["model"])
    try:
        model = onnx.load(path)
    except Exception as e:  # protobuf's DecodeError, or the file is missing
        fail(name, f"onnx cannot read {path}: {e}")
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # the checker's own error classes vary between versions
        fail(name, f"onnx.checker rejects {path}: {e}")

    x = np.asarray(case["inputs"], dtype=np.float32)
    want = np.asarray(case["outputs"], dtype=np.float32)
    graph = model.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        fail(name, f"{len(graph.input)} inputs and {len(graph.output)} outputs, want 1 and 1")
    check_io(name, graph.input[0], "input", x.shape[1])
    check_io(name, graph.output[0], "output", want.shape[1])
    props = {p.key: p.value for p in model.metadata_props}
    for key, value in case.get("metadata", {}).items():
        if props.get(key) != value:
            fail(name, f"metadata {key} is {props.get(key)!r}, want {value!r}")

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    worst = {}
    for n in case.get("batches", batches):
        if n > len(x):
            fail(name, f"{len(x)} rows given, a batch of {n} asked for")
        got = session.run(["output"], {"input": x[:n]})[0]
        if got.shape != want[:n].shape:
            fail(name, f"batch of {n}: onnxruntime answers shape {got.shape}, want {want[:n].shape}")
        diff = float(np.max(np.abs(got.astype(np.float64) - want[:n].astype(np.float64))))
        if not diff <= atol:  # also catches NaN
            i, j = np.unravel_index(np.argmax(np.abs(got - want[:n])), got.shape)
            fail(
                name,
                f"batch of {n}: max |onnxruntime - backprop| = {diff:.3g} > {atol:g} "
                f"(row {i}, output {j}: {float(got[i, j])!r} vs {float(want[i, j])!r})",
            )
        worst[n] = diff
    listed = ", ".join(f"batch {n}: {d:.2e}" for n, d in worst.items())
    print(f"{name}: max |onnxruntime - backprop| {listed} (outputs up to {np.max(np.abs(want)):.3g})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--atol", type=float, default=1e-4)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 7])
    args = parser.parse_args()
    with open(os.path.join(args.dir, "cases.json")) as f:
        cases = json.load(f)
    if not cases:
        fail("cases.json", "no cases")
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}")
    for case in cases:
        check_case(args.dir, case, args.atol, args.batches)
    print(f"{len(cases)} models: onnxruntime agrees with backprop within {args.atol:g}")


if __name__ == "__main__":
    main()
