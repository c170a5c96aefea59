"""Single-image latency of robust with and without its adaptive worker choice, beside ONNX
Runtime, in one process.

    /tmp/tv/bin/python bench/adaptive_ab.py [--widths 64 32 16] [--seconds 20] [--threads 2]
                                            [--turn-ms 50] [--gap-ms 20] [--phases]

robust chooses per call between one worker and all of them by timing both (WorkerChoice,
robust_set_adaptive_workers). Whether that pays depends on the phase the VM is in, which moves
within minutes, so the three players take turns in one process: robust adaptive, robust on
all workers, ONNX Runtime, in each of the six orders in turn, T ms of back-to-back calls each, a pause after
each turn (as `bench/interleaved.py --turn-ms`). Each round's three turn medians give paired
ratios; the script prints their medians and quartiles per width.
"""
import argparse
import itertools
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from interleaved import back_to_back, engines, prepare, quartiles  # noqa: E402


# All six orders in turn: each player follows each other player equally often. (With three
# rotations, robust adaptive followed ONNX Runtime in two rounds of three and robust fixed in
# one, and a turn right after ONNX Runtime's starts slower: 9-13 ms at width 64 against 5.2.)
ORDERS = list(itertools.permutations(range(3)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 32, 16])
    ap.add_argument("--seconds", type=float, default=20, help="per width, all players together")
    ap.add_argument("--threads", type=int, default=2, help="per engine")
    ap.add_argument("--turn-ms", type=float, default=50)
    ap.add_argument("--gap-ms", type=float, default=20)
    ap.add_argument("--phases", action="store_true",
                    help="also split the rounds by the VM's phase (fast / slow, from ONNX Runtime's own turns)")
    args = ap.parse_args()

    env = prepare(args.threads)
    np, robust = env.np, env.robust
    rng = np.random.default_rng(0)
    print(f"robust {robust.version()}: adaptive worker choice on and off, beside ONNX Runtime, one process, "
          f"{args.threads} threads, turns of {args.turn_ms:g} ms, {args.gap_ms:g} ms pause after each", flush=True)
    print(f"{'width':>5} {'rounds':>7} {'adaptive/fixed':>15} {'[IQR]':>13} {'ORT/adaptive':>13} {'ORT/fixed':>10}"
          f" {'ms adaptive':>12} {'fixed':>7} {'ORT':>7}")
    for w in args.widths:
        ours, sess, images, x, _ = engines(env, w, args.threads, rng)
        image, x1 = images[0], np.ascontiguousarray(x[:1])

        def turn(call):
            own = back_to_back(call, args.turn_ms)
            time.sleep(args.gap_ms / 1000)
            return statistics.median(own)

        def robust_call(adaptive):
            def call():
                robust.set_adaptive_workers(adaptive)
                ours.score(image)
            return call

        players = [robust_call(True), robust_call(False), lambda: sess.run(None, {"x": x1})]
        for p in players:
            p()
        rounds = []
        t0 = time.perf_counter()
        i = 0
        while time.perf_counter() - t0 < args.seconds or i < 6:
            order = ORDERS[i % len(ORDERS)]
            figures = [0.0, 0.0, 0.0]
            for k in order:
                figures[k] = turn(players[k])
            rounds.append(figures)
            i += 1
        robust.set_adaptive_workers(True)

        def row(label, rs):
            if len(rs) < 4:
                print(f"{label:>5} {len(rs):>7}  (too few rounds)")
                return
            ad, fx, ort = zip(*rs)
            q = quartiles([a / f for a, f, _ in rs])
            print(f"{label:>5} {len(rs):>7} {q[1]:>14.3f}x [{q[0]:.2f}-{q[2]:.2f}]"
                  f" {statistics.median([o / a for a, _, o in rs]):>12.2f}x {statistics.median([o / f for _, f, o in rs]):>9.2f}x"
                  f" {1000 * statistics.median(ad):>12.3f} {1000 * statistics.median(fx):>7.3f} {1000 * statistics.median(ort):>7.3f}",
                  flush=True)

        row(str(w), rounds)
        if args.phases:
            # The VM moves between phases within minutes (README: in slow ones the traffic between
            # the two vCPUs costs about twice as much). ONNX Runtime's own turn says which one a
            # round was in: slow when its median is 15% over its fastest rounds' (first decile).
            floor = statistics.quantiles([o for _, _, o in rounds], n=10)[0]
            fast = [r for r in rounds if r[2] <= 1.15 * floor]
            slow = [r for r in rounds if r[2] > 1.15 * floor]
            row("fast", fast)
            row("slow", slow)
        ours.close()
    print("(adaptive/fixed below 1: the choice helped; ORT/x above 1: robust faster)")


if __name__ == "__main__":
    main()
