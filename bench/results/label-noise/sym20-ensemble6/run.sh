#!/bin/bash
set -x
B=audit-cli
D=../shared/data/cifar10-jpeg
N=sym20/noise.csv
export SWIFT_BACKTRACE=enable=no
for s in 101 202; do
  /usr/bin/time -f "%e s" $B train --data $D --labels $N --width 16 --epochs 15 --seed $s --out m$s.safetensors > m$s.out 2> m$s.err || exit 1
done
/usr/bin/time -f "%e s" $B audit-labels --data $D --model sym20/noisy.safetensors --model m101.safetensors --model m202.safetensors --views 6 --labels $N --targets-out targets.safetensors --teacher-weight 0.5 --out flagged.csv > audit.out 2> audit.err || exit 1
/usr/bin/time -f "%e s" $B train --data $D --labels $N --targets targets.safetensors --width 16 --epochs 15 --out retrained.safetensors > retrained.out 2> retrained.err || exit 1
echo done
# later the same day: a second seed of the cleaned retraining and of a run on the true labels
# $B train --data $D --labels $N --targets targets.safetensors --width 16 --epochs 15 --seed 1 --out retrained-seed1.safetensors
# $B train --data $D --width 16 --epochs 15 --seed 1 --out clean-seed1.safetensors > clean-seed1.out
