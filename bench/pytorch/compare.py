"""Epoch time of backprop vs PyTorch (workloads in train_epoch.py), as a Markdown table.

Run with the benchmark venv's python from anywhere; backprop must be built (target/release/backprop).
For each workload it runs `backprop bench --json` and train_epoch.py, each with 1 and with 2
threads, back to back, and keeps each side's better thread count. Times are best-of-N epochs.
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
NOTES = ["--activation", "sigmoid", "--cost", "quadratic", "--batch-size", "10", "--learning-rate", "1.5"]
ADAM = ["--activation", "relu", "--cost", "log-likelihood", "--init", "he", "--optimizer", "adam",
        "--learning-rate", "0.001", "--batch-size", "128"]
OURS = {  # backprop bench flags per workload (as train_epoch.py's)
    "W1": ["--layers", "784,16,16,10", *NOTES],
    "W2": ["--layers", "784,30,10", *NOTES],
    "W3": ["--layers", "784,128,10", *ADAM],
    "W3b": ["--layers", "784,256,128,10", *ADAM],
}


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
        our_runs = [run_json([str(BACKPROP), "--threads", str(t), "bench", "--json", *OURS[w], *ep], REPO)
                    for t in (1, 2)]
        for t, r in zip((1, 2), our_runs):
            print(f"# {w} backprop threads={t}: epochs {[round(s, 3) for s in r['epoch_seconds']]} s", file=sys.stderr)
            r["threads"] = t
        ours = min(our_runs, key=lambda r: r["best_seconds"])
        torch_runs = [run_json([sys.executable, str(HERE / "train_epoch.py"), "--workload", w,
                                "--threads", str(t), *ep], HERE) for t in (1, 2)]
        for r in torch_runs:
            print(f"# {w} PyTorch threads={r['threads']}: epochs {[round(s, 3) for s in r['epoch_seconds']]} s,"
                  f" test accuracy {r['test_accuracy']:.4f}", file=sys.stderr)
        best = min(torch_runs, key=lambda r: r["best_seconds"])
        torch_version = best["torch_version"]
        rows.append((w, ours["best_seconds"], ours["threads"], best["best_seconds"], best["threads"]))

    print(f"CPU: {cpu_model()}, nproc: {os.cpu_count()}, torch {torch_version}, best of {a.epochs} epochs\n")
    print("| workload | backprop s/epoch (threads) | PyTorch s/epoch (threads) | ratio (PyTorch / backprop) |")
    print("|---|---|---|---|")
    for w, ours, ot, theirs, t in rows:
        print(f"| {w} | {ours:.3f} ({ot}) | {theirs:.3f} ({t}) | {theirs / ours:.1f}x |")


if __name__ == "__main__":
    main()
