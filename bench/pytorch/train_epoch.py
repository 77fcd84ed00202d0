"""Time PyTorch training epochs on MNIST for the workloads of compare.py; prints one JSON line.

W1  784-16-16-10 sigmoid, quadratic cost sum_j (a_j - y_j)^2 averaged over the batch, SGD eta 1.5, batch 10
W2  784-30-10, otherwise as W1
W3  784-128-10 ReLU, softmax + log-likelihood (cross-entropy), Adam (lr 1e-3), batch 128
W3b 784-256-128-10, otherwise as W3
W1/W2 weights and biases are N(0,1) like backprop's; W3/W3b keep PyTorch's default init.
An epoch = torch.randperm shuffle + every optimizer step; loading and evaluation are not timed.
"""
import argparse
import json
import time

import torch
from torch import nn

import mnist

WORKLOADS = {
    "W1": dict(sizes=[784, 16, 16, 10], kind="sigmoid-quadratic-sgd", batch=10),
    "W2": dict(sizes=[784, 30, 10], kind="sigmoid-quadratic-sgd", batch=10),
    "W3": dict(sizes=[784, 128, 10], kind="relu-softmax-adam", batch=128),
    "W3b": dict(sizes=[784, 256, 128, 10], kind="relu-softmax-adam", batch=128),
}


def build(w):
    sizes, sgd = w["sizes"], w["kind"] == "sigmoid-quadratic-sgd"
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        lin = nn.Linear(n_in, n_out)
        if sgd:
            nn.init.normal_(lin.weight)
            nn.init.normal_(lin.bias)
        layers.append(lin)
        last = i == len(sizes) - 2
        if sgd:
            layers.append(nn.Sigmoid())
        elif not last:
            layers.append(nn.ReLU())  # the softmax is inside cross_entropy
    model = nn.Sequential(*layers)
    if sgd:
        opt = torch.optim.SGD(model.parameters(), lr=1.5)
        loss_fn = lambda out, y, y1h: ((out - y1h) ** 2).sum(dim=1).mean()
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = lambda out, y, y1h: nn.functional.cross_entropy(out, y)
    return model, opt, loss_fn


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", choices=WORKLOADS, default="W1")
    p.add_argument("--threads", type=int, choices=[1, 2], default=1)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    w = WORKLOADS[a.workload]

    xtr, ytr = mnist.load("train")
    xte, yte = mnist.load("t10k")
    xtr, ytr = torch.from_numpy(xtr), torch.from_numpy(ytr)
    y1h = nn.functional.one_hot(ytr, 10).float()
    model, opt, loss_fn = build(w)
    n, b = len(xtr), w["batch"]

    seconds = []
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, b):
            idx = perm[i:i + b]
            loss = loss_fn(model(xtr[idx]), ytr[idx], y1h[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - t0)

    with torch.no_grad():
        pred = model(torch.from_numpy(xte)).argmax(dim=1).numpy()
    best = min(seconds)
    print(json.dumps({
        "workload": a.workload,
        "threads": a.threads,
        "epoch_seconds": seconds,
        "best_seconds": best,
        "samples_per_second": n / best,
        "test_accuracy": float((pred == yte).mean()),
        "torch_version": torch.__version__,
    }))


if __name__ == "__main__":
    main()
