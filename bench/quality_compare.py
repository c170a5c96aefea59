"""Detecting damaged uploads: robust's quality checks against cleanvision 0.3.7 on the same images.

    python3 bench/quality_compare.py --data ../shared/data/cifar10-jpeg --out bench/results/quality

Writes the CIFAR-10 test images (or --limit of them, spread over the classes) as PNG, clean and
damaged: Gaussian noise sigma 0.08 / 0.12 / 0.2 on [0,1] pixels and Gaussian blur sigma
1.0 / 1.5 / 2.5 (scipy, border "nearest", truncate 4, the corruptions robust uses), all
rounded to 8 bits. Then runs `audit-cli quality DIR --all` (thresholds: the calibration file,
made on the 50,000 training images, never on these) and cleanvision's Imagelab on every
folder, and reports for each damage: AUROC of each score for clean vs damaged, the share of
damaged images each tool's default thresholds flag, and the share of clean ones.
Also a plain variance-of-Laplacian score (numpy) as the baseline the issue names.
Needs numpy, scipy, pillow, scikit-learn, cleanvision==0.3.7 (pip).
"""
import argparse, csv, glob, json, os, subprocess, sys, time

import numpy as np
from PIL import Image
from scipy.ndimage import convolve, gaussian_filter
from sklearn.metrics import roc_auc_score

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="../shared/data/cifar10-jpeg")
ap.add_argument("--out", default="bench/results/quality")
ap.add_argument("--work", default="/tmp/robust-quality-compare")
ap.add_argument("--limit", type=int, default=0, help="test images to use (0: all)")
ap.add_argument("--cli", default=".build/release/audit-cli")
ap.add_argument("--calibration", default="models/cifar10-quality.json")
ap.add_argument("--no-cleanvision", action="store_true")
ap.add_argument("--fresh", action="store_true", help="run cleanvision again even where its scores are cached in --work")
args = ap.parse_args()

