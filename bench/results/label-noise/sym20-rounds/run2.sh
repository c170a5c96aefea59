#!/bin/bash
# Round 2 by hand from run1.sh's r1 folder (2026-12-05, binary f90cd4e): the auditor is the
# mean of the noisy model and the cleaned model, 6 test-time views each; then a student on
# the new soft targets, with the recipe's label smoothing (s2) and without it (s2-ls0).
export SWIFT_BACKTRACE=enable=no
B=audit-cli
D=../shared/data/cifar10-jpeg
N=r1/noise.csv
$B audit-labels --data $D --model r1/noisy.safetensors --model r1/cleaned.safetensors --views 6 --labels $N \
  --targets-out t2.safetensors --teacher-weight 0.5 --out flagged2.csv > audit2.out 2> audit2.err || exit 1
$B train --data $D --labels $N --targets t2.safetensors --width 16 --epochs 15 --out s2.safetensors > s2.out 2> s2.err || exit 1
$B train --data $D --labels $N --targets t2.safetensors --width 16 --epochs 15 --label-smoothing 0 --out s2-ls0.safetensors > s2-ls0.out 2> s2-ls0.err
# a third run on the true labels, for the gap's denominator
$B train --data $D --width 16 --epochs 15 --seed 2 --out clean-s2.safetensors > clean-s2.out 2> clean-s2.err
# the round-2 targets with each flagged sample's weight squared
python reweight_targets.py A
$B train --data $D --labels $N --targets t2-A.safetensors --width 16 --epochs 15 --out s2-A.safetensors > s2-A.out 2> s2-A.err
