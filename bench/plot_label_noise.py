"""Pictures of a label-noise run (`audit-cli label-noise --out DIR`):
  DIR/entropy_hist.png  entropy histograms, clean vs mislabeled, at chosen epochs
  DIR/curves.png        per epoch: test accuracy, mean entropy of both groups, memorization and
                        recovery, prediction changes, and the AUROC of every score

    python3 bench/plot_label_noise.py DIR [--epochs 1 4 8 15]
"""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from labelnoise_io import load_epochs, load_safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--epochs", type=int, nargs="*", help="epochs for the histograms (default: 4 spread over the run)")
    a = ap.parse_args()
    d, meta = load_safetensors(os.path.join(a.dir, "dynamics.safetensors"))
    ep = load_epochs(os.path.join(a.dir, "epochs.csv"))
    bad = d["mislabeled"].astype(bool)
    n_ep = d["entropy"].shape[0]
    chosen = a.epochs or sorted({1, max(1, n_ep // 3), max(1, 2 * n_ep // 3), n_ep})
    chosen = [e for e in chosen if 1 <= e <= n_ep]

    fig, axes = plt.subplots(1, len(chosen), figsize=(3.6 * len(chosen), 3.2), sharey=True)
    axes = np.atleast_1d(axes)
    hmax = float(np.log(d["mean_probabilities"].shape[1]))
    bins = np.linspace(0, hmax, 41)
    for ax, e in zip(axes, chosen):
        h = d["entropy"][e - 1]
        ax.hist(h[~bad], bins=bins, density=True, alpha=0.55, label=f"clean (mean {h[~bad].mean():.2f})")
        ax.hist(h[bad], bins=bins, density=True, alpha=0.55, label=f"mislabeled (mean {h[bad].mean():.2f})")
        ax.set_title(f"epoch {e}")
        ax.set_xlabel("softmax entropy (nats)")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("density")
    fig.suptitle(f"label-blind entropy, {meta.get('dynamics_pass', '?')} pass")
    fig.tight_layout()
    fig.savefig(os.path.join(a.dir, "entropy_hist.png"), dpi=120)

    x = ep["epoch"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    if not np.all(np.isnan(ep["test_acc"])):
        axes[0].plot(x, 100 * ep["test_acc"], marker="o", label="test accuracy")
    axes[0].plot(x, 100 * ep["memorized"], marker="o", label="mislabeled predicted as given (memorized)")
    axes[0].plot(x, 100 * ep["recovered"], marker="o", label="mislabeled predicted as true (recovered)")
    axes[0].set_ylabel("%")
    axes[0].legend(fontsize=7, loc="upper left")
    if "prediction_changes" in ep and not np.all(np.isnan(ep["prediction_changes"])):
        # Label Wave's signal: where it first rises again, the wrong labels start to be fitted
        twin = axes[0].twinx()
        twin.plot(x, ep["prediction_changes"], color="grey", ls=":", marker=".", label="prediction changes")
        twin.set_ylabel("samples whose prediction changed")
        twin.legend(fontsize=7, loc="lower right")
    axes[1].plot(x, ep["entropy_clean"], marker="o", label="clean")
    axes[1].plot(x, ep["entropy_mislabeled"], marker="o", label="mislabeled")
    axes[1].set_ylabel("mean entropy (nats)")
    axes[1].legend(fontsize=7)
    for k in [c for c in ep if c.startswith("auroc_")]:
        axes[2].plot(x, ep[k], marker=".", label=k[6:])
    axes[2].axhline(0.98, color="grey", lw=0.8, ls="--")
    axes[2].set_ylabel("AUROC, mislabeled vs clean")
    axes[2].legend(fontsize=7, ncol=2)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(a.dir, "curves.png"), dpi=120)
    print(f"wrote {a.dir}/entropy_hist.png and {a.dir}/curves.png")


if __name__ == "__main__":
    main()