files = sorted(glob.glob(os.path.join(args.data, "test", "*", "*")))
if args.limit:
    files = [files[i * len(files) // args.limit] for i in range(args.limit)]
X = np.stack([np.asarray(Image.open(f).convert("RGB"), dtype=np.float64) / 255 for f in files])
rng = np.random.default_rng(0)
damages = {"clean": lambda x: x}
for s in (0.08, 0.12, 0.2):
    damages[f"noise{s}"] = (lambda s: lambda x: x + rng.normal(0, s, x.shape))(s)
for s in (1.0, 1.5, 2.5):
    damages[f"blur{s}"] = (lambda s: lambda x: np.stack([gaussian_filter(im, (s, s, 0), mode="nearest") for im in x]))(s)

L = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)
results = {}
for name, f in damages.items():
    d = os.path.join(args.work, name)
    os.makedirs(d, exist_ok=True)
    imgs = np.clip(np.round(np.clip(f(X), 0, 1) * 255), 0, 255).astype(np.uint8)
    for i, im in enumerate(imgs):
        Image.fromarray(im).save(os.path.join(d, f"{i:05d}.png"))
    out_csv = os.path.join(args.work, name + ".csv")
    t0 = time.time()
    rc = subprocess.run([args.cli, "quality", d, "--all", "--calibration", args.calibration, "--out", out_csv],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if rc.returncode not in (0, 1):   # 1: something was flagged
        sys.exit(f"audit-cli quality failed on {d}: {rc.stderr}")
    ours_s = time.time() - t0
    rows = {os.path.basename(r["path"]): r for r in csv.DictReader(open(out_csv))}
    order = [f"{i:05d}.png" for i in range(len(imgs))]
    gray = imgs.astype(np.float64) / 255 @ np.array([0.299, 0.587, 0.114])
    res = {
        "detail": np.array([float(rows[k]["detail"]) for k in order]),
        "flags": [rows[k]["flags"] for k in order],
        "laplacian_var": np.array([convolve(g, L, mode="nearest")[1:-1, 1:-1].var() for g in gray]),
        "ours_seconds": ours_s,
    }
    if not args.no_cleanvision:
        import pandas as pd
        cache = os.path.join(args.work, name + ".cleanvision.csv")
        if os.path.exists(cache) and not args.fresh:
            # the images are the same (seeded); cleanvision's scores of them were kept
            iss = pd.read_csv(cache, index_col=0)
            res["cleanvision_seconds"] = float(open(cache + ".seconds").read())
        else:
            from cleanvision import Imagelab
            t0 = time.time()
            lab = Imagelab(data_path=d)
            lab.find_issues(verbose=False)
            res["cleanvision_seconds"] = time.time() - t0
            iss = lab.issues.copy()
            iss.index = [os.path.basename(p) for p in iss.index]
            iss.to_csv(cache)
            open(cache + ".seconds", "w").write(str(res["cleanvision_seconds"]))
        iss = iss.loc[order]
        res["cv_blurry_score"] = iss["blurry_score"].to_numpy()
        res["cv_is_blurry"] = iss["is_blurry_issue"].to_numpy()
        res["cv_any"] = iss[[c for c in iss.columns if c.startswith("is_") and c.endswith("_issue")]].any(axis=1).to_numpy()
    results[name] = res
    print(f"{name}: {len(imgs)} images, audit-cli quality {ours_s:.1f} s"
          + (f", cleanvision {res['cleanvision_seconds']:.1f} s" if "cleanvision_seconds" in res else ""), file=sys.stderr)


def auroc(clean, damaged, higher_is_damaged=True):
    y = np.r_[np.zeros(len(clean)), np.ones(len(damaged))]
    s = np.r_[clean, damaged]
    return float(roc_auc_score(y, s if higher_is_damaged else -s))


def flagged(res, which):
    return float(np.mean([any(w in f.split("+") for w in which) for f in res["flags"]]))


c = results["clean"]
table = []
for name, r in results.items():
    if name == "clean":
        continue
    noise = name.startswith("noise")
    row = {
        "damage": name,
        "ours_auroc": auroc(c["detail"], r["detail"], higher_is_damaged=noise),
        "ours_flagged": flagged(r, ["noisy"] if noise else ["blurry"]),
        "ours_flagged_noisy_or_blurry": flagged(r, ["noisy", "blurry"]),
        "laplacian_var_auroc": auroc(c["laplacian_var"], r["laplacian_var"], higher_is_damaged=noise),
        "laplacian_var_auroc_two_sided": max(auroc(c["laplacian_var"], r["laplacian_var"]),
                                             auroc(c["laplacian_var"], r["laplacian_var"], False)),
    }
    if "cv_blurry_score" in r:
        # cleanvision: a low blurry_score means blurry
        row["cleanvision_blurry_auroc"] = auroc(c["cv_blurry_score"], r["cv_blurry_score"], higher_is_damaged=False)
        row["cleanvision_flagged_blurry"] = float(np.mean(r["cv_is_blurry"]))
        row["cleanvision_flagged_any"] = float(np.mean(r["cv_any"]))
    table.append(row)
summary = {
    "images": len(files),
    "clean_flagged_noisy_or_blurry": flagged(c, ["noisy", "blurry"]),
    "clean_flagged_any": float(np.mean([f != "" for f in c["flags"]])),
    "rows": table,
}
if "cv_is_blurry" in c:
    summary["cleanvision_clean_flagged_blurry"] = float(np.mean(c["cv_is_blurry"]))
    summary["cleanvision_clean_flagged_any"] = float(np.mean(c["cv_any"]))
os.makedirs(args.out, exist_ok=True)
json.dump(summary, open(os.path.join(args.out, "quality_compare.json"), "w"), indent=1)

print(f"{len(files)} CIFAR-10 test images; clean images flagged noisy or blurry by robust: "
      f"{100 * summary['clean_flagged_noisy_or_blurry']:.2f}% (any flag: {100 * summary['clean_flagged_any']:.2f}%)"
      + (f"; by cleanvision blurry: {100 * summary['cleanvision_clean_flagged_blurry']:.2f}% (any issue: "
         f"{100 * summary['cleanvision_clean_flagged_any']:.2f}%)" if "cleanvision_clean_flagged_blurry" in summary else ""))
hdr = ["damage", "ours AUROC", "ours flagged", "Lap-var AUROC", "cleanvision blurry AUROC", "cleanvision flagged blurry", "cleanvision any issue"]
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
for r in table:
    cells = [r["damage"], f"{r['ours_auroc']:.4f}", f"{100 * r['ours_flagged']:.1f}%", f"{r['laplacian_var_auroc']:.4f}",
             f"{r.get('cleanvision_blurry_auroc', float('nan')):.4f}", f"{100 * r.get('cleanvision_flagged_blurry', float('nan')):.1f}%",
             f"{100 * r.get('cleanvision_flagged_any', float('nan')):.1f}%"]
    print("| " + " | ".join(cells) + " |")
