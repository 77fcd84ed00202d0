"""Inference latency of backprop vs PyTorch on one model file, as a Markdown table.

Usage: python inference.py MODEL.safetensors [--requests N]

Both sides answer with the same weights (PyTorch loads the safetensors file):
- evaluation of the 10,000 MNIST test images, best of 7: `backprop bench --model M` (in-process
  `evaluate`) against `model(x).argmax(1)` on one [10000, 784] tensor under `torch.inference_mode`;
- one-sample prediction, median of 20,000 calls: `Network::predict` against `model(x[k:k+1])`;
- one POST /api/predict of a 140×140 drawing on a keep-alive connection, median of N: `backprop
  serve --model M` against a PyTorch server written here with Python's http.server. The PyTorch
  server does less than ours: it averages 5×5 blocks down to 28×28 where ours crops, centres and
  resamples the ink as MNIST was made, and it does not list each neuron's strongest inputs.
  Both answer every layer's activations, the probabilities and the class as JSON. The same
  client (http.client, one connection) times both, in alternating blocks.
Each side runs with 1 and 2 threads; the faster is kept. Run with the benchmark venv's python.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file
from safetensors import safe_open
from torch import nn

import mnist
from compare import cpu_model, run_json

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BACKPROP = REPO / "target" / "release" / "backprop"
ACT = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity,
       "softmax": lambda: nn.Softmax(dim=1)}


def load_torch(path):
    with safe_open(path, "np") as f:
        arch = json.loads(f.metadata()["architecture"])
    t = load_file(path)
    layers = []
    for i, act in enumerate(arch["activations"]):
        w, b = t[f"layers.{i}.weight"], t[f"layers.{i}.bias"]
        lin = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin, ACT[act]()]
    return nn.Sequential(*layers).eval()


def torch_figures(model, x, y, threads):
    torch.set_num_threads(threads)
    xt = torch.from_numpy(x)
    evals = []
    with torch.inference_mode():
        for _ in range(7):
            t0 = time.perf_counter()
            pred = model(xt).argmax(1)
            evals.append(time.perf_counter() - t0)
        accuracy = float((pred.numpy() == y).mean())
        micros = []
        for i in range(20000):
            k = i % len(x)
            t0 = time.perf_counter()
            int(model(xt[k:k + 1]).argmax())
            micros.append((time.perf_counter() - t0) * 1e6)
    micros.sort()
    return dict(eval=min(evals), accuracy=accuracy, predict=micros[len(micros) // 2])


def torch_server(model):
    """POST /api/predict {"width", "height", "pixels"} -> layers, probabilities, prediction."""
    linears = [m for m in model if isinstance(m, nn.Linear)]
    acts = [m for m in model if not isinstance(m, nn.Linear)]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as ours: no answer held back waiting for an ACK

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            w, h = body["width"], body["height"]
            img = np.asarray(body["pixels"], dtype=np.float32).reshape(h, w)
            small = img.reshape(28, h // 28, 28, w // 28).mean(axis=(1, 3))
            if small[0].mean() > 0.5:  # dark ink on light paper: MNIST is light on dark
                small = 1.0 - small
            a = torch.from_numpy(small.reshape(1, 784).copy())
            layers = []
            with torch.inference_mode():
                for lin, act in zip(linears, acts):
                    a = act(lin(a))
                    layers.append(a[0].tolist())
            out = layers[-1]
            total = sum(max(v, 0.0) for v in out) or 1.0
            answer = json.dumps({"ink": True, "input": small.reshape(-1).tolist(), "layers": layers,
                                 "probabilities": [max(v, 0.0) / total for v in out],
                                 "prediction": int(np.argmax(out))}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def drawing(x):
    """A test digit as the page sends it: 140×140 grey levels, dark ink on light paper."""
    img = 1.0 - np.kron(x.reshape(28, 28), np.ones((5, 5), dtype=np.float32))
    return json.dumps({"width": 140, "height": 140, "pixels": [round(float(v), 3) for v in img.reshape(-1)]})


def time_requests(port, bodies, n):
    conn = HTTPConnection("127.0.0.1", port)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    micros = []
    for i in range(n):
        body = bodies[i % len(bodies)]
        t0 = time.perf_counter()
        conn.request("POST", "/api/predict", body, {"Content-Type": "application/json", "Host": f"127.0.0.1:{port}"})
        r = conn.getresponse()
        data = r.read()
        micros.append((time.perf_counter() - t0) * 1e6)
        assert r.status == 200, (r.status, data[:200])
    conn.close()
    return micros


def start_ours(model_path, threads):
    proc = subprocess.Popen([str(BACKPROP), "--threads", str(threads), "serve", "--model", str(model_path),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if "http://" in line:
            port = int(line.rsplit(":", 1)[1].strip().rstrip("/"))
            return proc, port
    raise RuntimeError("backprop serve printed no address")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path)
    p.add_argument("--requests", type=int, default=2000)
    a = p.parse_args()
    x, y = mnist.load("t10k")

    ours = [run_json([str(BACKPROP), "--threads", str(t), "bench", "--json", "--model", str(a.model)], REPO)
            for t in (1, 2)]
    model = load_torch(a.model)
    theirs = [torch_figures(model, x, y, t) for t in (1, 2)]
    for t, o, th in zip((1, 2), ours, theirs):
        print(f"# threads={t}: backprop eval {o['eval_best_seconds']:.4f} s predict {o['predict_median_us']:.2f} µs"
              f" accuracy {o['accuracy']:.4f}; PyTorch eval {th['eval']:.4f} s predict {th['predict']:.2f} µs"
              f" accuracy {th['accuracy']:.4f}", file=sys.stderr)

    bodies = [drawing(x[k]) for k in range(50)]
    torch.set_num_threads(1)
    server = torch_server(model)
    procs = [start_ours(a.model, t) for t in (1, 2)]
    http = {"ours": [], "torch": []}
    try:
        for port in [pp for _, pp in procs] + [server.server_port]:
            time_requests(port, bodies, 100)  # warm up
        block = max(a.requests // 10, 1)
        for _ in range(10):
            for t, (_, port) in enumerate(procs):
                http.setdefault(f"ours{t + 1}", []).extend(time_requests(port, bodies, block))
            http["torch"].extend(time_requests(server.server_port, bodies, block))
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait()
        server.shutdown()
    med = {k: sorted(v)[len(v) // 2] for k, v in http.items() if v}
    ours_http = min(med["ours1"], med["ours2"])

    best_eval = min(o["eval_best_seconds"] for o in ours)
    best_pred = min(o["predict_median_us"] for o in ours)
    t_eval = min(th["eval"] for th in theirs)
    t_pred = min(th["predict"] for th in theirs)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}; kernels {ours[0]['kernels']};"
          f" model {'-'.join(map(str, ours[0]['sizes']))}")
    print()
    print("| answer | backprop | PyTorch | ratio |")
    print("|---|---|---|---|")
    print(f"| evaluate the 10,000 test images | {best_eval * 1e3:.2f} ms | {t_eval * 1e3:.2f} ms | {t_eval / best_eval:.1f}× |")
    print(f"| one-sample predict | {best_pred:.2f} µs | {t_pred:.2f} µs | {t_pred / best_pred:.1f}× |")
    print(f"| one POST /api/predict (keep-alive, median of {len(http['torch'])}) | {ours_http / 1e3:.3f} ms |"
          f" {med['torch'] / 1e3:.3f} ms | {med['torch'] / ours_http:.1f}× |")


if __name__ == "__main__":
    main()
