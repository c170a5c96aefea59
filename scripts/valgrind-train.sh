#!/usr/bin/env bash
# One training epoch of a width-2 ResNet-18 on generated images under valgrind's memcheck: the
# training path's C kernels (Winograd transforms and their gradients, the small GEMM, the
# stride-2 gather and scatter-add) must read and write nothing outside their buffers. (The C
# library's inference path runs under valgrind in examples/c/run.sh.) About 10 s.
#   bash scripts/valgrind-train.sh      (needs audit-cli built: swift build -c release --product audit-cli)
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no
command -v valgrind >/dev/null || { echo "valgrind-train: valgrind is not installed (scripts/deps.sh installs it)"; exit 1; }
cli="$(swift build -c release --show-bin-path)/audit-cli"
[ -x "$cli" ] || { echo "valgrind-train: build audit-cli first (swift build -c release --product audit-cli)"; exit 1; }
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
# valgrind 3.19 cannot read the toolchain's DWARF 5: a copy without debug info.
strip -o "$T/audit-cli" "$cli"
"$T/audit-cli" synth --out "$T/data" --train 40 --test 10 > /dev/null 2>&1
if ! valgrind -q --error-exitcode=9 "$T/audit-cli" train --data "$T/data" --width 2 --epochs 1 --batch-size 16 \
       --threads 2 --out "$T/w.safetensors" > "$T/out.txt" 2> "$T/err.txt"; then
    grep -A12 -E "Invalid|uninitialised|definitely lost" "$T/err.txt" | head -60 || true
    tail -n 5 "$T/err.txt"
    echo "valgrind-train: memcheck found errors (or training failed)"; exit 1
fi
echo "valgrind-train: a training epoch under memcheck, no errors"
