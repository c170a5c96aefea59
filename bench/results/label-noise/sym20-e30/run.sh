#!/bin/bash
# A width-16 auditor trained 30 epochs for width-16, 15-epoch students (2026-12-06, evening):
# every model width 16. noise.csv is the sym20 mask (noise seed 0), as in sym20-w32 and
# sym20-online. Binary 245aa61 for every run here (the training code of every width-16 run since
# sym20-online). Since f8ebea9 the first three commands are one:
#   label-noise --width 16 --epochs 30 --views 6 --clean soft --teacher-weight 0.5 \
#     --clean-epochs 15 [--noisy-control --clean-reference]
# (one-command-check.sh: the same auditor and student, byte for byte, on a 3,000-image subset).
export SWIFT_BACKTRACE=enable=no
B=${B:-audit-cli}
D=${D:-../shared/data/cifar10-jpeg}
N=noise.csv
K=$(dirname "$0")/../sym20-w32/make_kd.py
$B train --data $D --labels $N --width 16 --epochs 30 --out noisy16e30.safetensors > noisy16e30.out 2> noisy16e30.err || exit 1
$B audit-labels --data $D --model noisy16e30.safetensors --views 6 --labels $N \
  --targets-out t30.safetensors --teacher-weight 0.5 --out flagged30.csv > audit30.out 2> audit30.err || exit 1
for s in 0 1; do
  $B train --data $D --labels $N --targets t30.safetensors --width 16 --epochs 15 --seed $s \
    --out s30-seed$s.safetensors > s30-seed$s.out 2> s30-seed$s.err || exit 1
done
# The control for distillation itself: a width-16 teacher trained 30 epochs on the TRUE labels,
# its 6-view probabilities distilled the same way (0.5 onehot(true) + 0.5 p, weight 1, no flags)
# into a width-16, 15-epoch student on the true labels.
$B train --data $D --width 16 --epochs 30 --out clean16e30.safetensors > clean16e30.out 2> clean16e30.err || exit 1
$B audit-labels --data $D --model clean16e30.safetensors --views 6 \
  --targets-out tc30.safetensors --teacher-weight 0.5 --out flaggedc30.csv > auditc30.out 2> auditc30.err || exit 1
python "$K" tc30.safetensors flaggedc30.csv tc30-kd.safetensors || exit 1
$B train --data $D --targets tc30-kd.safetensors --width 16 --epochs 15 --seed 0 \
  --out sc30kd-seed0.safetensors > sc30kd-seed0.out 2> sc30kd-seed0.err || exit 1
# The control for the flags: the 30-epoch auditor's distillation without the cleaning decision
# (every target 0.5 onehot(given) + 0.5 p, weight 1), seed 0.
python "$K" t30.safetensors flagged30.csv t30-kd.safetensors || exit 1
$B train --data $D --labels $N --targets t30-kd.safetensors --width 16 --epochs 15 --seed 0 \
  --out s30kd-seed0.safetensors > s30kd-seed0.out 2> s30kd-seed0.err || exit 1
# How right the targets are: python ../sym20-w32/target_stats.py t30.safetensors noise.csv
