"""Side-by-side speed of robust, PyTorch and ONNX Runtime on the same shapes, same session.

    python3 bench/compare.py [--widths 64 32 16] [--seconds 1.5] [--rounds 9] [--latency-turns 10]
                             [--turn-seconds 0.12] [--threads 2] [--json out.json]

Measures, for a CIFAR ResNet-18 at each width: training images/s (batch 128, a full SGD step),
inference images/s (batch 256, eval mode) and single-image latency, each as the median step
over --seconds of steps after a warm-up call (the same rule as `audit-cli bench`). PyTorch and
ONNX Runtime are installed from PyPI when missing; robust is built in release mode.

This VM's speed drifts by up to 2x over tens of seconds, so one measurement of each engine can
put a ratio on either side of a target. Every engine therefore stays alive for the whole run
(robust as one `audit-cli bench --serve` process, PyTorch's model and the ONNX Runtime session
per width in this one), and each of --rounds rounds measures robust right beside the engine it
is compared with, figure by figure (training beside PyTorch, inference and latency beside ONNX
Runtime), a second or two apart, robust first in odd rounds and last in even ones so that a
steady drift does not favour one engine. The verdict table gives each ratio's median over the
rounds and its range. Single-image latency, where one call takes well under a millisecond,
is paired more finely still: each round alternates --latency-turns short turns of robust and
ONNX Runtime (--turn-seconds each) and takes the median of the per-turn ratios, since two
1.5 s windows one after the other often caught different phases of the VM. (Until 2026-12-05 each round started fresh processes and measured all of
robust's figures, then all of the others': 10-20 s apart, and one slow phase could decide a
width's verdict.)
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


class TorchSide:
    """One width's PyTorch model, optimizer and inputs, kept across rounds (training goes on
    from round to round, as robust's does in its serving process)."""

    def __init__(self, width, threads):
        import torch
        import torch.nn.functional as F
        sys.path.insert(0, os.path.join(ROOT, "scripts", "torch"))
        from resnet_ref import ResNet18
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        self.torch, self.F = torch, F
        self.model = ResNet18(width)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        self.x = torch.randn(128, 3, 32, 32)
        self.y = torch.randint(0, 10, (128,))
        self.xb = torch.randn(256, 3, 32, 32)
        self.x1 = torch.randn(1, 3, 32, 32)

    def measure(self, mode, seconds):
        """Images/s (train, infer) or milliseconds (latency): the median call over `seconds`."""
        m = self.model
        if mode == "train":
            def step():
                self.opt.zero_grad(set_to_none=True)
                self.F.cross_entropy(m(self.x), self.y).backward()
                self.opt.step()
            m.train()
            return 128 / median_time(step, seconds)
        m.eval()
        with self.torch.inference_mode():
            if mode == "infer":
                return 256 / median_time(lambda: m(self.xb), seconds)
            return 1000 * median_time(lambda: m(self.x1), seconds)


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


class OrtSide:
    """An ONNX Runtime session on one width's PyTorch model, kept across rounds."""

    def __init__(self, model, threads):
        import numpy as np
        self.sess = ort_session(model, threads)
        self.xb = np.random.randn(256, 3, 32, 32).astype(np.float32)
        self.x1 = np.random.randn(1, 3, 32, 32).astype(np.float32)

    def measure(self, mode, seconds):
        if mode == "infer":
            return 256 / median_time(lambda: self.sess.run(None, {"x": self.xb}), seconds)
        return 1000 * median_time(lambda: self.sess.run(None, {"x": self.x1}), seconds)


