#!/usr/bin/env python3
"""One picture of several `audit-cli fusion` runs (their fusion.json files).

    python3 bench/plot_fusion.py OUT.png RUN_DIR [RUN_DIR ...]

Left: per recipe, what the prediction followed on the conflict test (image, neither,
metadata), with the recipe's image-only accuracy marked: the target is a blue bar reaching
within 5 points of the mark. Right: the trade-off, consistent-pair accuracy against the share
of conflicts that followed the image, with the plain ResNet-18's accuracy as a line.
Also prints the combined table as CSV on stdout.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(dirs):
    rows, baseline = [], None
    for d in dirs:
        with open(os.path.join(d, "fusion.json")) as f:
            doc = json.load(f)
        baseline = doc.get("baseline_accuracy") or baseline
        for r in doc["recipes"]:
            c = r["conflict"]
            n = c["images"]
            rows.append({
                "recipe": r["recipe"], "start": r.get("image_start", "loaded"),
                # per-epoch measures: "history" (older files had them under a second "epochs" key)
                "epochs": len(r.get("history") or (r["epochs"] if isinstance(r.get("epochs"), list) else [])),
                "meta": c["followed_metadata"] / n, "image": c["followed_image"] / n, "neither": c["neither"] / n,
                "image_only": r["image_only_accuracy"], "consistent": r["consistent_accuracy"],
                "metadata_reliance": r["permutation"]["metadata_reliance"],
                "image_reliance": r["permutation"]["image_reliance"], "images": n,
            })
    return rows, baseline


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    out, dirs = sys.argv[1], sys.argv[2:]
    rows, baseline = load(dirs)
    keys = ["recipe", "start", "epochs", "images", "meta", "image", "neither", "image_only", "consistent",
            "metadata_reliance", "image_reliance"]
    print(",".join(keys))
    for r in rows:
        print(",".join(str(r[k]) for k in keys))

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(14, 0.42 * len(rows) + 2.2), gridspec_kw={"width_ratios": [1.6, 1]})
    y = list(range(len(rows)))[::-1]
    img = [100 * r["image"] for r in rows]
    nei = [100 * r["neither"] for r in rows]
    met = [100 * r["meta"] for r in rows]
    ax.barh(y, img, color="#1f77b4", label="followed image")
    ax.barh(y, nei, left=img, color="#bbbbbb", label="neither")
    ax.barh(y, met, left=[a + b for a, b in zip(img, nei)], color="#d62728", label="followed metadata")
    for yi, r in zip(y, rows):
        ax.plot([100 * r["image_only"]] * 2, [yi - 0.4, yi + 0.4], color="black", lw=2.5)
    ax.plot([], [], color="black", lw=2.5, label="image-only accuracy")
    ax.set_yticks(y)
    ax.set_yticklabels([r["recipe"] for r in rows], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% of {rows[0]['images']} conflicting test pairs")
    ax.set_title("Conflict test: what the prediction followed")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.04), ncol=4, fontsize=8, frameon=False)

    colors = {"scratch": "#d62728", "frozen": "#1f77b4", "pretrained": "#2ca02c", "loaded": "#7f7f7f"}
    for s in colors:
        pts = [r for r in rows if r["start"] == s]
        if pts:
            bx.scatter([100 * r["image"] for r in pts], [100 * r["consistent"] for r in pts], color=colors[s],
                       label={"scratch": "trained from scratch", "frozen": "frozen trained encoder",
                              "pretrained": "trained encoder, fine-tuned", "loaded": "loaded"}[s])
    if baseline:
        bx.axhline(100 * baseline, color="black", ls="--", lw=1, label=f"plain ResNet-18 ({100 * baseline:.2f}%)")
    bx.set_xlabel("conflicts that followed the image (%)")
    bx.set_ylabel("consistent-pair accuracy (%)")
    bx.set_title("Trade-off: using the claim vs. being fooled by it")
    bx.set_xlim(-3, 100)
    bx.legend(fontsize=8)
    bx.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
