#!/bin/bash
# After run.sh: the seed-1 auditor's targets again (audit-labels, the same options the one
# command used), a second student (seed 2) on them, and its distillation alone (no flags, seed 1)
# for the flags' paired gain. K is make_kd.py from sym20-w32.
export SWIFT_BACKTRACE=enable=no
B=${B:-audit-cli}
D=${D:-../shared/data/cifar10-jpeg}
K=${K:-$(dirname "$0")/../../sym20-w32/make_kd.py}
PY=${PY:-python3}
N=one-seed1/noise.csv
$B audit-labels --data $D --model one-seed1/noisy.safetensors --views 6 --labels $N \
  --targets-out t30s1.safetensors --teacher-weight 0.5 --out flagged30s1.csv > audit30s1.out 2> audit30s1.err || exit 1
$B train --data $D --labels $N --targets t30s1.safetensors --width 16 --epochs 15 --seed 2 \
  --out s30s1-seed2.safetensors > s30s1-seed2.out 2> s30s1-seed2.err || exit 1
$PY "$K" t30s1.safetensors flagged30s1.csv t30s1-kd.safetensors > make_kd.out || exit 1
$B train --data $D --labels $N --targets t30s1-kd.safetensors --width 16 --epochs 15 --seed 1 \
  --out s30s1kd-seed1.safetensors > s30s1kd-seed1.out 2> s30s1kd-seed1.err || exit 1
# How right the targets are (target-stats.txt):
$PY "$(dirname "$0")/../../sym20-w32/target_stats.py" t30s1.safetensors $N > target-stats.txt || exit 1
# The audit again writes the one command's decision: flags-check.txt.
cmp one-seed1/flagged.csv flagged30s1.csv && echo "flagged.csv: same bytes" > flags-check.txt
echo done >> extra.done
