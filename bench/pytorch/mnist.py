"""Read the repo's gzipped IDX MNIST files with numpy (shared by the scripts here)."""
import gzip
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "data" / "mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    assert magic >> 8 == 0x08, f"{path}: not unsigned-byte IDX (magic {magic:#x})"
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split):
    """split "train" or "t10k" -> (images float32 [n, 784] in [0, 1], labels int64 [n])."""
    x = read_idx(DATA / f"{split}-images-idx3-ubyte.gz")
    y = read_idx(DATA / f"{split}-labels-idx1-ubyte.gz")
    return (x.reshape(len(x), -1).astype(np.float32) / 255.0), y.astype(np.int64)
