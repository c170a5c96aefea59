#!/bin/bash
# `label-noise --clean-epochs` against the three commands of run.sh, on a 3,000-image subset
# (2026-12-06): both must write the same auditor and the same student, byte for byte.
# B is the audit-cli binary, D the CIFAR-10 folder; run in an empty folder.
set -e
export SWIFT_BACKTRACE=enable=no
B=${B:-audit-cli}
D=${D:-../shared/data/cifar10-jpeg}
S="--data $D --limit-per-class 300"
$B label-noise $S --width 4 --epochs 4 --noise 0.2 --views 6 --clean soft --teacher-weight 0.5 \
  --clean-epochs 2 --out one > one.out 2> one.err
$B train $S --labels one/noise.csv --width 4 --epochs 4 --out a.safetensors > a.out 2> a.err
$B audit-labels $S --model a.safetensors --views 6 --labels one/noise.csv --targets-out t.safetensors \
  --teacher-weight 0.5 --out f.csv > au.out 2> au.err
$B train $S --labels one/noise.csv --targets t.safetensors --width 4 --epochs 2 --seed 0 \
  --out s.safetensors > s.out 2> s.err
cmp a.safetensors one/noisy.safetensors && echo "auditor: same bytes"
cmp s.safetensors one/cleaned.safetensors && echo "student: same bytes"
