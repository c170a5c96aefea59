"""Variants of soft relabeling targets, scored against the true labels (sym20-rounds).

Reads `t2.safetensors` (written by `audit-labels --targets-out`) and `r1/noise.csv` (the
true and given labels), prints for each variant how many targets' top class is wrong, the
weighted count of those, and the weighted target mass off the true class; with an argument
writes that variant beside the original, keeping its header and metadata (so `train
--targets` accepts it):

    python reweight_targets.py        # figures only
    python reweight_targets.py A      # t2-A.safetensors: flagged samples' weights squared
    python reweight_targets.py C      # t2-C.safetensors: flagged targets w p + (1 - w) onehot(given), weight 1

A flagged sample is one whose weight is below 1 (unflagged samples keep weight 1).
"""
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from labelnoise_io import load_safetensors, save_safetensors  # noqa: E402  (bench/)

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def main():
    tensors, meta = load_safetensors("t2.safetensors")
    rows = list(csv.DictReader(open("r1/noise.csv")))
    truth = np.array([CLASSES.index(r["true_label"]) for r in rows])
    given = np.array([CLASSES.index(r["given_label"]) for r in rows])
    targets, w = tensors["targets"], tensors["weights"]
    flagged = w < 0.999
    rows_idx = np.arange(len(truth))

    def stats(name, t, weights):
        wrong = t.argmax(1) != truth
        off = float((weights * (1 - t[rows_idx, truth])).sum() / weights.sum())
        print(f"{name:34s} top class wrong {wrong.sum():5d}  weighted {float((weights * wrong).sum()):7.0f}  "
              f"weighted mass off the true class {off:.3f}  total weight {weights.sum():.0f}")

    onehot = np.eye(len(CLASSES), dtype=np.float32)[given]
    mixed = targets.copy()
    mixed[flagged] = w[flagged, None] * targets[flagged] + (1 - w[flagged, None]) * onehot[flagged]
    variants = {
        "": (targets, w, "as written"),
        "A": (targets, np.where(flagged, w * w, w), "A: flagged weights squared"),
        "B": (targets, np.where(flagged & (w < 0.5), 0, w), "B: flags under weight 0.5 dropped"),
        "C": (mixed, np.where(flagged, 1, w), "C: w p + (1 - w) given, weight 1"),
    }
    for key, (t, weights, name) in variants.items():
        stats(name, t, weights)
    if len(sys.argv) > 1:
        t, weights, _ = variants[sys.argv[1]]
        save_safetensors(f"t2-{sys.argv[1]}.safetensors",
                         dict(tensors, targets=t.astype(np.float32), weights=weights.astype(np.float32)), meta)


if __name__ == "__main__":
    main()
