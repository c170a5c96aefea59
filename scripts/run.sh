#!/usr/bin/env bash
# The main job: build robust, then audit a dataset end to end with `audit-cli report` (one
# HTML page: label audit, image quality, robustness, metadata conflicts), benchmark the engine
# and gate some test images with the trained model.
#
#   bash scripts/run.sh
#
# Data: $ROBUST_DATA, else ../shared/data/cifar10-jpeg when present (a short configuration:
# ROBUST_PER_CLASS training images per class, default 1000, with ROBUST_NOISE symmetric label
# noise planted, default 0.2), else a generated dataset with planted problems that the report
# is checked against (so it works on a fresh machine with nothing downloaded). Outputs go to
# runs/main/. Knobs: ROBUST_EPOCHS, ROBUST_WIDTH, ROBUST_PER_CLASS, ROBUST_NOISE.
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no
bash scripts/deps.sh
bash scripts/build-lib.sh >/dev/null
cli="$(swift build -c release --show-bin-path)/audit-cli"
out=runs/main
mkdir -p "$out"

data="${ROBUST_DATA:-}"
if [ -z "$data" ] && [ -d ../shared/data/cifar10-jpeg ]; then data=../shared/data/cifar10-jpeg; fi
if [ -n "$data" ]; then
  noise="${ROBUST_NOISE:-0.2}"
  echo "main job: CIFAR-10 from $data, ${ROBUST_PER_CLASS:-1000} images per class, width ${ROBUST_WIDTH:-16}, ${ROBUST_EPOCHS:-10} epochs, planted label noise $noise"
  args=(--limit-per-class "${ROBUST_PER_CLASS:-1000}" --width "${ROBUST_WIDTH:-16}" --epochs "${ROBUST_EPOCHS:-10}")
  awk -v n="$noise" 'BEGIN { exit !(n + 0 > 0) }' && args+=(--noise "$noise")
  # CIFAR-10's own quality thresholds (calibrated on its 50,000 training images).
  [ -f models/cifar10-quality.json ] && args+=(--calibration models/cifar10-quality.json)
else
  data="$out/planted"
  echo "main job: no CIFAR-10 found; generating a dataset with planted problems in $data"
  [ -f "$data/truth.csv" ] || "$cli" synth --plant --out "$data" --train 3000 --test 600
  args=(--width "${ROBUST_WIDTH:-8}" --epochs "${ROBUST_EPOCHS:-8}")
fi
"$cli" report --data "$data" "${args[@]}" --out "$out/report"
"$cli" bench --widths 16 --seconds 3
# Gate 500 test images against the class of their folder (exit status 1 means some were flagged).
find "$data/test" -type f | sort | awk 'NR % 20 == 1' | head -n 500 | awk -F/ '{print $0 "\t" $(NF-1)}' \
  | "$cli" score --model "$out/report/model.safetensors" --json > "$out/score.jsonl" || [ $? -eq 1 ]
echo "main job done: the report is $out/report/report.html (open it in a browser; the tables behind it are the CSV/JSON files beside it); model $out/report/model.safetensors, gate decisions $out/score.jsonl"
