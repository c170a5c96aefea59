"""Reads what `audit-cli label-noise` and `audit-cli audit-labels --dynamics-out` write:
dynamics.safetensors (per-sample, per-epoch arrays) and epochs.csv. numpy only."""
import csv
import json
import struct

import numpy as np

_DTYPES = {"F32": np.float32, "I64": np.int64}


def load_safetensors(path):
    """{name: ndarray} and the metadata dict of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(raw[base + a : base + b], dtype=_DTYPES[e["dtype"]]).reshape(e["shape"])
    return out, meta


def load_epochs(path):
    """epochs.csv as {column: ndarray of float}."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) if r[k] != "" else np.nan for r in rows]) for k in rows[0]}
