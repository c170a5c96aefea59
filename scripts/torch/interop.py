"""Weights interoperability with PyTorch, both ways (issue acceptance: safetensors interop).

    python3 scripts/torch/interop.py --ours runs/main/model.safetensors [--data ../shared/data/cifar10-jpeg]

1. PyTorch -> robust: a ResNet-18 state_dict saved with safetensors.torch.save_file loads in
   `audit-cli eval` and gives the same classes (and probabilities to ~1e-5) as PyTorch.
2. robust -> PyTorch: a file written by `audit-cli train` loads with load_state_dict(strict=True)
   and PyTorch predicts the same classes as robust.
Both sides read the same PNG files (written here from the dataset's test images, or generated),
so no decoder difference can enter the comparison.
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet_ref import ResNet18  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)


def make_png_folder(data, out, per_class):
    paths = []
    for ci, name in enumerate(CLASSES):
        os.makedirs(os.path.join(out, name), exist_ok=True)
        src_dir = os.path.join(data, "test", name) if data else None
        files = sorted(os.listdir(src_dir))[:per_class] if src_dir and os.path.isdir(src_dir) else [None] * per_class
        for i, f in enumerate(files):
            if f is None:
                rng = np.random.default_rng(ci * 1000 + i)
                img = Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
            else:
                img = Image.open(os.path.join(src_dir, f)).convert("RGB")
            p = os.path.join(out, name, f"{i:04d}.png")
            img.save(p)
            paths.append((p, ci))
    return paths


def torch_predict(model, paths):
    x = np.stack([(np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255 - MEAN) / STD for p, _ in paths])
    x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    model.eval()
    with torch.no_grad():
        return torch.softmax(model(x), 1).numpy()


def robust_predict(cli, model_path, folder, tmp):
    pred = os.path.join(tmp, "pred.csv")
    subprocess.run([cli, "eval", "--model", model_path, "--data", folder, "--predictions", pred],
                   check=True, stdout=subprocess.DEVNULL)
    rows = {}
    with open(pred) as f:
        for r in csv.DictReader(f):
            rows[os.path.abspath(r["source"])] = np.array([float(r["p_" + c]) for c in CLASSES], dtype=np.float32)
    return rows


def compare(name, paths, p_torch, rows):
    p_ours = np.stack([rows[os.path.abspath(p)] for p, _ in paths])
    agree = int((p_ours.argmax(1) == p_torch.argmax(1)).sum())
    diff = float(np.abs(p_ours - p_torch).max())
    print(f"{name}: {agree}/{len(paths)} same predicted class, max |p_robust - p_torch| = {diff:.2e}")
    return agree == len(paths) and diff < 1e-4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", help="a model written by audit-cli train")
    ap.add_argument("--data", default=os.environ.get("ROBUST_DATA", os.path.join(ROOT, "..", "shared", "data", "cifar10-jpeg")))
    ap.add_argument("--per-class", type=int, default=50)
    ap.add_argument("--width", type=int, default=16)
    args = ap.parse_args()
    bin_path = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    cli = os.path.join(bin_path, "audit-cli")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "images")
        paths = make_png_folder(args.data if os.path.isdir(args.data) else None, folder, args.per_class)

        # 1. PyTorch -> robust. Perturb BN statistics so eval mode is not trivial.
        torch.manual_seed(1)
        model = ResNet18(args.width)
        with torch.no_grad():
            for n, b in model.named_buffers():
                if n.endswith("running_mean"):
                    b.normal_(0, 0.1)
                elif n.endswith("running_var"):
                    b.uniform_(0.5, 1.5)
        theirs = os.path.join(tmp, "torch.safetensors")
        save_file(model.state_dict(), theirs)
        ok &= compare("PyTorch state_dict -> robust", paths, torch_predict(model, paths),
                      robust_predict(cli, theirs, folder, tmp))

        # 2. robust -> PyTorch
        if args.ours:
            sd = load_file(args.ours)
            width = sd["conv1.weight"].shape[0]
            m2 = ResNet18(width, sd["linear.weight"].shape[0])
            m2.load_state_dict(sd, strict=True)
            print(f"robust file -> PyTorch: load_state_dict(strict=True) ok ({len(sd)} tensors, width {width})")
            ok &= compare("robust model -> PyTorch", paths, torch_predict(m2, paths),
                          robust_predict(cli, args.ours, folder, tmp))
    print("interop:", "ok" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
