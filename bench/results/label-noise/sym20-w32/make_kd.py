"""Distillation without the flags, from teacher weight 0.5 targets (sym20-w32).

    python make_kd.py t32.safetensors flagged32.csv t32-kd.safetensors

Every sample's target becomes 0.5 onehot(given) + 0.5 p, weight 1, where p is the auditor's
probabilities: what `audit-labels --teacher-weight 0.5` gives the unflagged samples, now given
to the flagged ones too. The flagged rows of the source hold p itself; the unflagged rows hold
0.5 onehot + 0.5 p already. A student on these targets has the wider model's distillation but
no cleaning decision.
"""
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from labelnoise_io import load_safetensors, save_safetensors  # noqa: E402  (bench/)


def main():
    src, flagged_csv, dst = sys.argv[1:4]
    tensors, meta = load_safetensors(src)
    t, w = tensors["targets"].copy(), tensors["weights"].copy()
    given = tensors["given_labels"].astype(np.int64)
    flagged = np.zeros(len(given), dtype=bool)
    for r in csv.DictReader(open(flagged_csv)):
        flagged[int(r["index"])] = r["flagged"] == "1"
    onehot = np.eye(t.shape[1], dtype=np.float32)[given]
    t[flagged] = 0.5 * onehot[flagged] + 0.5 * t[flagged]
    w[:] = 1
    save_safetensors(dst, dict(tensors, targets=t, weights=w), meta)
    print(f"{flagged.sum()} flagged rows now 0.5 onehot(given) + 0.5 p, all weights 1 -> {dst}")


if __name__ == "__main__":
    main()
