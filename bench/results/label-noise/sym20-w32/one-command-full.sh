#!/bin/bash
# The one-command auto-cleaning pipeline on the whole CIFAR-10 (sym20, noise seed 0), run from
# a clean build of 566afc3 (2026-12-06) in an empty folder holding the audit-cli binary.
export SWIFT_BACKTRACE=enable=no
D=${D:-../shared/data/cifar10-jpeg}  # the run used /work/shared/data/cifar10-jpeg
./audit-cli label-noise --data "$D" --noise 0.2 --kind symmetric \
  --width 32 --epochs 15 --dynamics train --views 6 --clean soft --teacher-weight 0.5 \
  --clean-width 16 --noisy-control --clean-reference --out sym20-w32-one > one.out 2> one.err
echo "rc $?" >> one.out
