#!/bin/bash
# In-run soft cleaning after epoch 10 (late window of the training-pass dynamics), training on
# to epoch 15 with the stretched schedule: the cleaned run costs the noisy run's 15 epochs.
export SWIFT_BACKTRACE=enable=no
B=${B:-audit-cli}
D=${D:-../shared/data/cifar10-jpeg}
/usr/bin/time -f "%e s" $B label-noise --data $D --noise 0.2 --kind symmetric \
  --epochs 15 --width 16 --dynamics train --window late --clean soft --clean-epoch 10 --teacher-weight 0.5 \
  --out x10 > x10.out 2> x10.err
echo "rc $?" >> x10.out
