#!/bin/bash
# sym20-e30, replicate with training seed 1 (noise seed 0, the same sym20 mask), as ONE command
# on the full data: auditor width 16, 30 epochs; cleaned student, noisy control and true-label
# reference width 16, 15 epochs. Binary d37b85b.
export SWIFT_BACKTRACE=enable=no
B=${B:-audit-cli}
D=${D:-../shared/data/cifar10-jpeg}
$B label-noise --data $D --noise 0.2 --kind symmetric --noise-seed 0 --seed 1 --width 16 --epochs 30 \
  --views 6 --clean soft --teacher-weight 0.5 --clean-epochs 15 --noisy-control --clean-reference \
  --out one-seed1 > one-seed1.out 2> one-seed1.err
echo "rc $?" >> one-seed1.out
