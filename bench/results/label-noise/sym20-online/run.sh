#!/bin/bash
# Online (consistent) distillation from a WIDTH-16 auditor (2026-12-06, later): can the
# width-16 pipeline, every model width 16 and 15 epochs, close 60% of the gap?
# noise.csv is the sym20 mask (noise seed 0), as in sym20-w32. The auditor is a width-16 model
# trained 15 epochs on the noisy labels; its final pass averaged over 6 views gives the flags
# and, for the flagged samples, soft targets (teacher weight 0: unflagged samples keep their
# one-hot given label). The student (width 16, 15 epochs, from scratch) then trains with the
# auditor as an online teacher: every augmented batch is scored by it and its probabilities
# are half of each target (`train --teacher noisy16.safetensors --teacher-weight 0.5`), so an
# unflagged sample's target is 0.5 onehot(given) + 0.5 p(this crop), a flagged one's
# 0.5 p(6-view mean) + 0.5 p(this crop), weighted by the 6-view confidence.
# Binaries: the auditor's training 80c490e; everything after it 656dc15 (which adds --teacher;
# no other training code changed). Paired control: the same auditor's fixed targets (teacher
# weight 0.5 from the 6-view pass, the recipe of every width-16 cleaned run in sym20-rounds).
export SWIFT_BACKTRACE=enable=no
B=${B:-audit-cli}
D=${D:-../shared/data/cifar10-jpeg}
N=noise.csv
$B train --data $D --labels $N --width 16 --epochs 15 --out noisy16.safetensors > noisy16.out 2> noisy16.err || exit 1
$B audit-labels --data $D --model noisy16.safetensors --views 6 --labels $N \
  --targets-out t16-tw0.safetensors --out flagged16.csv > audit16.out 2> audit16.err || exit 1
for s in 0 1; do
  $B train --data $D --labels $N --targets t16-tw0.safetensors --teacher noisy16.safetensors --teacher-weight 0.5 \
    --width 16 --epochs 15 --seed $s --out so-seed$s.safetensors > so-seed$s.out 2> so-seed$s.err || exit 1
done
# the paired control: fixed six-view targets, teacher weight 0.5, no online teacher
$B audit-labels --data $D --model noisy16.safetensors --views 6 --labels $N \
  --targets-out t16.safetensors --teacher-weight 0.5 --out flagged16b.csv > audit16b.out 2> audit16b.err || exit 1
$B train --data $D --labels $N --targets t16.safetensors --width 16 --epochs 15 --seed 0 \
  --out sf-seed0.safetensors > sf-seed0.out 2> sf-seed0.err || exit 1
