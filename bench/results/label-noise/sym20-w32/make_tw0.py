"""Teacher weight 0 from teacher weight 0.5 targets, without a second scoring pass (sym20-w32).

    python make_tw0.py t32.safetensors flagged32.csv t32-tw0.safetensors

`audit-labels --teacher-weight W` gives flagged samples the model's probabilities whatever W
is, and unflagged ones (1 - W) onehot(given) + W p. So the W = 0 targets are the same file
with every unflagged row one-hot on its given label (weight 1): the cleaning without the
distillation towards the auditor on the 80% of the data it does not flag.
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
    given = tensors["given_labels"].astype(np.int64)  # as make_kd.py: the labels the targets were made from
    flagged = np.zeros(len(given), dtype=bool)
    for r in csv.DictReader(open(flagged_csv)):
        flagged[int(r["index"])] = r["flagged"] == "1"
    keep = ~flagged
    t[keep] = np.eye(t.shape[1], dtype=np.float32)[given[keep]]
    w[keep] = 1
    tensors = dict(tensors, targets=t, weights=w)
    if "teacher_weight" in meta:
        meta = dict(meta, teacher_weight="0")
    save_safetensors(dst, tensors, meta)
    print(f"{flagged.sum()} flagged rows kept, {keep.sum()} unflagged rows one-hot on the given label -> {dst}")


if __name__ == "__main__":
    main()
