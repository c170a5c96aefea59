# Shared by run.sh and run-seeds.sh: the binary, the data, and one training.
export SWIFT_BACKTRACE=enable=no
B=${B:-audit-cli}
D=${D:-../shared/data/cifar10-jpeg}
w() {  # w NAME ARGS...: one 15-epoch width-16 training, stdout to NAME.out
    name=$1; shift
    /usr/bin/time -f "%e s" $B train --data $D --width 16 --epochs 15 --out $name.safetensors "$@" > $name.out 2> $name.err
    echo "rc $?" >> $name.out
}