def build_robust():
    """Builds audit-cli in release mode once and returns the folder that holds it."""
    subprocess.run(["swift", "build", "-c", "release", "--product", "audit-cli"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()


class RobustSide:
    """robust's side: one `audit-cli bench --serve` process for the whole comparison, asked for
    one measurement at a time, so that it runs right beside the other engine's."""

    def __init__(self, bin_path, threads):
        self.proc = subprocess.Popen([os.path.join(bin_path, "audit-cli"), "bench", "--serve", "--threads", str(threads)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = json.loads(self.proc.stdout.readline())
        if not ready.get("ready"):
            raise RuntimeError(f"audit-cli bench --serve did not start: {ready}")

    def measure(self, mode, width, seconds):
        self.proc.stdin.write(f"{mode} {width} {seconds}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("audit-cli bench --serve exited")
        r = json.loads(line)
        if "error" in r:
            raise RuntimeError(f"audit-cli bench --serve: {r['error']}")
        return 1000 * r["seconds_per_call"] if mode == "latency" else r["images_per_s"]

    def close(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=60)


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
    ap.add_argument("--seconds", type=float, default=1.5, help="seconds per measurement (after a warm-up call)")
    ap.add_argument("--rounds", type=int, default=9, help="interleaved rounds; ratios are their medians")
    ap.add_argument("--pause", type=float, default=0.2, help="seconds between two measurements")
    ap.add_argument("--latency-turns", type=int, default=10,
                    help="single-image latency: turns per engine and round, alternating robust and ORT")
    ap.add_argument("--turn-seconds", type=float, default=0.12, help="seconds of back-to-back calls per latency turn")
    ap.add_argument("--turn-pause", type=float, default=0.03, help="seconds between two latency turns")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    # Every ratio is a median over rounds (and latency over turns): none of them may be empty.
    for name in ("rounds", "latency_turns", "threads"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("seconds", "turn_seconds"):
        if not getattr(args, name) > 0:
            ap.error(f"--{name.replace('_', '-')} must be positive")
    ensure([("torch", "torch"), ("onnxruntime", "onnxruntime"), ("onnx", "onnx")])
    import onnxruntime
    import torch

    # Built once: a no-op `swift build` between measurements cost seconds in every round.
    bin_path = build_robust()
    ours = RobustSide(bin_path, args.threads)
    pts = {w: TorchSide(w, args.threads) for w in args.widths}
    orts = {w: OrtSide(pts[w].model, args.threads) for w in args.widths}
    keys = {"train": "train_images_per_s", "infer": "infer_images_per_s", "latency": "latency_ms"}

    def measure(engine, mode, w, seconds=None, pause=None):
        seconds = args.seconds if seconds is None else seconds
        if engine == "robust":
            v = ours.measure(mode, w, seconds)
        elif engine == "pytorch":
            v = pts[w].measure(mode, seconds)
        else:
            v = orts[w].measure(mode, seconds)
        # let the engine's spinning workers go idle before the next one runs
        time.sleep(args.pause if pause is None else pause)
        return v

    def latency_turns(w, k):
        """Single-image latency of robust and ORT in alternating short turns. A 0.3 ms call
        sees the VM's sub-second phases: two 1.5 s windows, one per engine, often caught
        different phases (width-16 rounds ranged 0.68-1.41x that way). Turns of about 0.1 s,
        one engine after the other, pair calls made within a fraction of a second.
        Returns each engine's median over its turns' medians and the median of the per-turn
        ratios ORT / robust."""
        ms = {"robust": [], "onnxruntime": []}
        pairs = []
        for i in range(args.latency_turns):
            order = ["robust", "onnxruntime"] if (k + i) % 2 == 0 else ["onnxruntime", "robust"]
            turn = {e: measure(e, "latency", w, args.turn_seconds, args.turn_pause) for e in order}
            for e in turn:
                ms[e].append(turn[e])
            pairs.append(turn["onnxruntime"] / turn["robust"])
        return statistics.median(ms["robust"]), statistics.median(ms["onnxruntime"]), statistics.median(pairs)

    # One unrecorded pass first: each engine's first calls at a width (allocations, PyTorch's
    # first training steps) are slower than its steady state.
    for w in args.widths:
        for mode in ("train", "infer", "latency"):
            for engine in ("robust", "pytorch") + (("onnxruntime",) if mode != "train" else ()):
                measure(engine, mode, w)
        print(f"warm-up: width {w}", file=sys.stderr)

    rounds = []  # rounds[r][width] = {"robust": ..., "pytorch": ..., "onnxruntime": ...}
    for k in range(args.rounds):
        row = {}
        for w in args.widths:
            m = {"robust": {}, "pytorch": {}, "onnxruntime": {}}
            for mode in ("train", "infer", "latency"):
                # robust beside the engine it is compared with (PyTorch for training, ONNX
                # Runtime for inference and latency); robust first in odd rounds, last in even ones
                if mode == "latency":
                    m["pytorch"]["latency_ms"] = measure("pytorch", "latency", w)
                    a, o, pair = latency_turns(w, k)
                    m["robust"]["latency_ms"], m["onnxruntime"]["latency_ms"] = a, o
                    m["latency_ort_over_robust_turns"] = pair
                    continue
                order = ["robust", "pytorch"] if mode == "train" else ["robust", "onnxruntime", "pytorch"]
                if k % 2 == 1:
                    order.reverse()
                for engine in order:
                    m[engine][keys[mode]] = measure(engine, mode, w)
            row[w] = m
            print(f"round {k + 1}/{args.rounds}: measured width {w}", file=sys.stderr)
        rounds.append(row)
    ours.close()

    def ratios(m):
        a, p, o = m["robust"], m["pytorch"], m["onnxruntime"]
        return {"train_vs_pytorch": a["train_images_per_s"] / p["train_images_per_s"],
                "infer_vs_pytorch": a["infer_images_per_s"] / p["infer_images_per_s"],
                "infer_vs_ort": a["infer_images_per_s"] / o["infer_images_per_s"],
                "latency_ort_over_robust": m["latency_ort_over_robust_turns"]}

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
