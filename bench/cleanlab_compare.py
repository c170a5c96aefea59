"""Gives cleanlab the same probabilities our label audit decided on and compares the two
flagged sets against the known noise mask of a `audit-cli label-noise --out DIR` run.

    pip install cleanlab numpy
    python3 bench/cleanlab_compare.py DIR [--probabilities mean_probabilities]

Both sides see the probabilities the run's decision used (from DIR/dynamics.safetensors, as
summary.json says: the window's, `ensemble_probabilities` with --ensemble, `oos_probabilities`
with --folds; pass another tensor name to compare on it). Ours: the flagged set in
DIR/flagged.csv. cleanlab: `cleanlab.filter.find_label_issues(labels, pred_probs)` with its
default filter (prune_by_noise_rate) and the other filters, ranked by its default
self-confidence. Writes DIR/cleanlab.json and prints a table.
"""
import argparse
import csv
import json
import os
import time

import numpy as np
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from sklearn.metrics import roc_auc_score

from labelnoise_io import load_safetensors


def quality(flag, bad):
    tp = int(np.sum(flag & bad))
    p = tp / max(int(flag.sum()), 1)
    r = tp / max(int(bad.sum()), 1)
    return {"flagged": int(flag.sum()), "precision": p, "recall": r, "f1": 0 if p + r == 0 else 2 * p * r / (p + r)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--probabilities", help="tensor name, or FILE.safetensors:NAME (default: the one the run's decision used, from summary.json)")
    ap.add_argument("--flagged", help="our flagged set as CSV with index and flagged columns (default: DIR/flagged.csv)")
    a = ap.parse_args()
    d, meta = load_safetensors(os.path.join(a.dir, "dynamics.safetensors"))
    if a.probabilities is None:
        with open(os.path.join(a.dir, "summary.json")) as f:
            summary = json.load(f)
        window = summary["train_config"].get("window", "all")
        if window == "auto":  # the final pass unless the run's memorization guard switched to the early window
            window = "early" if summary.get("memorization", {}).get("detected") else "last"
        a.probabilities = {"all": "mean_probabilities", "late": "late_probabilities", "last": "last_probabilities",
                           "early": "early_probabilities"}[window]
        # the decision used the ensemble's mean or the out-of-sample outputs when the run had them
        if "ensemble" in summary:
            a.probabilities = "ensemble_probabilities"
        elif "out_of_sample" in summary:
            a.probabilities = "oos_probabilities"
    if ":" in a.probabilities:
        path, name = a.probabilities.rsplit(":", 1)
        probs = load_safetensors(path)[0][name].astype(np.float64)
    else:
        probs = d[a.probabilities].astype(np.float64)
    probs /= probs.sum(axis=1, keepdims=True)
    labels = d["given_labels"].astype(int)
    bad = d["mislabeled"].astype(bool)
    ours = np.zeros(len(labels), bool)
    with open(a.flagged or os.path.join(a.dir, "flagged.csv")) as f:
        for r in csv.DictReader(f):
            ours[int(r["index"])] = r["flagged"] == "1"
    results = {"probabilities": a.probabilities, "samples": int(len(labels)), "mislabeled": int(bad.sum()),
               "robust": quality(ours, bad)}
    for method in ["self_confidence", "normalized_margin", "confidence_weighted_entropy"]:
        s = get_label_quality_scores(labels, probs, method=method)
        results[f"cleanlab_auroc_{method}"] = float(roc_auc_score(bad, -s))
    for filt in ["prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given"]:
        t0 = time.time()
        flag = find_label_issues(labels, probs, filter_by=filt)
        results[f"cleanlab_{filt}"] = dict(quality(flag, bad), seconds=time.time() - t0)
        results[f"cleanlab_{filt}"]["jaccard_with_robust"] = float((flag & ours).sum() / max((flag | ours).sum(), 1))
    print(f"{'method':34} flagged  precision  recall     F1  jaccard(robust)")
    for k, v in results.items():
        if isinstance(v, dict):
            print(f"{k:34} {v['flagged']:7d}  {v['precision']:9.3f}  {v['recall']:6.3f}  {v['f1']:5.3f}  {v.get('jaccard_with_robust', 1.0):6.3f}")
    for k, v in results.items():
        if k.startswith("cleanlab_auroc"):
            print(f"{k}: {v:.4f}")
    with open(os.path.join(a.dir, "cleanlab.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
