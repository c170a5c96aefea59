"""Prints the per-epoch table of a `audit-cli label-noise --out DIR` run as Markdown: test
accuracy, mean entropy clean vs mislabeled and its AUROC (the study's score), memorized and
recovered shares, self-confidence and AUM AUROC, the rule's F1 on the chosen window and the
prediction changes since the previous epoch (Label Wave's signal).

    python3 bench/label_noise_table.py DIR [--window late]
"""
import argparse
import os

from labelnoise_io import load_epochs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--window", default="last", choices=["all", "late", "last", "early", "auto"])
    a = ap.parse_args()
    e = load_epochs(os.path.join(a.dir, "epochs.csv"))
    print("| epoch | test acc | entropy clean / mislabeled | entropy AUROC | memorized | recovered "
          f"| self-conf. AUROC | AUM AUROC | rule F1 ({a.window}) | changes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for i in range(len(e["epoch"])):
        acc = e["test_acc"][i]
        print(f"| {int(e['epoch'][i])} | {'-' if acc != acc else f'{100 * acc:.2f}%'} "
              f"| {e['entropy_clean'][i]:.3f} / {e['entropy_mislabeled'][i]:.3f} | {e['auroc_entropy'][i]:.3f} "
              f"| {100 * e['memorized'][i]:.1f}% | {100 * e['recovered'][i]:.1f}% "
              f"| {e['auroc_self_confidence'][i]:.4f} | {e['auroc_aum'][i]:.4f} | {e[f'rule_f1_{a.window}'][i]:.3f} "
              f"| {'-' if 'prediction_changes' not in e or e['prediction_changes'][i] != e['prediction_changes'][i] else int(e['prediction_changes'][i])} |")


if __name__ == "__main__":
    main()
