#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/Package.swift: ASan + libFuzzer instrumentation) and
# fuzzes each target for SECONDS (default 60) from seeds made here: PNG/JPEG images from
# `audit-cli synth`, the test fixture model, a CIFAR-10 record. Crashes are written to
# fuzz/artifacts/ and make the script fail.
#   bash fuzz/run.sh [SECONDS] [TARGET...]      targets: image safetensors cifar
set -euo pipefail
cd "$(dirname "$0")"
export SWIFT_BACKTRACE=enable=no   # a crash must fail fast, not hang in the backtracer
secs="${1:-60}"; shift || true
targets=("${@:-image safetensors cifar}")
read -r -a targets <<< "${targets[*]}"
swift build -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address 2>&1 | grep -v "Cannot export local symbol" >&2
bin="$(swift build --show-bin-path)/robust-fuzz"
(cd .. && swift build -c release --product audit-cli >&2)
cli="$(cd .. && swift build -c release --show-bin-path)/audit-cli"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p artifacts "$work/image" "$work/safetensors" "$work/cifar"
"$cli" synth --out "$work/data" --train 10 --test 10 2>/dev/null
cp $(find "$work/data" -name '*.png' | sort | head -3) $(find "$work/data" -name '*.jpg' | sort | head -3) "$work/image/"
cp ../Tests/RobustCoreTests/Fixtures/resnet18_w4.safetensors "$work/safetensors/"
python3 -c "import sys; sys.stdout.buffer.write(bytes([3]) + bytes(range(256)) * 12)" > "$work/cifar/record.bin"
status=0
for t in "${targets[@]}"; do
  if ROBUST_FUZZ_TARGET="$t" "$bin" "$work/$t" -max_total_time="$secs" -rss_limit_mb=4096 -max_len=100000 \
       -artifact_prefix="artifacts/$t-" > "$work/$t.log" 2>&1; then
    echo "$t: $(grep -E '^Done' "$work/$t.log")"
  else
    echo "$t: FAILED"; grep -E "ERROR|SUMMARY|artifact" "$work/$t.log" | head -5; status=1
  fi
done
exit $status
