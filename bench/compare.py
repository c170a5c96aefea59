"""Side-by-side speed of robust, PyTorch and ONNX Runtime on the same shapes, same session.

    python3 bench/compare.py [--widths 64 32 16] [--seconds 5] [--rounds 3] [--threads 2] [--json out.json]

Measures, for a CIFAR ResNet-18 at each width: training images/s (batch 128, a full SGD step),
inference images/s (batch 256, eval mode) and single-image latency, each as the median step
over --seconds of steps after a warm-up (the same rule as `audit-cli bench`). PyTorch and
ONNX Runtime are installed from PyPI when missing; robust is built in release mode.

This VM's speed drifts by up to 2x over minutes, so one measurement of each engine can put a
ratio on either side of a target. Each of --rounds rounds measures the three engines back to
back at every width (robust first in odd rounds, last in even ones, so a steady drift does not
favour one engine); the verdict table gives each ratio's median over the rounds and its range.
"""
import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def ensure(pkgs):
    missing = []
    for mod, pip_name in pkgs:
        try:
            __import__(mod)
        except ImportError:
            missing.append(pip_name)
    if missing:
        print("installing", " ".join(missing), "from PyPI ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q"] + missing, check=True)


def median_time(fn, seconds):
    fn()  # warm-up
    times = []
    t0 = time.perf_counter()
    while True:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if (time.perf_counter() - t0 >= seconds and len(times) >= 3) or len(times) >= 10000:
            return statistics.median(times)


def bench_torch(width, seconds, threads):
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(ROOT, "scripts", "torch"))
    from resnet_ref import ResNet18
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = ResNet18(width)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(128, 3, 32, 32)
    y = torch.randint(0, 10, (128,))

    def train_step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    model.train()
    t_train = median_time(train_step, seconds)
    model.eval()
    xb = torch.randn(256, 3, 32, 32)
    x1 = torch.randn(1, 3, 32, 32)
    with torch.inference_mode():
        t_inf = median_time(lambda: model(xb), seconds)
        t_lat = median_time(lambda: model(x1), seconds)
    return model, {"train_images_per_s": 128 / t_train, "infer_images_per_s": 256 / t_inf, "latency_ms": 1000 * t_lat}


def ort_session(model, threads):
    """An ONNX Runtime session (CPU, all graph optimizations) on the PyTorch model's export."""
    import onnxruntime as ort
    import torch
    buf = io.BytesIO()
    model.eval()
    kw = dict(input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=17)
    try:
        torch.onnx.export(model, torch.randn(1, 3, 32, 32), buf, dynamo=False, **kw)
    except TypeError:
        torch.onnx.export(model, torch.randn(1, 3, 32, 32), buf, **kw)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(buf.getvalue(), so, providers=["CPUExecutionProvider"])


def bench_ort(model, width, seconds, threads):
    import numpy as np
    sess = ort_session(model, threads)
    xb = np.random.randn(256, 3, 32, 32).astype(np.float32)
    x1 = np.random.randn(1, 3, 32, 32).astype(np.float32)
    t_inf = median_time(lambda: sess.run(None, {"x": xb}), seconds)
    t_lat = median_time(lambda: sess.run(None, {"x": x1}), seconds)
    return {"infer_images_per_s": 256 / t_inf, "latency_ms": 1000 * t_lat}


