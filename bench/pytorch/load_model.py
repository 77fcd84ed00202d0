"""Accuracy of a `backprop train` model on the MNIST test set, using only numpy + safetensors.

Usage: python load_model.py MODEL.safetensors   -> {"accuracy": ..., "n": 10000}
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

import mnist


def softmax(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


ACT = {
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "identity": lambda z: z,
    "softmax": softmax,
}


def main():
    path = sys.argv[1]
    with safe_open(path, "np") as f:
        arch = json.loads(f.metadata()["architecture"])
    t = load_file(path)
    x, y = mnist.load("t10k")
    a = x.T  # one column per image
    for i, act in enumerate(arch["activations"]):
        w, b = t[f"layers.{i}.weight"], t[f"layers.{i}.bias"]
        a = ACT[act](w @ a + b[:, None]).astype(np.float32)
    correct = int((a.argmax(axis=0) == y).sum())
    print(json.dumps({"accuracy": correct / len(y), "n": len(y)}))


if __name__ == "__main__":
    main()
