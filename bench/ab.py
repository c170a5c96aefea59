#!/usr/bin/env python3
"""Paired A/B of two settings of one environment variable on `audit-cli bench`.

This machine's speed swings by up to 2x within minutes, so single runs compare nothing. The
two settings run alternately, N pairs, and the table gives the median of the per-pair ratios
(B over A) for each width and figure: what a change gained, with its spread.

    python3 bench/ab.py ROBUST_SIMD sse avx2 --pairs 8 -- --widths 32 16 --seconds 1.5

Two builds instead of two settings: give B's binary with --cli-b (and the same value twice):

    python3 bench/ab.py - x x --cli OLD/audit-cli --cli-b .build/release/audit-cli -- --widths 16
"""
import argparse, json, os, statistics, subprocess, sys

p = argparse.ArgumentParser()
p.add_argument("var"); p.add_argument("a"); p.add_argument("b")
p.add_argument("--pairs", type=int, default=6)
p.add_argument("--cli", default=".build/release/audit-cli")
p.add_argument("--cli-b", help="B's binary (default: --cli)")
argv = sys.argv[1:]
cut = argv.index("--") if "--" in argv else len(argv)
args = p.parse_args(argv[:cut])
rest = argv[cut + 1:]  # audit-cli bench's own arguments

def run(value, cli):
    env = dict(os.environ, **{args.var: value}) if args.var != "-" else dict(os.environ)
    out = subprocess.run([cli, "bench", "--json", *rest], env=env, capture_output=True, text=True, check=True).stdout
    return {(r["width"]): r for r in map(json.loads, filter(None, out.splitlines()))}

ratios = {}
for i in range(args.pairs):
    ra, rb = run(args.a, args.cli), run(args.b, args.cli_b or args.cli)
    for w in ra:
        for k in ("train_images_per_s", "infer_images_per_s", "latency_ms"):
            if k in ra[w] and k in rb[w]:
                ratios.setdefault((w, k), []).append(rb[w][k] / ra[w][k])
    print(f"pair {i + 1}/{args.pairs}: " + "  ".join(f"w{w} {k.split('_')[0]} {v[-1]:.3f}" for (w, k), v in sorted(ratios.items())),
          file=sys.stderr, flush=True)

what = f"{args.cli_b} over {args.cli}" if args.cli_b else f"{args.var}: {args.b} over {args.a}"
print(f"{what}, median of {args.pairs} paired ratios (min..max)")
print(f"{'width':>5}  {'figure':<12} {'median':>7}  range")
for (w, k), v in sorted(ratios.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
    note = " (lower is better)" if k == "latency_ms" else ""
    print(f"{w:>5}  {k:<12} {statistics.median(v):7.3f}  {min(v):.3f}..{max(v):.3f}{note}")
