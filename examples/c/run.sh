#!/usr/bin/env bash
# Builds the C clients (examples/c/Makefile) against include/robust.h and librobust.so and runs
# them: the version check, the ABI check (every entry point, every bad input, 8 threads on one
# model) natively and under valgrind, and the score example on generated images.
# Expects librobust.so and audit-cli built (scripts/build-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
export SWIFT_BACKTRACE=enable=no
bin="$(swift build -c release --show-bin-path)"
lib="$bin/librobust.so"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# The library must not need the Swift toolchain: no libswift* and nothing from the toolchain's
# folders among what the loader resolves, and only robust_* symbols exported.
toolchain="$(dirname "$(dirname "$(command -v swift)")")"
if ldd "$lib" | grep -qE "libswift|$toolchain"; then
  echo "librobust.so needs the Swift toolchain at run time:"; ldd "$lib"; exit 1
fi
if nm -D --defined-only "$lib" | grep -E " [A-Z] " | grep -qv " robust_"; then
  echo "librobust.so exports more than robust_*:"; nm -D --defined-only "$lib" | grep -E " [A-Z] " | grep -v " robust_" | head; exit 1
fi

make -s -C examples/c OUT="$out" ROBUST_LIB_DIR="$bin"
# The same clients under ASan+UBSan (clang; gold's warnings about ASan's local symbols are noise).
make -s -C examples/c OUT="$out" ROBUST_LIB_DIR="$bin" sanitized 2>&1 | { grep -v "Cannot export local symbol" || true; }
"$out/version"

# Test images, made here: PNG and JPEG.
"$bin/audit-cli" synth --out "$out/data" --train 10 --test 20 2>/dev/null
png="$(find "$out/data/test" -name '*.png' | sort | head -1)"
jpg="$(find "$out/data/test" -name '*.jpg' | sort | head -1)"
model="Tests/RobustCoreTests/Fixtures/resnet18_w4.safetensors"
# A small FusionNet, trained here by the CLI (one epoch on the generated images).
"$bin/audit-cli" fusion --data "$out/data" --width 2 --epochs 1 --batch-size 32 --out "$out/fusion" --save-models >/dev/null 2>&1
fusion="$out/fusion/fusion-agree1-pm0-pi0.safetensors"

# Run with a bare environment (no PATH to the toolchain, no LD_LIBRARY_PATH) and, where the
# kernel lets us (root, unshare), with the toolchain's folder itself hidden under an empty tmpfs.
env -i PATH=/usr/bin:/bin "$out/abi_check" "$model" "$png" "$jpg" "$fusion"
root_of_toolchain="$(dirname "$toolchain")"
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
  unshare -m sh -c "mount -t tmpfs none '$root_of_toolchain' && test -z \"\$(ls '$root_of_toolchain')\" \
    && env -i PATH=/usr/bin:/bin '$out/abi_check' '$model' '$png' '$jpg'" \
    && echo "abi_check ran with $root_of_toolchain hidden from the loader"
fi
if command -v valgrind >/dev/null; then
  # valgrind 3.19 cannot read the toolchain's DWARF 5: give it a copy without debug info.
  mkdir -p "$out/stripped"
  strip --strip-debug -o "$out/stripped/librobust.so" "$lib"
  LD_LIBRARY_PATH="$out/stripped" valgrind -q --leak-check=full --show-possibly-lost=no --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=3 "$out/abi_check" "$model" "$png" "$jpg" "$fusion"
  echo "valgrind: no errors, no definite or indirect leaks"
else
  echo "valgrind not installed: skipped the memcheck run"
fi

# Many threads on one handle, good and bad inputs mixed: results must equal the single-threaded
# ones bit for bit, errors per thread. Natively (16 threads), under ASan+UBSan, under valgrind.
imgs=$(find "$out/data/test" -type f | sort | head -8)
env -i PATH=/usr/bin:/bin "$out/stress" "$model" 16 40 $imgs
env -i PATH=/usr/bin:/bin ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:abort_on_error=1:exitcode=86 "$out/stress_asan" "$model" 8 10 $imgs
env -i PATH=/usr/bin:/bin ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:abort_on_error=1:exitcode=86 "$out/abi_check_asan" "$model" "$png" "$jpg" "$fusion"
env -i PATH=/usr/bin:/bin ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:abort_on_error=1:exitcode=86 "$out/score_asan" "$model" --meta cat "$png" "$jpg" > /dev/null || [ $? -eq 1 ]
echo "ASan+UBSan: stress, abi_check and score ran without a report"
if command -v valgrind >/dev/null; then
  LD_LIBRARY_PATH="$out/stripped" valgrind -q --leak-check=full --show-possibly-lost=no --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=3 "$out/stress" "$model" 4 1 $imgs
  echo "valgrind: stress without errors or definite leaks"
fi

# Peak memory of scoring one large image: a 4096 x 4096 PNG (written with zlib alone) must cost
# at most 4 bytes per pixel + 32 MiB beyond the model (measured: 3.1, the decoded RGB copy).
python3 - "$out/big.png" 4096 4096 <<'EOF_PY'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
row = bytes((x * 7 + c * 50) & 255 for x in range(w) for c in range(3))
z = zlib.compressobj(1)
data = b"".join(z.compress(b"\0" + row) for y in range(h)) + z.flush()
open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                      + chunk(b"IDAT", data) + chunk(b"IEND", b""))
EOF_PY
env -i PATH=/usr/bin:/bin "$out/peak_memory" "$model" "$out/big.png" 4

set +e
env -i PATH=/usr/bin:/bin "$out/score" "$model" --meta cat "$png" "$jpg"
rc=$?
set -e
if [ "$rc" -gt 1 ]; then echo "score example failed (exit $rc)"; exit 1; fi
# The conflict check as a gate, from C: true and contradicting claims on the generated test images.
find "$out/data/test" -type f | sort | awk -F/ '{ print $0 "\t" $(NF-1) }' > "$out/list.tsv"
for m in "$model" "$fusion"; do
  env -i PATH=/usr/bin:/bin "$out/conflict_gate" "$m" "$out/list.tsv" 1 > "$out/gate.txt"
  cat "$out/gate.txt"
  grep -q "^true claims" "$out/gate.txt" && grep -q "^contradicting claims" "$out/gate.txt"
done
grep -q "fused prediction on contradicting claims" "$out/gate.txt"
echo "C examples: ok"
