#!/usr/bin/env bash
# Crash-safe training, measured: `audit-cli train` is killed with SIGKILL at random moments,
# resumed from its checkpoint each time, and must end with the same model, bit for bit, as a
# run that was never interrupted (same seed: training is deterministic, so "the same accuracy
# within noise" can be checked exactly). Then a full disk: training writes to a tiny tmpfs and
# must fail with one clear message, leaving the model file that was there before intact.
#   bash scripts/crash-train.sh [TRIALS]        (default 10; needs audit-cli built in release)
# Prints one line per trial and a summary; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no
trials="${1:-10}"
cli="${CLI:-$(swift build -c release --show-bin-path)/audit-cli}"
[ -x "$cli" ] || { echo "crash-train: build audit-cli first (swift build -c release --product audit-cli)"; exit 1; }
work="$(mktemp -d)"
cleanup() { mountpoint -q "$work/full" 2>/dev/null && umount "$work/full"; rm -rf "$work"; }
trap cleanup EXIT

"$cli" synth --out "$work/data" --train 2000 --test 200 --seed 3 2>/dev/null
args=(--data "$work/data" --width 8 --epochs 4 --batch-size 64 --seed 11 --threads 2)

SECONDS=0
"$cli" train "${args[@]}" --out "$work/ref.safetensors" > "$work/ref.out" 2>/dev/null
ref_secs=$SECONDS
ref_sum=$(sha256sum < "$work/ref.safetensors")
ref_acc=$(awk '$1 ~ /^[0-9]+$/ {a=$4} END {print a}' "$work/ref.out")
echo "uninterrupted run: ${ref_secs} s, test accuracy ${ref_acc}"

fail=0; kills=0; resumes=0; fresh=0
for t in $(seq 1 "$trials"); do
    out="$work/t$t.safetensors"; ckpt="$out.ckpt"
    n=0; trial_kills=0
    # Kill up to 1-3 times at random moments in the run (data loading, mid-epoch, while the
    # checkpoint is written), resuming after each, then let the last attempt finish.
    max_kills=$(( (RANDOM % 3) + 1 ))
    while :; do
        if [ -f "$ckpt" ]; then
            # The last checkpoint must load: resuming from it is the proof.
            cmd=("$cli" train --data "$work/data" --threads 2 --resume "$ckpt" --out "$out"); resumes=$((resumes + 1))
        else
            cmd=("$cli" train "${args[@]}" --out "$out"); [ $n -gt 0 ] && fresh=$((fresh + 1))
        fi
        if [ $trial_kills -lt $max_kills ]; then
            "${cmd[@]}" > "$work/t$t.$n.out" 2> "$work/t$t.$n.err" &
            pid=$!
            # A random moment in [0.1, ref_secs] seconds.
            sleep "$(awk -v r=$RANDOM -v s="$ref_secs" 'BEGIN {printf "%.2f", 0.1 + (r / 32767) * s}')"
            kill -9 "$pid" 2>/dev/null || true
            # 137: our SIGKILL landed. 0: it had finished just before. Anything else: it failed.
            set +e; wait "$pid" 2>/dev/null; rc=$?; set -e
            if [ $rc -eq 137 ]; then
                trial_kills=$((trial_kills + 1)); kills=$((kills + 1)); n=$((n + 1))
                continue
            fi
            [ $rc -eq 0 ] || { echo "trial $t: attempt $n failed (exit $rc): $(tail -n 1 "$work/t$t.$n.err")"; fail=1; break; }
        else
            "${cmd[@]}" > "$work/t$t.$n.out" 2> "$work/t$t.$n.err" \
                || { echo "trial $t: attempt $n failed: $(tail -n 1 "$work/t$t.$n.err")"; fail=1; break; }
        fi
        break
    done
    [ -f "$out" ] || { echo "trial $t: no model written"; fail=1; continue; }
    acc=$(cat "$work"/t$t.*.out | awk '$1 ~ /^[0-9]+$/ {a=$4} END {print a}')
    if [ "$(sha256sum < "$out")" = "$ref_sum" ]; then same="identical to the uninterrupted model"; else same="DIFFERS from the uninterrupted model"; fail=1; fi
    stale=$(ls "$work" | grep -c "^t$t\.safetensors.*\.tmp-" || true)
    echo "trial $t: killed $trial_kills time(s), final test accuracy $acc, $same; stale temp files: $stale"
done
echo "kill -9: $kills kills in $trials trials, $resumes resumes from a checkpoint, $fresh restarts before the first checkpoint"

# A full disk. The model from the reference run is copied to a 256 KiB tmpfs; the checkpoint
# (a few hundred KiB with optimizer state) cannot fit: training must fail with a message that
# names the file, and the model file there must be unchanged.
mkdir -p "$work/full"
if mount -t tmpfs -o size=256k tmpfs "$work/full" 2>/dev/null; then
    head -c 150000 /dev/urandom > "$work/full/model.safetensors"
    before=$(sha256sum < "$work/full/model.safetensors")
    set +e
    "$cli" train "${args[@]}" --epochs 1 --out "$work/full/model.safetensors" > /dev/null 2> "$work/full.err"
    rc=$?
    set -e
    msg=$(grep -E "^error" "$work/full.err" | tail -n 1)
    after=$(sha256sum < "$work/full/model.safetensors")
    left=$(ls -A "$work/full" | grep -v "^model.safetensors$" | tr "\n" " ")
    echo "full disk: exit $rc, \"$msg\"; previous model $( [ "$before" = "$after" ] && echo intact || echo CHANGED ), files beside it: ${left:-none}"
    # Exit 2 (failed), the message names the checkpoint and says why, the old model is intact.
    { [ $rc -eq 2 ] && [ "$before" = "$after" ] && [[ "$msg" == *"$work/full/model.safetensors"*"No space left"* ]]; } || fail=1
    umount "$work/full"
else
    echo "full disk: SKIPPED (cannot mount a tmpfs here: not root, or no CAP_SYS_ADMIN)"
fi
[ $fail -eq 0 ] && echo "crash-train: passed" || { echo "crash-train: FAILED"; exit 1; }
