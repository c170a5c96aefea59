#!/bin/bash
# Second seeds of A and B, and A without distillation (2026-12-05, later; binary 3e8db2d, whose
# training is bit-identical to 8faf427's). Same folder and variables as run.sh; then run-c1.sh.
. "$(dirname "$0")/common.sh"
# A with teacher weight 0: the unflagged samples keep their one-hot labels (no distillation
# towards the noisy model the run starts from).
w wA15-tw0 --init-from r1/noisy.safetensors --labels r1/noise.csv --targets t1-tw0.safetensors
# A and B with seed 1 (the data order and augmentation; the start is the same model).
w wA15-s1 --init-from r1/noisy.safetensors --labels r1/noise.csv --targets t1.safetensors --seed 1
w wB15-s1 --init-from r1/noisy.safetensors --labels r1/noise.csv --seed 1
# C with seed 1: the true-label model trained on.
w wC15-s1 --init-from clean-s2.safetensors --seed 1