def build_robust():
    """Builds audit-cli in release mode once and returns the folder that holds it."""
    subprocess.run(["swift", "build", "-c", "release", "--product", "audit-cli"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()


def bench_robust(bin_path, widths, seconds, threads):
    out = subprocess.run([os.path.join(bin_path, "audit-cli"), "bench", "--json", "--seconds", str(seconds),
                          "--threads", str(threads), "--widths"] + [str(w) for w in widths],
                         check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {r["width"]: r for r in rows}


TORCH_MEMORY = r"""
import resource, sys, torch, torch.nn.functional as F
sys.path.insert(0, sys.argv[1])
from resnet_ref import ResNet18
torch.set_num_threads(int(sys.argv[3]))
torch.manual_seed(0)
m = ResNet18(int(sys.argv[2])).train()
opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
x, y = torch.randn(128, 3, 32, 32), torch.randint(0, 10, (128,))
for _ in range(3):
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(m(x), y).backward()
    opt.step()
# VmHWM, not ru_maxrss: ru_maxrss survives execve, so a child of this (large) Python session
# would report the parent's size
print(next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")))
"""


def peak_memory(bin_path, widths, threads):
    """Peak resident memory of a fresh process that runs 3 training steps (batch 128), per
    width: robust's `audit-cli bench --memory` against the same loop in PyTorch."""
    out = {}
    for w in widths:
        r = subprocess.run([os.path.join(bin_path, "audit-cli"), "bench", "--memory", "--json", "--threads", str(threads),
                            "--widths", str(w)], check=True, capture_output=True, text=True).stdout
        ours = json.loads([line for line in r.splitlines() if line.startswith("{")][-1])["peak_rss_bytes"]
        t = subprocess.run([sys.executable, "-c", TORCH_MEMORY, os.path.join(ROOT, "scripts", "torch"), str(w), str(threads)],
                           check=True, capture_output=True, text=True).stdout
        out[w] = {"robust_peak_rss_bytes": ours, "pytorch_peak_rss_bytes": int(t.split()[-1])}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 32, 16])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; ratios are their medians")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    ensure([("torch", "torch"), ("onnxruntime", "onnxruntime"), ("onnx", "onnx")])
    import onnxruntime
    import torch

    # Built once: a no-op `swift build` between measurements cost seconds in every round.
    bin_path = build_robust()
    rounds = []  # rounds[r][width] = {"robust": ..., "pytorch": ..., "onnxruntime": ...}
    for k in range(args.rounds):
        row = {}
        for w in args.widths:
            def ours():
                return bench_robust(bin_path, [w], args.seconds, args.threads)[w]

            def theirs():
                model, pt = bench_torch(w, args.seconds, args.threads)
                return pt, bench_ort(model, w, args.seconds, args.threads)
            if k % 2 == 0:
                a = ours()
                pt, ox = theirs()
            else:
                pt, ox = theirs()
                a = ours()
            row[w] = {"robust": a, "pytorch": pt, "onnxruntime": ox}
            print(f"round {k + 1}/{args.rounds}: measured width {w}", file=sys.stderr)
        rounds.append(row)

    def ratios(m):
        a, p, o = m["robust"], m["pytorch"], m["onnxruntime"]
        return {"train_vs_pytorch": a["train_images_per_s"] / p["train_images_per_s"],
                "infer_vs_pytorch": a["infer_images_per_s"] / p["infer_images_per_s"],
                "infer_vs_ort": a["infer_images_per_s"] / o["infer_images_per_s"],
                "latency_ort_over_robust": o["latency_ms"] / a["latency_ms"]}

    print(f"\nrobust vs PyTorch {torch.__version__} and ONNX Runtime {onnxruntime.__version__}, "
          f"{args.threads} threads, median step over {args.seconds:g} s, {args.rounds} interleaved rounds")
    print(f"{'':12} {'training img/s (batch 128)':>34}   {'inference img/s (batch 256)':>44}   {'latency ms (batch 1)':>38}")
    print(f"{'round width':>12} {'robust':>9} {'PyTorch':>9} {'ratio':>7}   {'robust':>9} {'PyTorch':>9} {'ORT':>9} "
          f"{'/PT':>6} {'/ORT':>6}   {'robust':>8} {'PyTorch':>8} {'ORT':>8} {'ORT/us':>7}")
    for k, row in enumerate(rounds):
        for w in args.widths:
            a, p, o = row[w]["robust"], row[w]["pytorch"], row[w]["onnxruntime"]
            q = ratios(row[w])
            print(f"{k + 1:>5} {w:>6} {a['train_images_per_s']:>9.1f} {p['train_images_per_s']:>9.1f} "
                  f"{q['train_vs_pytorch']:>6.2f}x   "
                  f"{a['infer_images_per_s']:>9.1f} {p['infer_images_per_s']:>9.1f} {o['infer_images_per_s']:>9.1f} "
                  f"{q['infer_vs_pytorch']:>5.2f}x {q['infer_vs_ort']:>5.2f}x   "
                  f"{a['latency_ms']:>8.2f} {p['latency_ms']:>8.2f} {o['latency_ms']:>8.2f} {q['latency_ort_over_robust']:>6.2f}x")
    results = []
    print(f"\nverdict: median ratio over {args.rounds} rounds [min - max]; targets: training >= 1.5x PyTorch, "
          "inference >= 1x ORT, latency ORT/robust >= 1x")
    print(f"{'width':>6} {'training/PT':>22} {'inference/ORT':>22} {'latency ORT/robust':>22}")
    for w in args.widths:
        qs = [ratios(row[w]) for row in rounds]
        med = {key: statistics.median(q[key] for q in qs) for key in qs[0]}
        rng = {key: (min(q[key] for q in qs), max(q[key] for q in qs)) for key in qs[0]}
        cell = lambda key: f"{med[key]:.2f}x [{rng[key][0]:.2f}-{rng[key][1]:.2f}]"
        print(f"{w:>6} {cell('train_vs_pytorch'):>22} {cell('infer_vs_ort'):>22} {cell('latency_ort_over_robust'):>22}")
        results.append({"width": w, "rounds": [row[w] for row in rounds], "ratios": qs, "median_ratios": med})
    mem = peak_memory(bin_path, args.widths, args.threads)
    print("\npeak resident memory of a fresh process running 3 training steps (batch 128)")
    print(f"{'width':>6} {'robust GB':>10} {'PyTorch GB':>11} {'ratio':>7}")
    for w in args.widths:
        m = mem[w]
        print(f"{w:>6} {m['robust_peak_rss_bytes'] / 1e9:>10.3f} {m['pytorch_peak_rss_bytes'] / 1e9:>11.3f} "
              f"{m['robust_peak_rss_bytes'] / m['pytorch_peak_rss_bytes']:>6.2f}x")
    for r in results:
        r["memory"] = mem[r["width"]]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
                       "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
