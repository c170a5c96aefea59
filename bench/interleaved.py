"""Inference of robust and ONNX Runtime in one process, call by call.

    /tmp/tv/bin/python bench/interleaved.py [--widths 64 32 16] [--seconds 10] [--threads 1] [--gap-ms 0]
                                            [--turn-ms 0] [--no-throughput]

`compare.py` measures each engine for a few seconds after the other, and this VM's speed
swings up to 2x within minutes, so a slow spell lands on one engine only. Here both engines
serve the same images alternately, one call each in turn (which goes first alternates too),
so a slow spell hits both: robust through librobust.so and the Python bindings (ctypes:
uint8 pixels in, scores and probabilities out, normalization included), ONNX Runtime on the
same weights exported from PyTorch (float input prepared beforehand, so its figure leaves
normalization out).

One thread each by default: with two threads per engine on this 2-core VM the two thread
pools compete (each spins a while after its call, into the other's): width 16, batch 1,
robust measured 1.39 ms against 0.56 for ONNX Runtime this way, where robust alone takes
0.6-0.7 ms, so that figure says more about the pools' interference than about either engine.
`--gap-ms` pauses after every call (idle periods as a gate sees them between uploads).

`--turn-ms T` gives each engine turns of T ms of back-to-back calls instead of one call
(`--gap-ms` then pauses after each turn), and pairs the two engines' per-turn medians: with
two threads each and a pause of 20 ms or more, each engine's workers are spinning for its own
calls within a turn and asleep before the other's turn starts, while turns of 50 ms still see
the same phase of the VM (its speed moves within fractions of a second: a width-16 image took
0.55 ms in one 0.3 s window and 1.3 ms in the next, in one process).

The script also checks that both engines compute the same function: robust loads the
PyTorch model's weights (safetensors, PyTorch's tensor names) and its probabilities must
match ONNX Runtime's to 1e-4.

Prints per width the median latency (batch 1) and throughput (batch 256) of each engine, the
ratio of the medians and the median of the per-pair ratios with its interquartile range.
"""
import argparse
import json
import os

# numpy's and torch's own BLAS/OpenMP threads only prepare the inputs here; left at their
# defaults they would spin on the cores the two engines are timed on.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MEAN = [0.4914, 0.4822, 0.4465]
STD = [0.2470, 0.2435, 0.2616]


