"""Draws the cost curves written by `audit-cli bench --curves FILE.csv` (images/s against batch
size, one line per width, inference and training side by side) to a PNG.

    audit-cli bench --widths 64 32 16 --seconds 1 --curves curves.csv
    python3 bench/plot_curves.py curves.csv curves.png
"""
import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    series = defaultdict(list)
    with open(src) as f:
        for r in csv.DictReader(f):
            series[(r["mode"], int(r["width"]))].append((int(r["batch"]), float(r["images_per_s"])))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, mode in zip(axes, ["inference", "training"]):
        for (m, w), pts in sorted(series.items(), key=lambda kv: -kv[0][1]):
            if m != mode:
                continue
            pts.sort()
            ax.plot([b for b, _ in pts], [v for _, v in pts], marker="o", label=f"width {w}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_ylabel("images / s")
        ax.set_title(f"robust ResNet-18 {mode}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(dst, dpi=110)
    print("wrote", dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
