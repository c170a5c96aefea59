#!/usr/bin/env bash
# The CLI's answer to bad input, measured: each case below must end with the documented exit
# status (README, "Exit statuses": 0 ok, 1 flagged, 2 failed, 64 usage), a message on stderr
# that names the problem (the expected text), and no crash or stack trace. Prints the table
# (Markdown) of what each case produced.
#   bash scripts/cli-errors.sh            (needs audit-cli built: swift build -c release --product audit-cli)
set -uo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no
CLI="${CLI:-$(swift build -c release --show-bin-path)/audit-cli}"
[ -x "$CLI" ] || { echo "cli-errors: build audit-cli first"; exit 1; }
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT

# Inputs: a small dataset, an empty folder, a folder whose class folders are empty, a model,
# files that only pretend to be models, images and checkpoints.
"$CLI" synth --out "$T/data" --train 40 --test 20 2>/dev/null
model=Tests/RobustCoreTests/Fixtures/resnet18_w4.safetensors
img="$(find "$T/data/test" -name '*.png' | sort | head -1)"
mkdir -p "$T/empty" "$T/hollow/train/cat" "$T/hollow/train/dog" "$T/hollow/test/cat"
head -c 5000 /dev/urandom > "$T/garbage.safetensors"
head -c 3000 "$model" > "$T/truncated.safetensors"
printf 'not an image\n' > "$T/fake.png"
head -c 200 "$img" > "$T/truncated.png"
head -c 2000 /dev/urandom > "$T/garbage.ckpt"
printf 'path,label\n' > "$T/labels.csv"

fail=0
printf '| case | command | exit | message (the error line on stderr, or the first line on stdout for a result) |\n|---|---|---|---|\n'
# check DESCRIPTION EXPECTED_EXIT EXPECTED_TEXT COMMAND...
check() {
    local what="$1" want="$2" text="$3"; shift 3
    "$@" > "$T/out" 2> "$T/err" < /dev/null
    local rc=$?
    # The message: the error line on stderr, else (a result) the first line on stdout.
    local msg; msg="$(grep -m1 -E "^(error|Error)" "$T/err" || head -n 1 "$T/out")"
    cat "$T/out" >> "$T/err"
    local shown="${*:2}"; shown="audit-cli ${shown//$T\//}"; shown="${shown//$model/MODEL}"
    local ok=1
    [ "$rc" = "$want" ] || ok=0
    # The expected text must be in the message itself (usage text repeats every flag name).
    [[ "$msg" == *"$text"* ]] || ok=0
    # Never a crash: no signal exit, no backtrace, no Swift runtime trap message.
    [ "$rc" -lt 128 ] || ok=0
    grep -qE "Fatal error|Stack dump|Backtrace|Segmentation" "$T/err" && ok=0
    msg="${msg//$T\//}"; printf '| %s | `%s` | %s | %s |\n' "$what" "$shown" "$rc" "${msg//$model/MODEL}"
    if [ $ok = 0 ]; then
        echo "cli-errors: \"$what\" expected exit $want and \"$text\"; got $rc:" >&2; cat "$T/err" >&2; fail=1
    fi
}