def build_library():
    subprocess.run(["swift", "build", "-c", "release", "--product", "robust"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    bin_path = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    return os.path.join(bin_path, "librobust.so")


def back_to_back(call, turn_ms):
    """Calls `call` back to back for turn_ms milliseconds (at least once); their durations."""
    own = []
    end = time.perf_counter() + turn_ms / 1000
    while not own or time.perf_counter() < end:
        t = time.perf_counter()
        call()
        own.append(time.perf_counter() - t)
    return own


def quartiles(v):
    q = statistics.quantiles(v, n=4)
    return q[0], statistics.median(v), q[2]


def prepare(threads):
    """Installs what is missing, builds librobust.so and imports both engines' sides; each
    engine gets `threads` threads (torch, which only builds and exports the models, one).
    Returns the modules as attributes of one namespace."""
    import types
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from compare import ensure, ort_session
    ensure([("numpy", "numpy"), ("torch", "torch"), ("onnxruntime", "onnxruntime"), ("onnx", "onnx"),
            ("safetensors", "safetensors")])
    os.environ.setdefault("ROBUST_LIB", build_library())
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    sys.path.insert(0, os.path.join(ROOT, "scripts", "torch"))
    import numpy as np
    import onnxruntime as ort
    import torch
    from safetensors.torch import save_file
    import robust
    from resnet_ref import ResNet18

    robust.set_num_threads(threads)
    torch.set_num_threads(1)
    return types.SimpleNamespace(np=np, ort=ort, torch=torch, save_file=save_file, robust=robust, ResNet18=ResNet18,
                                 ort_session=ort_session)


def engines(env, w, threads, rng):
    """A width-w ResNet-18 with random weights, as robust (from its safetensors) and as an ONNX
    Runtime session, checked to compute the same function. Returns (robust model, session,
    256 uint8 images [N, 32, 32, 3], the same normalized [N, 3, 32, 32] for ONNX Runtime, the
    largest probability difference)."""
    np, torch = env.np, env.torch
    torch.manual_seed(w)
    model = env.ResNet18(w).eval()
    # Batch-norm statistics other than 0/1, so that folding them is exercised.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    with tempfile.TemporaryDirectory() as tmp:
        st = os.path.join(tmp, "model.safetensors")
        env.save_file({k: v.contiguous() for k, v in model.state_dict().items()}, st)
        ours = env.robust.Model(st)
    sess = env.ort_session(model, threads)

    images = rng.integers(0, 256, (256, 32, 32, 3), dtype=np.uint8)
    x = ((images.astype(np.float32) / 255 - np.array(MEAN, np.float32)) / np.array(STD, np.float32))
    x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    # Same function: probabilities of the first 16 images.
    logits = sess.run(None, {"x": x[:16]})[0]
    p_ort = np.exp(logits - logits.max(1, keepdims=True))
    p_ort /= p_ort.sum(1, keepdims=True)
    p_ours = np.stack([s.probabilities for s in ours.score_batch(images[:16])])
    diff = float(np.abs(p_ours - p_ort).max())
    if diff > 1e-4:
        sys.exit(f"width {w}: robust and ONNX Runtime disagree (max probability difference {diff:.2e})")
    return ours, sess, images, x, diff


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 32, 16])
    ap.add_argument("--seconds", type=float, default=10, help="per width and batch size, both engines together")
    ap.add_argument("--gap-ms", type=float, default=0.0, help="pause after every call")
    ap.add_argument("--threads", type=int, default=1, help="per engine (see above)")
    ap.add_argument("--turn-ms", type=float, default=0.0, help="turns of back-to-back calls instead of one call (see above)")
    ap.add_argument("--no-throughput", action="store_true", help="only batch-1 latency")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    env = prepare(args.threads)
    np, ort, robust = env.np, env.ort, env.robust
    rng = np.random.default_rng(0)
    results = {}
    print(f"robust {robust.version()} (librobust.so via ctypes) and ONNX Runtime {ort.__version__}, one process, "
          f"{args.threads} threads, " + (f"turns of {args.turn_ms:g} ms alternating" if args.turn_ms > 0 else "calls alternating")
          + f", {args.gap_ms:g} ms pause after each", flush=True)
    for w in args.widths:
        ours, sess, images, x, diff = engines(env, w, args.threads, rng)
        x1 = np.ascontiguousarray(x[:1])

        def turn(call, times):
            """One call, or back-to-back calls for --turn-ms; all durations go to `times`;
            returns the turn's figure (its median)."""
            if args.turn_ms <= 0:
                t = time.perf_counter()
                call()
                times.append(time.perf_counter() - t)
                return times[-1]
            own = back_to_back(call, args.turn_ms)
            times.extend(own)
            return statistics.median(own)

        row = {"max_probability_difference": diff}
        cases = [("latency", lambda: ours.score(images[0]), lambda: sess.run(None, {"x": x1}), 1)]
        if not args.no_throughput:
            cases.append(("throughput", lambda: ours.score_batch(images), lambda: sess.run(None, {"x": x}), 256))
        for name, ours_call, ort_call, batch in cases:
            ours_call(); ort_call()  # warm-up (robust lays out its filters on first use)
            t_ours, t_ort = [], []
            turns_ours, turns_ort = [], []
            t0 = time.perf_counter()
            i = 0
            while time.perf_counter() - t0 < args.seconds or i < 6:
                for who in ((0, 1) if i % 2 == 0 else (1, 0)):
                    if who == 0:
                        turns_ours.append(turn(ours_call, t_ours))
                    else:
                        turns_ort.append(turn(ort_call, t_ort))
                    time.sleep(args.gap_ms / 1000)
                i += 1
            pair = [b / a for a, b in zip(turns_ours, turns_ort)]  # ORT time / robust time: > 1 means robust is faster
            q = quartiles(pair)
            m_ours, m_ort = statistics.median(t_ours), statistics.median(t_ort)
            row[name] = {"pairs": len(pair), "robust_ms": 1000 * m_ours, "ort_ms": 1000 * m_ort,
                         "robust_images_per_s": batch / m_ours, "ort_images_per_s": batch / m_ort,
                         "ort_over_robust_median_pair": q[1], "ort_over_robust_q1": q[0], "ort_over_robust_q3": q[2]}
            print(f"  width {w} {name}: {len(pair)} pairs", file=sys.stderr, flush=True)
        results[w] = row
        ours.close()

    print(f"{'width':>5} {'batch-1 ms robust':>18} {'ORT':>7} {'ORT/robust':>11} {'pairs: median [IQR]':>22}"
          f" {'batch-256 img/s robust':>23} {'ORT':>7} {'robust/ORT':>11} {'pairs: median [IQR]':>22}")
    for w, r in results.items():
        lat = r["latency"]
        line = (f"{w:>5} {lat['robust_ms']:>18.3f} {lat['ort_ms']:>7.3f} {lat['ort_ms'] / lat['robust_ms']:>10.2f}x"
                f" {lat['ort_over_robust_median_pair']:>9.2f}x [{lat['ort_over_robust_q1']:.2f}-{lat['ort_over_robust_q3']:.2f}]")
        if "throughput" in r:
            thr = r["throughput"]
            line += (f" {thr['robust_images_per_s']:>23.0f} {thr['ort_images_per_s']:>7.0f}"
                     f" {thr['robust_images_per_s'] / thr['ort_images_per_s']:>10.2f}x"
                     f" {thr['ort_over_robust_median_pair']:>9.2f}x [{thr['ort_over_robust_q1']:.2f}-{thr['ort_over_robust_q3']:.2f}]")
        print(line)
    print("(ratios above 1: robust faster; probabilities agree to "
          f"{max(r['max_probability_difference'] for r in results.values()):.1e})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "gap_ms": args.gap_ms, "turn_ms": args.turn_ms, "seconds": args.seconds,
                       "widths": {str(k): v for k, v in results.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
