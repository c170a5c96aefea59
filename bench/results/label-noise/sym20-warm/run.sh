#!/bin/bash
# Cleaned runs that train on from the audited model instead of from scratch (2026-12-05).
# Run in a folder holding r1/ from ../sym20-rounds/run1.sh (noise.csv, noisy.safetensors)
# and clean-s2.safetensors from ../sym20-rounds/run2.sh. B is the audit-cli binary.
. "$(dirname "$0")/common.sh"
# The round-1 soft targets again (one model, 6 views; the same 10,926 flags as r1.out).
$B audit-labels --data $D --model r1/noisy.safetensors --views 6 --labels r1/noise.csv \
  --targets-out t1.safetensors --teacher-weight 0.5 --out flagged1.csv > audit1.out 2> audit1.err
# The same audit's targets without distillation (teacher weight 0), not trained on yet.
$B audit-labels --data $D --model r1/noisy.safetensors --views 6 --labels r1/noise.csv \
  --targets-out t1-tw0.safetensors --out flagged1-tw0.csv > audit1-tw0.out 2> audit1-tw0.err
# A: the audited noisy model trained on for 15 epochs on the cleaned targets.
w wA15 --init-from r1/noisy.safetensors --labels r1/noise.csv --targets t1.safetensors
# Controls with the same compute: 15 more epochs on the noisy labels (B), and 15 more epochs
# of a true-label model on the true labels (C).
w wB15 --init-from r1/noisy.safetensors --labels r1/noise.csv
w wC15 --init-from clean-s2.safetensors
# In-run soft cleaning after epoch 10 (15 epochs of compute in all): see run-x10.sh.
