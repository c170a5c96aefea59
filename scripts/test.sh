#!/usr/bin/env bash
# Runs every test: the Swift unit tests, then the shared library from C and from Python.
# Usage: bash scripts/test.sh      (installs missing system packages itself)
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no   # a crash must fail fast, not hang in the backtracer
bash scripts/deps.sh

echo "== swift test"
log="$(mktemp)"
set +e
swift test > "$log" 2>&1
rc=$?
set -e
grep -vE "^Test Case '.*' (started|passed)" "$log" || true
if [ "$rc" -ne 0 ]; then echo "swift test failed (exit $rc)"; exit 1; fi
xctests=$(grep -E "Executed [0-9]+ tests?" "$log" | tail -1 | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' || true)

echo "== librobust.so (static Swift runtime) from C and Python"
bash scripts/build-lib.sh
bash examples/c/run.sh
python3 bindings/python/test_robust.py
# XCTest's count plus the C and Python clients, as one plain closing line.
echo "tests: $(( ${xctests:-0} + 2 )) passed, 0 failed"
