#!/bin/bash
# Round 1: noisy model (seed 0) audited by itself over 6 views, soft cleaning + distillation, retrained.
export SWIFT_BACKTRACE=enable=no
B=audit-cli   # binary f90cd4e
D=../shared/data/cifar10-jpeg
/usr/bin/time -f "%e s" $B label-noise --data $D --noise 0.2 --kind symmetric --epochs 15 --width 16 \
  --dynamics train --views 6 --clean soft --teacher-weight 0.5 --out r1 > r1.out 2> r1.err
echo "rc $?" >> r1.out
