#!/bin/bash
# A wider auditor for the width-16 student (2026-12-06, binary bff8f52). noise.csv is the sym20
# mask (`label-noise --noise 0.2`, noise seed 0: the mask depends only on the labels, the kind,
# the rate and that seed). A width-32 model is trained 15 epochs on the noisy labels, its final
# pass averaged over 6 views gives soft targets with teacher weight 0.5 (the student recipe of
# every earlier cleaned run), then width-16 students train on them from scratch (seeds 0-3),
# and one student (seed 0) on the same targets with teacher weight 0 (make_tw0.py).
export SWIFT_BACKTRACE=enable=no
B=${B:-audit-cli}
D=${D:-../shared/data/cifar10-jpeg}
N=noise.csv
$B train --data $D --labels $N --width 32 --epochs 15 --out noisy32.safetensors > noisy32.out 2> noisy32.err || exit 1
$B audit-labels --data $D --model noisy32.safetensors --views 6 --labels $N \
  --targets-out t32.safetensors --teacher-weight 0.5 --out flagged32.csv > audit32.out 2> audit32.err || exit 1
python target_stats.py t32.safetensors $N > target-stats.txt
for s in 0 1 2 3; do
  $B train --data $D --labels $N --targets t32.safetensors --width 16 --epochs 15 --seed $s \
    --out s32-seed$s.safetensors > s32-seed$s.out 2> s32-seed$s.err || exit 1
done
python make_tw0.py t32.safetensors flagged32.csv t32-tw0.safetensors
for s in 0 1; do  # seed 1 added 2026-12-06 (later)
  $B train --data $D --labels $N --targets t32-tw0.safetensors --width 16 --epochs 15 --seed $s \
    --out s32tw0-seed$s.safetensors > s32tw0-seed$s.out 2> s32tw0-seed$s.err || exit 1
done
# the control: the wider model's distillation without the cleaning decision (every target
# 0.5 onehot(given) + 0.5 p, weight 1)
# (seed 0 first; seeds 1-3 later the same day)
python make_kd.py t32.safetensors flagged32.csv t32-kd.safetensors
for s in 0 1 2 3; do
  $B train --data $D --labels $N --targets t32-kd.safetensors --width 16 --epochs 15 --seed $s \
    --out s32kd-seed$s.safetensors > s32kd-seed$s.out 2> s32kd-seed$s.err || exit 1
done
# The control for distillation itself: a width-32 teacher trained on the TRUE labels (the folder
# labels, seed 0), its 6-view probabilities distilled the same way (0.5 onehot(true) + 0.5 p,
# weight 1, no flags) into width-16 students, seeds 0 and 1. (2026-12-06, later; binary bff8f52's
# library, the same training code as every run here.)
$B train --data $D --width 32 --epochs 15 --out clean32.safetensors > clean32.out 2> clean32.err || exit 1
$B audit-labels --data $D --model clean32.safetensors --views 6 \
  --targets-out tc32.safetensors --teacher-weight 0.5 --out flaggedc32.csv > auditc32.out 2> auditc32.err || exit 1
python make_kd.py tc32.safetensors flaggedc32.csv tc32-kd.safetensors
for s in 0 1; do
  $B train --data $D --targets tc32-kd.safetensors --width 16 --epochs 15 --seed $s \
    --out sc32kd-seed$s.safetensors > sc32kd-seed$s.out 2> sc32kd-seed$s.err || exit 1
done
# A fifth seed of the cleaned student and of the distillation-only control.
for v in s32:t32 s32kd:t32-kd; do
  $B train --data $D --labels $N --targets ${v##*:}.safetensors --width 16 --epochs 15 --seed 4 \
    --out ${v%%:*}-seed4.safetensors > ${v%%:*}-seed4.out 2> ${v%%:*}-seed4.err
done
