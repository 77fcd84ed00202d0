"""Epoch time of backprop vs PyTorch (workloads in train_epoch.py), as a Markdown table.

Run with the benchmark venv's python from anywhere; backprop must be built (target/release/backprop).
For W1 and W2 it runs `backprop bench --json`, then train_epoch.py with 1 and with 2 threads,
back to back, and keeps PyTorch's better thread count. W3/W3b (Adam) run on PyTorch only: backprop
has no Adam yet, so its column says n/a. Times are best-of-N epochs.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BACKPROP = REPO / "target" / "release" / "backprop"
OURS = {  # backprop bench flags per workload; W3/W3b need Adam, which backprop lacks
    "W1": ["--layers", "784,16,16,10"],
    "W2": ["--layers", "784,30,10"],
}
COMMON = ["--activation", "sigmoid", "--cost", "quadratic", "--batch-size", "10", "--learning-rate", "1.5"]


def run_json(cmd, cwd):
    out = subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=3)
    a = p.parse_args()
    ep = ["--epochs", str(a.epochs)]
    rows, torch_version = [], None
    for w in ["W1", "W2", "W3", "W3b"]:
        ours = None
        if w in OURS:
            ours = run_json([str(BACKPROP), "bench", "--json", *OURS[w], *COMMON, *ep], REPO)
            print(f"# {w} backprop: epochs {[round(s, 3) for s in ours['epoch_seconds']]} s", file=sys.stderr)
        torch_runs = [run_json([sys.executable, str(HERE / "train_epoch.py"), "--workload", w,
                                "--threads", str(t), *ep], HERE) for t in (1, 2)]
        for r in torch_runs:
            print(f"# {w} PyTorch threads={r['threads']}: epochs {[round(s, 3) for s in r['epoch_seconds']]} s,"
                  f" test accuracy {r['test_accuracy']:.4f}", file=sys.stderr)
        best = min(torch_runs, key=lambda r: r["best_seconds"])
        torch_version = best["torch_version"]
        rows.append((w, ours and ours["best_seconds"], best["best_seconds"], best["threads"]))

    print(f"CPU: {cpu_model()}, nproc: {os.cpu_count()}, torch {torch_version}, best of {a.epochs} epochs\n")
    print("| workload | backprop s/epoch | PyTorch s/epoch (threads) | ratio (PyTorch / backprop) |")
    print("|---|---|---|---|")
    for w, ours, theirs, t in rows:
        ratio = "n/a" if ours is None else f"{theirs / ours:.1f}x"
        ours = "n/a" if ours is None else f"{ours:.3f}"
        print(f"| {w} | {ours} | {theirs:.3f} ({t}) | {ratio} |")


if __name__ == "__main__":
    main()
