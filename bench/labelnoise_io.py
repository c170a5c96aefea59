"""Reads what `audit-cli label-noise` and `audit-cli audit-labels --dynamics-out` write:
dynamics.safetensors (per-sample, per-epoch arrays) and epochs.csv. numpy only."""
import csv
import json
import os
import struct

import numpy as np

_DTYPES = {"F32": np.float32, "I64": np.int64}
_NAMES = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}


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


def save_safetensors(path, tensors, meta):
    """Writes {name: ndarray} and the metadata dict as a safetensors file, atomically (a
    temporary file renamed over the target), so `train --targets` can read what scripts derive
    from `audit-labels --targets-out`."""
    header, blobs, at = {"__metadata__": meta}, [], 0
    for name, a in tensors.items():
        data = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": _NAMES[a.dtype], "shape": list(a.shape), "data_offsets": [at, at + len(data)]}
        blobs.append(data)
        at += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(path + ".tmp", path)


def load_epochs(path):
    """epochs.csv as {column: ndarray of float}."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) if r[k] != "" else np.nan for r in rows]) for k in rows[0]}