check "unknown subcommand" 64 "Unexpected argument" "$CLI" frobnicate
check "unknown flag" 64 "Unknown option" "$CLI" train --frobnicate
check "malformed value" 64 "is invalid for '--width" "$CLI" train --width abc
check "value out of range" 64 "--noise must lie in" "$CLI" label-noise --data "$T/data" --noise 1.5
check "missing value" 64 "Missing value for '--out" "$CLI" synth --out
check "missing data folder" 2 "$T/nowhere" "$CLI" train --data "$T/nowhere" --epochs 1
check "data folder is a file" 2 "$T/fake.png" "$CLI" train --data "$T/fake.png" --epochs 1
check "empty data folder" 2 "$T/empty" "$CLI" train --data "$T/empty" --epochs 1
check "class folders without images" 2 "$T/hollow" "$CLI" train --data "$T/hollow" --epochs 1
check "output folder missing" 2 "$T/no/such/dir" "$CLI" train --data "$T/data" --epochs 1 --width 2 --out "$T/no/such/dir/m.safetensors"
check "missing model" 2 "$T/none.safetensors" "$CLI" score --model "$T/none.safetensors" "$img"
check "model is a folder" 2 "$T/empty" "$CLI" score --model "$T/empty" "$img"
check "model is random bytes" 2 "$T/garbage.safetensors" "$CLI" score --model "$T/garbage.safetensors" "$img"
check "model truncated" 2 "$T/truncated.safetensors" "$CLI" eval --model "$T/truncated.safetensors" --data "$T/data"
check "checkpoint is random bytes" 2 "$T/garbage.ckpt" "$CLI" train --data "$T/data" --resume "$T/garbage.ckpt"
check "missing image" 2 "$T/none.png" "$CLI" score --model "$model" "$T/none.png"
# An upload that cannot be decoded is a gate decision (reject, reason unreadable, on stdout).
check "not an image" 1 "$T/fake.png: cannot decode image" "$CLI" score --model "$model" "$T/fake.png"
check "truncated image" 1 "$T/truncated.png: cannot decode image" "$CLI" score --model "$model" "$T/truncated.png"
check "unknown class name" 2 "zebra" "$CLI" score --model "$model" --meta zebra "$img"
check "no images on stdin" 2 "no images" "$CLI" score --model "$model"
check "image flagged (a result)" 1 "review" "$CLI" score --model "$model" --meta cat "$img"
check "labels file missing" 2 "$T/none.csv" "$CLI" train --data "$T/data" --labels "$T/none.csv" --epochs 1 --width 2 --out "$T/m.safetensors"
check "labels file without rows" 2 "$T/labels.csv" "$CLI" train --data "$T/data" --labels "$T/labels.csv" --epochs 1 --width 2 --out "$T/m.safetensors"
check "quality of an empty folder" 2 "$T/empty" "$CLI" quality "$T/empty"
check "robustness without a model" 2 "$T/none.safetensors" "$CLI" robustness --model "$T/none.safetensors" --data "$T/data"
check "fusion measure of a ResNet-18" 2 "is not fusionnet-cifar" "$CLI" fusion --data "$T/data" --model "$model"
printf 'path,meta\n%s,zebra\n' "${img#$T/data/}" > "$T/meta-zebra.csv"
printf 'path,label\n' > "$T/meta-nocolumn.csv"
check "report: metadata names an unknown class" 2 "class 'zebra' is not one of" "$CLI" report --data "$T/data" --metadata "$T/meta-zebra.csv" --width 2 --epochs 1 --out "$T/rep"
check "report: metadata without a meta column" 2 "'meta' (or 'claim')" "$CLI" report --data "$T/data" --metadata "$T/meta-nocolumn.csv" --width 2 --epochs 1 --out "$T/rep"
printf 'path,meta\nsomewhere/else.png,cat\n' > "$T/meta-elsewhere.csv"
check "report: metadata names no image of the data" 2 "none of its 1 paths names an image" "$CLI" report --data "$T/data" --metadata "$T/meta-elsewhere.csv" --width 2 --epochs 1 --out "$T/rep"
check "report: calibration file missing" 2 "$T/none.json" "$CLI" report --data "$T/data" --calibration "$T/none.json" --width 2 --epochs 1 --out "$T/rep"
check "report: --folds (not the report's)" 64 "belong to audit-labels" "$CLI" report --data "$T/data" --folds 3
# A model whose classes are not the data's (one class folder renamed: the sorted names, and so
# the label indices, differ): every command that takes a model for a dataset refuses it.
cp -r "$T/data" "$T/renamed" && mv "$T/renamed/train/cat" "$T/renamed/train/kitty" && mv "$T/renamed/test/cat" "$T/renamed/test/kitty"
check "train --init-from: other classes" 2 "the model's classes airplane" "$CLI" train --data "$T/renamed" --init-from "$model" --width 4 --epochs 1 --out "$T/m.safetensors"
check "train --init-from: other width" 2 "a width-4 model; pass --width 4" "$CLI" train --data "$T/data" --init-from "$model" --width 2 --epochs 1 --out "$T/m.safetensors"
check "audit-labels --model: other classes" 2 "are not $T/renamed's" "$CLI" audit-labels --data "$T/renamed" --model "$model" --out "$T/i.csv"
check "report --model: other classes" 2 "are not $T/renamed's" "$CLI" report --data "$T/renamed" --model "$model" --out "$T/rep"
check "fusion --image-model: other classes" 2 "are not $T/renamed's" "$CLI" fusion --data "$T/renamed" --image-model "$model" --width 4 --epochs 1 --out "$T/f"
check "fusion --baseline: other classes" 2 "are not $T/renamed's" "$CLI" fusion --data "$T/renamed" --baseline "$model" --width 4 --epochs 1 --out "$T/f"
check "fusion --image-model: other width" 2 "a width-4 model; pass --width 4" "$CLI" fusion --data "$T/data" --image-model "$model" --width 2 --epochs 1 --out "$T/f"
check "bench: unknown engine switch" 64 "unknown switch 'warp-drive'" "$CLI" bench --ab warp-drive
check "bench: --timeline of no passes" 64 "--timeline must be in" "$CLI" bench --timeline 0

[ $fail = 0 ] && echo "cli-errors: passed" || { echo "cli-errors: FAILED"; exit 1; }
