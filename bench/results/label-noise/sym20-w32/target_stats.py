"""How right soft-relabeling targets are, against the true labels (sym20-w32).

    python target_stats.py t32.safetensors noise.csv

Reads the targets that `audit-labels --targets-out` wrote and label-noise's noise.csv (true
and given labels) and prints, for the flagged samples (weight below 1) and for all: how many
targets' top class is wrong, split into correctly labeled images moved away from their label
and wrong labels given a wrong suggestion, and the mean weight of each group.
"""
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from labelnoise_io import load_safetensors  # noqa: E402  (bench/)

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def main():
    tensors, _ = load_safetensors(sys.argv[1])
    rows = list(csv.DictReader(open(sys.argv[2])))
    truth = np.array([CLASSES.index(r["true_label"]) for r in rows])
    given = np.array([CLASSES.index(r["given_label"]) for r in rows])
    t, w = tensors["targets"], tensors["weights"]
    top = t.argmax(1)
    flagged = w < 0.999
    mislabeled = truth != given
    wrong = top != truth
    groups = {
        "flagged, correctly labeled (moved away)": flagged & ~mislabeled,
        "flagged, wrong label, right suggestion": flagged & mislabeled & ~wrong,
        "flagged, wrong label, wrong suggestion": flagged & mislabeled & wrong,
        "unflagged, wrong label": ~flagged & mislabeled,
    }
    print(f"flagged {flagged.sum()}, of them wrong labels {int((flagged & mislabeled).sum())}")
    for name, g in groups.items():
        mw = float(w[g].mean()) if g.any() else float("nan")
        print(f"{name:42s} {int(g.sum()):6d}  mean weight {mw:.3f}  top class wrong {int((g & wrong).sum())}")
    print(f"targets whose top class is wrong: {int(wrong.sum())} of {len(truth)}"
          f" (weighted {float((w * wrong).sum()):.0f})")


if __name__ == "__main__":
    main()
