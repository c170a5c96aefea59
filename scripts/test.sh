#!/usr/bin/env bash
# Runs every test: the Swift unit tests, then the shared library from C and from Python.
# Usage: bash scripts/test.sh      (installs missing system packages itself)
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no   # a crash must fail fast, not hang in the backtracer
bash scripts/deps.sh

echo "== swift test"
swift test 2>&1 | tee /tmp/robust-swift-test.log | grep -vE "^Test Case '.*' (started|passed)" || true
grep -qE "Executed [0-9]+ tests?, with 0 failures" /tmp/robust-swift-test.log || { echo "swift test failed"; exit 1; }
grep -E "with [1-9][0-9]* failures" /tmp/robust-swift-test.log && { echo "swift test failed"; exit 1; }

echo "== librobust.so (static Swift runtime) from C and Python"
bash scripts/build-lib.sh
bash examples/c/run.sh
python3 bindings/python/test_robust.py
echo "all test groups passed"
