#!/usr/bin/env python3
"""AUROC of an `audit-cli audit-labels --all` score column against a run's noise mask.

    audit-cli audit-labels --data DIR --model RUN/noisy.safetensors --labels RUN/noise.csv \
        --views 6 --all --out scores.csv
    python3 bench/auroc_from_csv.py RUN/noise.csv scores.csv

noise.csv (written by `label-noise`) has `index` and `mislabeled` (1 for a changed label);
scores.csv has `index` and `score` (higher: more likely mislabeled). Ties share their mean rank
(the Mann-Whitney statistic), as the engine's own AUROC does. Needs numpy only.
"""
import csv
import sys

import numpy as np


def auroc(scores, positives):
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores))
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    p = positives.sum()
    n = len(positives) - p
    return (ranks[positives == 1].sum() - p * (p + 1) / 2) / (p * n)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: auroc_from_csv.py NOISE.csv SCORES.csv")
    noise_path, scores_path = sys.argv[1:]
    mislabeled = {int(r["index"]): int(r["mislabeled"]) for r in csv.DictReader(open(noise_path))}
    rows = list(csv.DictReader(open(scores_path)))
    indices = [int(r["index"]) for r in rows]
    if sorted(indices) != sorted(mislabeled):
        sys.exit(f"{scores_path}: its indices are not {noise_path}'s, each once "
                 f"({len(rows)} rows for {len(mislabeled)} samples; write every sample's score with --all)")
    scores = np.array([float(r["score"]) for r in rows])
    if np.isnan(scores).any():
        sys.exit(f"{scores_path}: {int(np.isnan(scores).sum())} scores are NaN")
    positives = np.array([mislabeled[int(r["index"])] for r in rows])
    if positives.sum() in (0, len(positives)):
        sys.exit(f"{scores_path}: AUROC needs both mislabeled and clean rows (use --all)")
    print(f"{scores_path}: {len(rows)} rows, {positives.sum()} mislabeled, AUROC {auroc(scores, positives):.5f}")


if __name__ == "__main__":
    main()
