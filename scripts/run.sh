#!/usr/bin/env bash
# The main job: build robust, train a ResNet-18, evaluate it and measure the engine's speed.
#
#   bash scripts/run.sh
#
# Data: $ROBUST_DATA, else ../shared/data/cifar10-jpeg when present, else a small generated
# dataset (so it works on a fresh machine with nothing downloaded). Outputs go to
# runs/main/ (model, checkpoint, per-epoch log, predictions CSV, gate decisions). Knobs: ROBUST_EPOCHS,
# ROBUST_WIDTH.
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
  epochs="${ROBUST_EPOCHS:-2}"
  echo "main job: CIFAR-10 from $data, width ${ROBUST_WIDTH:-16}, $epochs epochs"
else
  data="$out/synthetic"
  epochs="${ROBUST_EPOCHS:-3}"
  echo "main job: no CIFAR-10 found; generating a small dataset in $data"
  [ -d "$data/train" ] || "$cli" synth --out "$data" --train 3000 --test 600
fi
rm -f "$out/model.safetensors.log.jsonl"
"$cli" train --data "$data" --width "${ROBUST_WIDTH:-16}" --epochs "$epochs" --out "$out/model.safetensors"
"$cli" eval --model "$out/model.safetensors" --data "$data" --predictions "$out/predictions.csv"
"$cli" bench --widths 16 --seconds 3
# Gate 500 test images against the class of their folder (exit status 1 means some were flagged).
find "$data/test" -type f | sort | awk 'NR % 20 == 1' | head -n 500 | awk -F/ '{print $0 "\t" $(NF-1)}' \
  | "$cli" score --model "$out/model.safetensors" --json > "$out/score.jsonl" || [ $? -eq 1 ]
echo "main job done: model $out/model.safetensors, log $out/model.safetensors.log.jsonl, predictions $out/predictions.csv, gate decisions $out/score.jsonl"
