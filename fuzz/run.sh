#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/Package.swift: optimized, AddressSanitizer + libFuzzer
# instrumentation, UBSan for the C layer) and fuzzes each target for SECONDS (default 60). Each run starts from the
# committed corpus (fuzz/corpus/TARGET: small seeds and every input that once crashed, kept as
# regressions; libFuzzer runs all of them first) plus seeds made here: PNG/JPEG images from
# `audit-cli synth`, tiny ResNet-18 and FusionNet files, a CIFAR-10 record, C-API calls.
# A crash, leak, sanitizer report, timeout (10 s per input) or out-of-memory (2 GB) is written
# to fuzz/artifacts/ and makes the script fail.
#   bash fuzz/run.sh [SECONDS] [TARGET...]      targets: image safetensors cifar capi
#   FUZZ_KEEP=DIR bash fuzz/run.sh ...            keep each grown corpus under DIR/TARGET
set -euo pipefail
cd "$(dirname "$0")"
export SWIFT_BACKTRACE=enable=no   # a crash must fail fast, not hang in the backtracer
secs="${1:-60}"; shift || true
targets=("${@:-image safetensors cifar capi}")
read -r -a targets <<< "${targets[*]}"
# swiftc takes fuzzer and address (not undefined, on Linux); the C layer (CImageIO, CRobustABI)
# also gets UndefinedBehaviorSanitizer, whose handlers ASan's runtime carries.
flags=(-c release -Xswiftc -sanitize=fuzzer,address
       -Xcc -fsanitize=fuzzer-no-link,address,undefined -Xcc -fno-sanitize-recover=undefined)
swift build "${flags[@]}" 2>&1 | { grep -v "Cannot export local symbol" || true; } >&2
bin="$(swift build "${flags[@]}" --show-bin-path)/robust-fuzz"
(cd .. && swift build -c release --product audit-cli >&2)
cli="$(cd .. && swift build -c release --show-bin-path)/audit-cli"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Seeds.
"$cli" synth --out "$work/data" --train 40 --test 10 2>/dev/null
"$cli" train --data "$work/data" --width 1 --epochs 1 --threads 1 --out "$work/w1.safetensors" >/dev/null 2>&1
"$cli" fusion --data "$work/data" --width 1 --epochs 1 --out "$work/fu" --save-models >/dev/null 2>&1
fusion="$work/fu/fusion-agree1-pm0-pi0.safetensors"
for t in image safetensors cifar capi; do mkdir -p "$work/$t"; cp ../fuzz/corpus/"$t"/* "$work/$t/" 2>/dev/null || true; done
cp $(find "$work/data" -name '*.png' | sort | head -3) $(find "$work/data" -name '*.jpg' | sort | head -3) "$work/image/"
cp "$work/w1.safetensors" "$fusion" "$work/safetensors/"
python3 - "$work" "$fusion" <<'EOF'
import glob, struct, sys
work, fusion = sys.argv[1], sys.argv[2]
open(f"{work}/cifar/record.bin", "wb").write(bytes([3]) + bytes(range(256)) * 12)
png = open(sorted(glob.glob(f"{work}/data/test/*/*.png"))[0], "rb").read()
jpg = open(sorted(glob.glob(f"{work}/data/test/*/*.jpg"))[0], "rb").read()
seeds = {  # first byte: the entry point (fuzz/Sources/robust-fuzz/CAPI.swift)
    "load-model": b"\x00" + open(f"{work}/w1.safetensors", "rb").read(),
    "load-fusion": b"\x00" + open(fusion, "rb").read(),
    "score-png": b"\x01" + png, "score-jpg": b"\x01" + jpg,
    "quality-png": b"\x02" + png,
    "conflict": b"\x03cat\x00" + jpg, "gate": b"\x04" + b"1\x00" + png,
    "rgb": b"\x05\x07\x05\x02\x01" + bytes(range(256)) * 2,
    "batch": b"\x07\x03\x04\x02\x02" + bytes(range(256)) * 2,
    "entropy": b"\x06" + struct.pack("<4f", 0.25, 0.25, 0.25, 0.25),
}
for name, data in seeds.items():
    open(f"{work}/capi/{name}", "wb").write(data)
EOF

mkdir -p artifacts
status=0
printf '%-12s %8s %10s %8s %6s %6s  %s\n' target seconds runs exec/s cov corpus result
for t in "${targets[@]}"; do
    log="$work/$t.log"
    if ROBUST_FUZZ_TARGET="$t" ROBUST_FUZZ_MODEL="$work/w1.safetensors" "$bin" "$work/$t" \
         -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -max_len=200000 \
         -print_final_stats=1 -artifact_prefix="artifacts/$t-" > "$log" 2>&1; then
        result=ok
    else
        result=FAILED; status=1
    fi
    runs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo 0)
    eps=$(grep -oE "stat::average_exec_per_sec: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo 0)
    cov=$(grep -oE "cov: [0-9]+" "$log" | tail -1 | grep -oE "[0-9]+" || echo 0)
    corp=$(grep -oE "corp: [0-9]+" "$log" | tail -1 | grep -oE "[0-9]+" || echo 0)
    printf '%-12s %8s %10s %8s %6s %6s  %s\n' "$t" "$secs" "$runs" "$eps" "$cov" "$corp" "$result"
    if [ "$result" = FAILED ]; then grep -E "ERROR|SUMMARY|artifact|returned" "$log" | head -8; fi
    if [ -n "${FUZZ_KEEP:-}" ]; then mkdir -p "$FUZZ_KEEP/$t"; cp -r "$work/$t/." "$FUZZ_KEEP/$t/"; fi
done
exit $status
