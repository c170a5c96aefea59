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
import json
import struct
import sys

import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
DTYPES = {"F32": np.float32, "I32": np.int32, "I64": np.int64}


def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    tensors = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        s, e = v["data_offsets"]
        tensors[name] = np.frombuffer(raw[8 + n + s:8 + n + e], dtype=DTYPES[v["dtype"]]).reshape(v["shape"]).copy()
    return tensors, raw, n, header


def main():
    tensors, raw, hn, header = load("t2.safetensors")
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

    def save(path, t, weights):
        out = bytearray(raw)
        for name, arr in (("targets", t), ("weights", weights)):
            s, e = header[name]["data_offsets"]
            data = np.ascontiguousarray(arr, dtype=np.float32).tobytes()
            assert len(data) == e - s
            out[8 + hn + s:8 + hn + e] = data
        open(path, "wb").write(bytes(out))

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
        save(f"t2-{sys.argv[1]}.safetensors", t, weights.astype(np.float32))


if __name__ == "__main__":
    main()
